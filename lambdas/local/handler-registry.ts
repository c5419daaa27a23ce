/**
 * The handlers the local runtime can invoke, by the ids the route table and engine specs use.
 * The records are exhaustive over those ids, so a new route or engine without a handler here
 * fails the type check rather than at run time. Modules load lazily, after the runtime has set
 * the environment they read at their cold start.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LocalQueueMessage } from '../adapters/local/in-process-rotation-queue.js';
import type { RollbackCommand } from '../core/rotation/rollback-runner.js';
import type { ApiLambda } from '../shared/api-handler.js';
import type { EngineLambda } from '../shared/engine-handler.js';
import type { EngineId } from '../shared/engines.js';
import type { ApiHandlerId } from '../shared/routes.js';

export const API_HANDLERS: Readonly<Record<ApiHandlerId, () => Promise<ApiLambda>>> = {
  health: async () => (await import('../functions/health/handler.js')).handler,
  me: async () => (await import('../functions/me/handler.js')).handler,
  openapi: async () => (await import('../functions/openapi/handler.js')).handler,
  secrets: async () => (await import('../functions/secrets/handler.js')).handler,
  policies: async () => (await import('../functions/policies/handler.js')).handler,
  admin: async () => (await import('../functions/admin/handler.js')).handler,
  audit: async () => (await import('../functions/audit/handler.js')).handler,
  credentials: async () => (await import('../functions/credentials/handler.js')).handler,
  discoveryApi: async () => (await import('../functions/discovery-api/handler.js')).handler,
  rotations: async () => (await import('../functions/rotations/handler.js')).handler,
};

export const ENGINE_HANDLERS: Readonly<Record<EngineId, () => Promise<EngineLambda>>> = {
  discovery: async () => (await import('../functions/discovery/handler.js')).handler,
  rotationScheduler: async () => (await import('../functions/rotation-scheduler/handler.js')).handler,
  auditDigest: async () => (await import('../functions/audit-digest/handler.js')).handler,
  expiryCheck: async () => (await import('../functions/expiry-check/handler.js')).handler,
};

/**
 * The rotation worker (an SQS consumer in AWS; the in-process queue's consumer locally), and the
 * same worker as the rotations API invokes it directly for an explicit rollback.
 */
export const ROTATION_WORKER = async (): Promise<
  (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>
> => {
  const { handler } = await import('../functions/rotation-worker/handler.js');
  return handler as (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
};
export const ROTATION_WORKER_COMMAND = async (): Promise<
  (command: RollbackCommand, context: Context) => Promise<unknown>
> => {
  const { handler } = await import('../functions/rotation-worker/handler.js');
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
