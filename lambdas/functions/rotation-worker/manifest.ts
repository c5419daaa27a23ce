import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The rotation worker: runs rotations, rollbacks and retirements from the rotation queue. Seals
 * and opens secret values, manages IAM keys of (tagged) users and their Secrets Manager copies,
 * rotates adopted Secrets Manager secrets tagged vaultpilot:managed=true, writes rotation and
 * credential state, publishes rotation events. GitHub and webhook rotators reach the internet
 * over HTTPS (Lambda outside a VPC has egress; in the optional VPC, through a NAT gateway).
 */
export const manifest = {
  name: 'rotation-worker',
  description: 'Runs rotations, rollbacks and retirements from the rotation queue',
  trigger: { kind: 'rotationQueue' },
  tables: {
    rotations: ['read', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
    credentials: ['read', 'dynamodb:PutItem'],
    settings: ['read'],
    secrets: ['read', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  secretsKey: ['seal'],
  secretStore: true,
  publishesEvents: true,
  providers: ['iamAccessKeys', 'iamKeyCopies', 'adoptedSecrets'],
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-kms',
    '@aws-sdk/client-eventbridge',
    '@aws-sdk/client-iam',
    '@aws-sdk/client-sts',
    '@aws-sdk/client-secrets-manager',
  ],
} as const satisfies FunctionManifest;
