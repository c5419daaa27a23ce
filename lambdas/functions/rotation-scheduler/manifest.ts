import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The rotation scheduler: the due index of the inventory, the tenant list and the retirement
 * index of rotations (queries, no scans); queues one job each. It also carries out the due-time
 * refreshes that rotation policy writes left pending: it writes credentials' due times (and
 * their history), clears the policies' marks (UpdateItem) and removes deleted policies'
 * tombstones (DeleteItem), and audits and publishes the findings a new due time opens or resolves.
 */
export const manifest = {
  name: 'rotation-scheduler',
  description: 'Finds credentials due for rotation and queues them',
  trigger: { kind: 'schedule', engine: 'rotationScheduler' },
  tables: {
    credentials: ['read', 'dynamodb:PutItem'],
    settings: ['read', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    rotations: ['read'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  sendsRotationJobs: true,
  publishesEvents: true,
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-sqs',
    '@aws-sdk/client-eventbridge',
  ],
} as const satisfies FunctionManifest;
