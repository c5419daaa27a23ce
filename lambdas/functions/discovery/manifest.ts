import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The discovery engine: reads AWS (its own account, member accounts through their roles),
 * reconciles the inventory (conditional puts of credentials, history and run records), reads the
 * store's secret metadata (not their data keys: no secrets key), publishes inventory events.
 */
export const manifest = {
  name: 'discovery',
  description: 'Discovers IAM access keys, Secrets Manager secrets and SSM SecureString parameters',
  trigger: { kind: 'schedule', engine: 'discovery' },
  tables: {
    credentials: ['read', 'dynamodb:PutItem'],
    settings: ['read'],
    secrets: ['read'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  publishesEvents: true,
  providers: ['discoveryReads'],
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-eventbridge',
    '@aws-sdk/client-iam',
    '@aws-sdk/client-sts',
    '@aws-sdk/client-secrets-manager',
    '@aws-sdk/client-ssm',
  ],
} as const satisfies FunctionManifest;
