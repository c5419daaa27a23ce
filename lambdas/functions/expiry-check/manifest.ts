import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The expiry engine: reads the inventory's `expiryWatch` index (queries, no scans) and the
 * tenants' finding thresholds (settings), and publishes `credential.expiring`,
 * `credential.expired` and `rotation.overdue` on the bus.
 */
export const manifest = {
  name: 'expiry-check',
  description: 'Warns about credentials that expire soon or are overdue for rotation',
  trigger: { kind: 'schedule', engine: 'expiryCheck' },
  tables: { credentials: ['read'], settings: ['read'] },
  publishesEvents: true,
  sdkClients: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-eventbridge'],
} as const satisfies FunctionManifest;
