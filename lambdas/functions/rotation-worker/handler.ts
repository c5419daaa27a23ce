/**
 * The rotation worker: consumes the rotation queue (an SQS event source in AWS, the in-process
 * queue locally) and runs each job — a scheduled rotation, a requested one, or a retirement
 * phase — with bounded concurrency, globally and per tenant. Jobs that should be retried
 * (throttling, an unavailable dependency, a crash, another executor holding the rotation) are
 * reported in `batchItemFailures`, so SQS delivers only them again (and, after the queue's
 * maxReceiveCount, moves them to the dead-letter queue, which raises an alarm). A message that
 * is not a job can never succeed: it is logged and dropped.
 *
 * The rotations API also invokes it directly (synchronously) with a rollback command, so an
 * explicit rollback runs here, with the worker's provider rights, and not in the API function:
 * the answer is the rolled-back record or the domain error the rollback ended with.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DomainError, ValidationError } from '../../core/errors.js';
import { isRetryable } from '../../core/rotation/engine.js';
import {
  type RollbackAnswer,
  rollbackFailure,
  type SubmitCommand,
  WorkerCommandSchema,
} from '../../core/rotation/rollback-runner.js';
import {
  type RotationJob,
  RotationJobSchema,
  runRotationJob,
  runRotationJobs,
} from '../../core/rotation/rotation-queue.js';
import { rotationWorker } from './compose.js';
import { logger, metrics } from '../../shared/observability.js';

function parseJob(body: string): RotationJob | undefined {
  try {
    const parsed = RotationJobSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function processRotationBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const { engine, concurrency } = rotationWorker();
  const parsed = event.Records.map((record) => ({ id: record.messageId, job: parseJob(record.body) }));
  for (const entry of parsed.filter((item) => item.job === undefined)) {
    logger.error('Dropped a message that is not a rotation job', { messageId: entry.id });
  }
  const valid = parsed.flatMap((item) => (item.job === undefined ? [] : [{ id: item.id, job: item.job }]));
  const results = await runRotationJobs(
    valid.map((item) => item.job),
    (job) => runRotationJob(engine, job),
    concurrency,
  );
  const failures: { itemIdentifier: string }[] = [];
  results.forEach((result, index) => {
    const item = valid[index];
    if (item === undefined) return;
    const { job } = item;
    const context = {
      messageId: item.id,
      kind: job.kind,
      tenant: job.tenant,
      credentialId: job.credentialId,
    };
    if (result.ok) {
      logger.info('Rotation job done', { ...context, outcome: result.outcome });
      metrics.addMetric('RotationJobSucceeded', MetricUnit.Count, 1);
      return;
    }
    // Error names and domain messages only: no value ever reaches them.
    const error =
      result.error instanceof DomainError
        ? `${result.error.code}: ${result.error.message}`
        : result.error instanceof Error
          ? result.error.name
          : 'UnknownError';
    if (isRetryable(result.error)) {
      logger.warn('Rotation job will be retried', { ...context, error });
      metrics.addMetric('RotationJobRetried', MetricUnit.Count, 1);
      failures.push({ itemIdentifier: item.id });
    } else {
      logger.error('Rotation job failed for good', { ...context, error });
      metrics.addMetric('RotationJobFailed', MetricUnit.Count, 1);
    }
  });
  return { batchItemFailures: failures };
}

/**
 * Runs one explicit rollback, or takes an assisted rotation's submitted value. A command that
 * does not parse is a defect of the caller: it is refused as a validation error (naming fields
 * only, never a value), never run.
 */
export async function processRollbackCommand(command: unknown): Promise<RollbackAnswer> {
  const parsed = WorkerCommandSchema.safeParse(command);
  if (!parsed.success) {
    logger.error('Refused a rollback or submit command that does not parse', {
      issues: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.code}`),
    });
    return rollbackFailure(new ValidationError('The rollback command is invalid'));
  }
  if (parsed.data.kind === 'submit') return processSubmission(parsed.data);
  const { tenant, credentialId, rotationId, requestedBy } = parsed.data;
  const { engine } = rotationWorker();
  try {
    const record = await engine.rollback({ tenant, credentialId, rotationId }, requestedBy);
    logger.info('Rollback done', { tenant, credentialId, rotationId, state: record.state });
    metrics.addMetric('RotationRollbackSucceeded', MetricUnit.Count, 1);
    return { ok: true, rotation: { ...record, steps: [...record.steps] } };
  } catch (error: unknown) {
    if (!(error instanceof DomainError)) throw error;
    logger.warn('Rollback refused', { tenant, credentialId, rotationId, error: error.code });
    metrics.addMetric('RotationRollbackRefused', MetricUnit.Count, 1);
    return rollbackFailure(error);
  }
}

/** Takes a person's value for an assisted rotation; the value never reaches a log line. */
async function processSubmission(command: SubmitCommand): Promise<RollbackAnswer> {
  const { tenant, credentialId, rotationId, requestedBy, value, deadline } = command;
  const { engine } = rotationWorker();
  try {
    const record = await engine.submit({ tenant, credentialId, rotationId }, value, requestedBy, {
      deadline: new Date(deadline),
    });
    logger.info('Submission taken', { tenant, credentialId, rotationId, state: record.state });
    metrics.addMetric('RotationSubmissionAccepted', MetricUnit.Count, 1);
    return { ok: true, rotation: { ...record, steps: [...record.steps] } };
  } catch (error: unknown) {
    if (!(error instanceof DomainError)) throw error;
    logger.warn('Submission refused', { tenant, credentialId, rotationId, error: error.code });
    metrics.addMetric('RotationSubmissionRefused', MetricUnit.Count, 1);
    return rollbackFailure(error);
  }
}

function isSqsEvent(event: unknown): event is SQSEvent {
  return typeof event === 'object' && event !== null && Array.isArray((event as SQSEvent).Records);
}

export const handler = middy<
  SQSEvent | RollbackCommandEvent,
  SQSBatchResponse | RollbackAnswer,
  Error,
  Context
>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler((event) => (isSqsEvent(event) ? processRotationBatch(event) : processRollbackCommand(event)));

/** A direct invocation's payload, unchecked until `processRollbackCommand` parses it. */
type RollbackCommandEvent = Record<string, unknown>;
