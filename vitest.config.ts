import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not threads: the tests start servers (dynalite, PostgreSQL, SMTP) that want a process each.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The SDK's notice that it will need Node 22 from 2027 says nothing about the code under test.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
