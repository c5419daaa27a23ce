import type { FunctionManifest } from '../../shared/function-manifest.js';

/** GET /health: liveness only; no table, no key, no token. */
export const manifest = {
  name: 'health',
  description: 'GET /health',
  trigger: { kind: 'api', handler: 'health' },
  tables: {},
  sdkClients: [],
} as const satisfies FunctionManifest;
