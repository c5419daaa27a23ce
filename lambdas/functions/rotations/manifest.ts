import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The rotation API: rotation records, locks and idempotency keys (conditional puts, lock
 * release); credentials' due times after a policy change; rotation policies (put, tombstone on
 * delete, their due-time marks cleared by UpdateItem and tombstones removed). Requests are
 * queued for the worker and explicit rollbacks run in it (invoked directly), so this function
 * holds no secret versions, no secrets key and no provider rights.
 */
export const manifest = {
  name: 'rotations',
  description: 'The rotation API',
  trigger: { kind: 'api', handler: 'rotations' },
  tables: {
    rotations: ['read', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
    credentials: ['read', 'dynamodb:PutItem'],
    settings: ['read', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  publishesEvents: true,
  sendsRotationJobs: true,
  invokesRotationWorker: true,
  verifiesTokens: true,
  // API Gateway's integration limit: a submission waits for the worker, within a deadline this
  // function's remaining time sets (the worker needs 10 s of it left to begin the commit).
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  sdkClients: [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-eventbridge',
    '@aws-sdk/client-sqs',
    '@aws-sdk/client-lambda',
  ],
} as const satisfies FunctionManifest;
