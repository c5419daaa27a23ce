import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Test files that must not share the machine with other tests (see `projects` below). */
const SERIAL = ['test/reliability/storage-faults.test.ts', 'test/reliability/keyring-outage.test.ts'];

/**
 * The longest files (minutes each; every other file takes under a minute), started first. Without
 * durations from an earlier run (a clean clone, as in CI), vitest starts the largest files first,
 * and the authorization matrix, a short file, started last: the last five minutes of the run
 * then used one of the two workers.
 */
const LONGEST = [
  'test/integration/audit-fail-closed.test.ts',
  'test/reliability/authorization-matrix.test.ts',
  'test/reliability/fuzz.test.ts',
];

/** Vitest's order, with `LONGEST` moved to the front: they are all in the `api` project, which runs first. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const path = (file: TestSpecification) => relative(file.project.config.root, file.moduleId);
    const longest = LONGEST.flatMap((wanted) => sorted.filter((file) => path(file) === wanted));
    return [...longest, ...sorted.filter((file) => !longest.includes(file))];
  }
}

export default defineConfig({
  test: {
    // The API's tests here (Node) and the dashboard's (jsdom, configured in frontend/vite.config.ts),
    // so `npm test` runs both. Files run two at a time (a machine with two cores spends much of each
    // test waiting on servers and back-off), except the storage-fault suite and the keyring outage:
    // they load the process with SDK retries on purpose and judge what answers in time, so they run
    // alone, after everything else (`sequence.groupOrder`).
    projects: [
      {
        extends: true,
        test: {
          name: 'api',
          include: ['test/**/*.test.ts'],
          exclude: [...SERIAL],
          sequence: { groupOrder: 0 },
        },
      },
      'frontend',
      {
        extends: true,
        test: { name: 'serial', include: [...SERIAL], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    // Forks, not threads: the tests start servers (dynalite, PostgreSQL, SMTP) that want a process each.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The SDK's notice that it will need Node 22 from 2027 says nothing about the code under test.
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Tests never use the developer's AWS credentials: discovery in the local runtime would
      // otherwise scan a real account. Tests that need credentials set fake ones and a local endpoint.
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/vaultpilot-tests/credentials',
      AWS_CONFIG_FILE: '/nonexistent/vaultpilot-tests/config',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  },
});
