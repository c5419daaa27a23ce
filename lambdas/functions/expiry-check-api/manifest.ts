import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The expiry check on demand: reads the expiry index and the tenant's thresholds, publishes on
 * the bus, and records its audit events.
 */
export const manifest = {
  name: 'expiry-check-api',
  description: 'Runs the expiry check on demand',
  trigger: { kind: 'api', handler: 'expiryCheckApi' },
  tables: {
    credentials: ['read'],
    settings: ['read'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  publishesEvents: true,
  verifiesTokens: true,
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  sdkClients: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-eventbridge'],
} as const satisfies FunctionManifest;
