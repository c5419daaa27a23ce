import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The daily digest: lists the tenants and their credentials (queries by tenant), the channels
 * that asked for a digest, opens their secrets, sends, and logs each send (settings table).
 */
export const manifest = {
  name: 'notify-digest',
  description: 'Sends the daily digest to the channels that asked for it',
  trigger: { kind: 'schedule', engine: 'notifyDigest' },
  tables: {
    credentials: ['read'],
    settings: ['read', 'dynamodb:PutItem'],
    secrets: ['read'],
  },
  // Opens channel secrets (the notifications API seals them); never writes the store.
  secretsKey: ['open'],
  secretStore: 'read',
  sendsNotifications: true,
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
