/**
 * The handlers the local runtime can invoke, one per function manifest (lambdas/functions/index.ts).
 * The record is exhaustive over the manifests, so a new function without a handler here fails the
 * type check rather than at run time. Modules load lazily, after the runtime has set the
 * environment their composition reads on first use.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LocalQueueMessage } from '../adapters/local/in-process-rotation-queue.js';
import type { WorkerCommand } from '../core/rotation/rollback-runner.js';
import type { FunctionId } from '../functions/index.js';
import type { ApiLambda } from '../shared/api-handler.js';
import type { EngineLambda } from '../shared/engine-handler.js';
import type { EngineId } from '../shared/engines.js';
import type { ApiHandlerId } from '../shared/routes.js';

const FUNCTIONS = {
  health: () => import('../functions/health/handler.js'),
  me: () => import('../functions/me/handler.js'),
  openapi: () => import('../functions/openapi/handler.js'),
  secrets: () => import('../functions/secrets/handler.js'),
  policies: () => import('../functions/policies/handler.js'),
  admin: () => import('../functions/admin/handler.js'),
  audit: () => import('../functions/audit/handler.js'),
  credentials: () => import('../functions/credentials/handler.js'),
  discoveryApi: () => import('../functions/discovery-api/handler.js'),
  rotations: () => import('../functions/rotations/handler.js'),
  notifications: () => import('../functions/notifications/handler.js'),
  discovery: () => import('../functions/discovery/handler.js'),
  rotationScheduler: () => import('../functions/rotation-scheduler/handler.js'),
  auditDigest: () => import('../functions/audit-digest/handler.js'),
  expiryCheck: () => import('../functions/expiry-check/handler.js'),
  auditSequencer: () => import('../functions/audit-sequencer/handler.js'),
  rotationWorker: () => import('../functions/rotation-worker/handler.js'),
  tokenClaims: () => import('../functions/token-claims/handler.js'),
  notifier: () => import('../functions/notifier/handler.js'),
  notifyDigest: () => import('../functions/notify-digest/handler.js'),
  expiryCheckApi: () => import('../functions/expiry-check-api/handler.js'),
} as const satisfies Record<FunctionId, () => Promise<{ handler: unknown }>>;

/**
 * Requests answer once their audit event is durable and the chain append follows off the request
 * path (as the stream does it in AWS); the functions that read the chain locally first let the
 * appends queued so far finish, so a client reads its own audit events in the chain at once.
 */
/** How long a local chain reader waits at most for the appends queued before it. */
const APPEND_WAIT_MS = 1000;

function afterAuditAppends<H extends (...args: never[]) => Promise<unknown>>(handler: H): H {
  return (async (...args: Parameters<H>) => {
    const { auditAppendsSettled } = await import('../platform/index.js');
    // Bounded: appends retrying against a throttled table (of any tenant) must not hold up a
    // reader; past the bound it reads the chain as far as it is, as a reader in AWS would.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      auditAppendsSettled(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, APPEND_WAIT_MS))),
    ]);
    clearTimeout(timer);
    return handler(...args);
  }) as H;
}

/**
 * Loads a handler once and keeps it. Under tsx (`npm start`) every `import()` is a round trip to
 * the loader's hooks thread even for a module already loaded, which cost each request about 3% of
 * the process's CPU (plus the hooks thread's) when the server imported its handler per request. A
 * failed load is forgotten, so the next request tries again.
 */
function loadedOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
}

function eachLoadedOnce<K extends string, T>(
  loaders: Readonly<Record<K, () => Promise<T>>>,
): Readonly<Record<K, () => Promise<T>>> {
  return Object.fromEntries(
    Object.entries<() => Promise<T>>(loaders).map(([id, load]) => [id, loadedOnce(load)]),
  ) as Record<K, () => Promise<T>>;
}

export const API_HANDLERS: Readonly<Record<ApiHandlerId, () => Promise<ApiLambda>>> = eachLoadedOnce({
  health: async () => (await FUNCTIONS.health()).handler,
  me: async () => (await FUNCTIONS.me()).handler,
  openapi: async () => (await FUNCTIONS.openapi()).handler,
  secrets: async () => (await FUNCTIONS.secrets()).handler,
  policies: async () => (await FUNCTIONS.policies()).handler,
  admin: async () => (await FUNCTIONS.admin()).handler,
  audit: async () => afterAuditAppends((await FUNCTIONS.audit()).handler),
  credentials: async () => (await FUNCTIONS.credentials()).handler,
  discoveryApi: async () => (await FUNCTIONS.discoveryApi()).handler,
  rotations: async () => (await FUNCTIONS.rotations()).handler,
  notifications: async () => (await FUNCTIONS.notifications()).handler,
  expiryCheckApi: async () => (await FUNCTIONS.expiryCheckApi()).handler,
});

export const ENGINE_HANDLERS: Readonly<Record<EngineId, () => Promise<EngineLambda>>> = eachLoadedOnce({
  discovery: async () => (await FUNCTIONS.discovery()).handler,
  rotationScheduler: async () => (await FUNCTIONS.rotationScheduler()).handler,
  auditDigest: async () => afterAuditAppends((await FUNCTIONS.auditDigest()).handler),
  expiryCheck: async () => (await FUNCTIONS.expiryCheck()).handler,
  notifyDigest: async () => (await FUNCTIONS.notifyDigest()).handler,
});

/** The notifier, which the local runtime subscribes to the in-process bus (an EventBridge rule in AWS). */
export const NOTIFIER = async (): Promise<(event: unknown, context: Context) => Promise<unknown>> => {
  const { handler } = await FUNCTIONS.notifier();
  return handler;
};

/**
 * The rotation worker (an SQS consumer in AWS; the in-process queue's consumer locally), and the
 * same worker as the rotations API invokes it directly for an explicit rollback.
 */
export const ROTATION_WORKER = async (): Promise<
  (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>
> => {
  const { handler } = await FUNCTIONS.rotationWorker();
  return handler as (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
};
export const ROTATION_WORKER_COMMAND = async (): Promise<
  (command: WorkerCommand, context: Context) => Promise<unknown>
> => {
  const { handler } = await FUNCTIONS.rotationWorker();
  return handler;
};
export { ROTATION_WORKER_TIMEOUT_SECONDS } from '../shared/engines.js';

/** An SQS event of the in-process queue's messages, as Lambda's SQS event source builds it. */
export function sqsEvent(messages: readonly LocalQueueMessage[]): SQSEvent {
  return {
    Records: messages.map((message) => ({
      messageId: message.messageId,
      receiptHandle: message.messageId,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(Date.now()),
        SenderId: 'vaultpilot-local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:vaultpilot-local-rotations',
      awsRegion: 'us-east-1',
    })),
  };
}
