import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The notifications API: channels, routes, holds and the delivery log (settings table), channel
 * secrets (the secret store), credentials (a hold names one), and test messages through the
 * channel senders (SES, SNS, Slack and webhooks over HTTPS).
 */
export const manifest = {
  name: 'notifications',
  description: 'The notifications API',
  trigger: { kind: 'api', handler: 'notifications' },
  tables: {
    settings: ['read', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
    secrets: ['read', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    credentials: ['read'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  secretsKey: ['seal'],
  secretStore: true,
  verifiesTokens: true,
  providers: ['notificationSends'],
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-kms',
    '@aws-sdk/client-secrets-manager',
    '@aws-sdk/client-ses',
    '@aws-sdk/client-sns',
  ],
} as const satisfies FunctionManifest;
