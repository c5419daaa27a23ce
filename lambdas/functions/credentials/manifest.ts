import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The credential inventory API: conditional puts of credentials and their history, deletes on
 * unregistering; the tenant's finding thresholds and rotation policies (settings) to evaluate
 * changes; publishes findings. Checks rotation settings with the rotators, which call no
 * provider here.
 */
export const manifest = {
  name: 'credentials',
  description: 'The credential inventory API',
  trigger: { kind: 'api', handler: 'credentials' },
  tables: {
    credentials: ['read', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
    settings: ['read'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  publishesEvents: true,
  verifiesTokens: true,
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  sdkClients: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-eventbridge'],
} as const satisfies FunctionManifest;
