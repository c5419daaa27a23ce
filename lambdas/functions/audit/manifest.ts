import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The audit API: the chain, digests and events (through the query indexes); on-demand digests
 * append and put (conditional PutItem only); settings hold the retention and each tenant's
 * wrapped HMAC key. Signs digests, serves the public key, publishes chain events.
 */
export const manifest = {
  name: 'audit',
  description: 'The audit log API',
  trigger: { kind: 'api', handler: 'audit' },
  tables: {
    audit: ['read', 'dynamodb:PutItem', 'dynamodb:GetItem'],
    settings: ['read', 'dynamodb:PutItem'],
  },
  secretsKey: ['hmac'],
  auditSigningKey: 'sign',
  publishesEvents: true,
  verifiesTokens: true,
  // API Gateway's integration limit: an on-demand digest reads the chain until a deadline that
  // this function's remaining time sets (ADR 0004, "Bounded runs").
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-kms',
    '@aws-sdk/client-eventbridge',
  ],
} as const satisfies FunctionManifest;
