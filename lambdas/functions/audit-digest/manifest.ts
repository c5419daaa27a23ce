import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The digest engine: chains what no sequencer chained and puts digests (conditional PutItem,
 * never an update), signs them, publishes integrity failures.
 */
export const manifest = {
  name: 'audit-digest',
  description: 'Signs a digest of each tenant audit chain head',
  trigger: { kind: 'schedule', engine: 'auditDigest' },
  tables: { audit: ['read', 'dynamodb:PutItem', 'dynamodb:GetItem'], settings: ['read'] },
  auditSigningKey: 'sign',
  publishesEvents: true,
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-kms',
    '@aws-sdk/client-eventbridge',
  ],
} as const satisfies FunctionManifest;
