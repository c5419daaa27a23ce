/// <reference types="vitest/config" />
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The local API (`npm start`); the dev server proxies every API path and the issuer to it. */
const API = 'http://127.0.0.1:3000';

/**
 * Paths that are both a page and an API resource (`/credentials`, `/secrets`, …): a browser
 * navigation (GET with Accept: text/html) gets the app, anything else goes to the API. This is the
 * same rule `npm start` uses (roster: dashboard contract).
 */
const API_PREFIXES = [
  '/config.json',
  '/me',
  '/health',
  '/openapi.json',
  '/credentials',
  '/rotations',
  '/rotation-policies',
  '/secrets',
  '/discovery',
  '/audit',
  '/policies',
  '/admin',
  '/oauth2',
  '/logout',
  '/auth',
  '/.well-known',
];

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    target: 'es2022',
    // Maps for decoding stack traces, not referenced from the bundles the browser loads.
    sourcemap: 'hidden',
    // The build prints each chunk's gzip size; the initial bundle must stay under 200 KB gzip.
    reportCompressedSize: true,
  },
  server: {
    port: 5173,
    strictPort: false,
    proxy: Object.fromEntries(
      API_PREFIXES.map((prefix) => [
        prefix,
        {
          target: API,
          changeOrigin: false,
          bypass: (req) => {
            const accept = req.headers.accept ?? '';
            const navigation =
              (req.method === 'GET' || req.method === 'HEAD') &&
              req.headers.authorization === undefined &&
              accept.includes('text/html');
            return navigation ? '/index.html' : undefined;
          },
        },
      ]),
    ),
  },
  test: {
    name: 'frontend',
    // Runs beside the API's tests (the root vitest.config.ts orders the projects).
    sequence: { groupOrder: 0 },
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
  },
});
