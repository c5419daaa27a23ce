/**
 * Engine functions run on EventBridge schedules. CDK creates one rule per engine with this
 * expression (`lib/engines-stack.ts`); the local scheduler fires the same scheduled-event payload
 * on the same expression (`lambdas/local/scheduler.ts`). The handler file is
 * `lambdas/functions/<name>/handler.ts`, export `handler` (name: the manifest's, lambdas/functions/index.ts).
 */
export const ENGINE_IDS = [
  'discovery',
  'rotationScheduler',
  'auditDigest',
  'expiryCheck',
  'notifyDigest',
] as const;
export type EngineId = (typeof ENGINE_IDS)[number];

export interface EngineSpec {
  readonly id: EngineId;
  readonly handler: string;
  /** EventBridge schedule expression: `rate(...)` or six-field `cron(...)`, in UTC. */
  readonly schedule: string;
  readonly description: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export const ENGINES: Readonly<Record<EngineId, EngineSpec>> = {
  discovery: {
    id: 'discovery',
    handler: 'discovery',
    schedule: 'rate(1 hour)',
    description: 'Discovers IAM access keys, Secrets Manager secrets and SSM SecureString parameters',
    // Lambda's maximum: a large account at IAM's rate limit needs it; the run stops writing in time.
    timeoutSeconds: 900,
    // A run holds a tenant's inventory in memory while it reconciles (tens of thousands of items).
    memoryMb: 1024,
  },
  rotationScheduler: {
    id: 'rotationScheduler',
    handler: 'rotation-scheduler',
    schedule: 'rate(15 minutes)',
    description: 'Finds credentials due for rotation and queues them',
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  auditDigest: {
    id: 'auditDigest',
    handler: 'audit-digest',
    schedule: 'rate(1 hour)',
    description: 'Signs a digest of each tenant audit chain head',
    // A run reads every event of the hour, its marker range and chain entries for each tenant:
    // a tenant at the API stage's throttle (100 rps) brings about 360,000 events an hour. Lambda's
    // maximum, as discovery's: a run is billed for what it takes, not for its limit.
    timeoutSeconds: 900,
    memoryMb: 256,
  },
  expiryCheck: {
    id: 'expiryCheck',
    handler: 'expiry-check',
    schedule: 'cron(0 8 * * ? *)',
    description: 'Warns about credentials that expire soon or are overdue for rotation',
    timeoutSeconds: 120,
    memoryMb: 256,
  },
  notifyDigest: {
    id: 'notifyDigest',
    handler: 'notify-digest',
    schedule: 'cron(0 7 * * ? *)',
    description: 'Sends the daily digest to the channels that asked for it',
    timeoutSeconds: 300,
    memoryMb: 256,
  },
};

export const ENGINE_LIST: readonly EngineSpec[] = Object.values(ENGINES);

/** The event an EventBridge schedule delivers (`aws.events` / `Scheduled Event`). */
export interface ScheduledEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': 'Scheduled Event';
  readonly source: 'aws.events';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, never>;
}

/**
 * The rotation worker: not scheduled, it consumes the rotation queue (an SQS event source in
 * AWS, the in-process queue locally). `maxConcurrency` bounds how many batches run at once across
 * the account; the worker bounds jobs per batch (VAULTPILOT_ROTATION_CONCURRENCY, per tenant
 * VAULTPILOT_ROTATION_TENANT_CONCURRENCY).
 */
export const ROTATION_WORKER_TIMEOUT_SECONDS = 300;
export const ROTATION_WORKER = {
  handler: 'rotation-worker',
  timeoutSeconds: ROTATION_WORKER_TIMEOUT_SECONDS,
  memoryMb: 512,
  batchSize: 10,
  maxConcurrency: 5,
} as const;
