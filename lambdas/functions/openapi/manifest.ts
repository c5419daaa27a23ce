import type { FunctionManifest } from '../../shared/function-manifest.js';

/** GET /openapi.json: the OpenAPI document; no table, no key, no token. */
export const manifest = {
  name: 'openapi',
  description: 'GET /openapi.json',
  trigger: { kind: 'api', handler: 'openapi' },
  tables: {},
  sdkClients: [],
} as const satisfies FunctionManifest;
