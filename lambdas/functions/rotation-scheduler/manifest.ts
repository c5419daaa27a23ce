import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The rotation scheduler: the due index of the inventory, the tenant list and the retirement
 * index of rotations (queries, no scans); queues one job each.
 */
export const manifest = {
  name: 'rotation-scheduler',
  description: 'Finds credentials due for rotation and queues them',
  trigger: { kind: 'schedule', engine: 'rotationScheduler' },
  tables: { credentials: ['read'], settings: ['read'], rotations: ['read'] },
  sendsRotationJobs: true,
  sdkClients: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sqs'],
} as const satisfies FunctionManifest;
