import type { FunctionManifest } from '../../shared/function-manifest.js';

/** GET /me: verifies the token and answers who the caller is; no table. */
export const manifest = {
  name: 'me',
  description: 'GET /me',
  trigger: { kind: 'api', handler: 'me' },
  tables: {},
  verifiesTokens: true,
  sdkClients: [],
} as const satisfies FunctionManifest;
