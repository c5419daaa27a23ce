import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The notifier: subscribed to the bus for every event a route may name (the list must match
 * `ROUTABLE_EVENT_TYPES` of lambdas/core/notify/notify-event.ts, less the notifier's own
 * `notification.channel.failing`; test/unit/notify/notifier-function.test.ts holds them together).
 * It reads channels, routes, holds and credentials, reads channel secrets from the secret store,
 * and writes the delivery log, condition records and channel state (settings table), and audits
 * every final delivery.
 */
export const manifest = {
  name: 'notifier',
  description: 'Delivers alerts to email, Slack, SNS and webhook channels',
  trigger: {
    kind: 'bus',
    eventTypes: [
      'rotation.failed',
      'rotation.succeeded',
      'rotation.rolled-back',
      'rotation.overdue',
      'credential.expiring',
      'credential.expired',
      'credential.finding.opened',
      'audit.integrity.failed',
      'discovery.run.finished',
      'rotation.awaiting-input',
      'rotation.reminder',
    ],
  },
  tables: {
    settings: ['read', 'dynamodb:PutItem'],
    credentials: ['read'],
    secrets: ['read'],
    // notification.sent / notification.failed, one per final delivery (append only).
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  // Opens channel secrets (the notifications API seals them); never writes the store.
  secretsKey: ['open'],
  secretStore: 'read',
  sendsNotifications: true,
  // Senders wait out a Slack Retry-After of up to 10 s per attempt; three channels at once.
  timeoutSeconds: 60,
  memoryMb: 256,
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-kms',
    // Channel secrets on the Secrets Manager backend (secretStore).
    '@aws-sdk/client-secrets-manager',
    '@aws-sdk/client-ses',
    '@aws-sdk/client-sns',
  ],
} as const satisfies FunctionManifest;
