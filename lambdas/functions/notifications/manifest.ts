import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

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
  // Test messages: email from the deployment's From address, SNS topics, Slack and webhooks.
  sendsNotifications: true,
  // A test message waits up to 10 s for Slack or a webhook (the senders' timeout), then is logged
  // and audited: the function needs more than the default 10 s to answer what happened. 29 s is
  // API Gateway's limit.
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  // A channel secret whose envelope fails authentication is published as integrity.failed.
  publishesEvents: true,
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-kms',
    '@aws-sdk/client-secrets-manager',
    '@aws-sdk/client-ses',
    '@aws-sdk/client-sns',
    '@aws-sdk/client-eventbridge',
  ],
} as const satisfies FunctionManifest;
