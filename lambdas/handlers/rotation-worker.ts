/**
 * The rotation worker: consumes the rotation queue (an SQS event source in AWS, the in-process
 * queue locally) and runs each job — a scheduled rotation, a requested one, or a retirement
 * phase — with bounded concurrency, globally and per tenant. Jobs that should be retried
 * (throttling, an unavailable dependency, a crash, another executor holding the rotation) are
 * reported in `batchItemFailures`, so SQS delivers only them again (and, after the queue's
 * maxReceiveCount, moves them to the dead-letter queue, which raises an alarm). A message that
 * is not a job can never succeed: it is logged and dropped.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DomainError } from '../core/errors.js';
import { isRetryable } from '../core/rotation/engine.js';
import {
  type RotationJob,
  RotationJobSchema,
  runRotationJob,
  runRotationJobs,
} from '../core/rotation/rotation-queue.js';
import { container } from '../shared/container.js';
import { logger, metrics } from '../shared/observability.js';

function parseJob(body: string): RotationJob | undefined {
  try {
    const parsed = RotationJobSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function processRotationBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const services = container();
  const { engine } = services.rotation();
  const parsed = event.Records.map((record) => ({ id: record.messageId, job: parseJob(record.body) }));
  for (const entry of parsed.filter((item) => item.job === undefined)) {
    logger.error('Dropped a message that is not a rotation job', { messageId: entry.id });
  }
  const valid = parsed.flatMap((item) => (item.job === undefined ? [] : [{ id: item.id, job: item.job }]));
  const results = await runRotationJobs(
    valid.map((item) => item.job),
    (job) => runRotationJob(engine, job),
    {
      concurrency: services.config.rotation.concurrency,
      perTenant: services.config.rotation.tenantConcurrency,
    },
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

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(processRotationBatch);
