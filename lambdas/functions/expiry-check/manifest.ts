import type { FunctionManifest } from '../../shared/function-manifest.js';

/** The expiry engine: reads the inventory; it does no work yet (warnings arrive with notifications). */
export const manifest = {
  name: 'expiry-check',
  description: 'Warns about credentials that expire soon or are overdue for rotation',
  trigger: { kind: 'schedule', engine: 'expiryCheck' },
  tables: { credentials: ['read'], settings: ['read'] },
  sdkClients: [],
} as const satisfies FunctionManifest;
