import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

/**
 * Re-wrap of data keys: replaces the envelope of existing version items (a conditional
 * UpdateItem) and moves data keys to the current key inside KMS (ReEncrypt), nothing else.
 */
export const manifest = {
  name: 'admin',
  description: 'Admin maintenance API (re-wrap of data keys)',
  trigger: { kind: 'api', handler: 'admin' },
  tables: {
    // Reads secret version items through the table and its list index.
    secrets: ['read', 'dynamodb:UpdateItem'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  secretsKey: ['rewrap'],
  // A data key KMS refuses to re-wrap is published as integrity.failed.
  publishesEvents: true,
  verifiesTokens: true,
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-kms',
    '@aws-sdk/client-eventbridge',
  ],
} as const satisfies FunctionManifest;
