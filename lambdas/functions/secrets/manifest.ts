import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The secret store API: secret versions (secrets table, or Secrets Manager on that backend),
 * path policies (settings), its audit events (append only); seals and opens values.
 */
export const manifest = {
  name: 'secrets',
  description: 'The secret store API (/secrets and Vault KV v2 under /v1)',
  trigger: { kind: 'api', handler: 'secrets' },
  tables: {
    secrets: ['read', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    // Policies and attachments are read on every secret operation.
    settings: ['read'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  secretsKey: ['seal'],
  secretStore: true,
  // A tampered envelope met by a request is published as integrity.failed.
  publishesEvents: true,
  verifiesTokens: true,
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-kms',
    '@aws-sdk/client-secrets-manager',
    '@aws-sdk/client-eventbridge',
  ],
} as const satisfies FunctionManifest;
