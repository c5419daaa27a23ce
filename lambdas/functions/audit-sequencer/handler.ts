/**
 * The sequencer in AWS: the audit table's stream (new images, filtered to event items) delivers
 * recorded events, in order per tenant (a tenant's events share a partition key, so a shard), and
 * each tenant's batch is appended to its chain (ADR 0004). A tenant whose chaining fails reports
 * its first record as the batch item failure, so Lambda retries from there (records of other
 * tenants after it are retried too, which is harmless: chaining is exactly once).
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { RecordedAuditEvent } from '../../core/audit/audit-store.js';
import { auditSequencer } from './compose.js';
import { auditEventOfItem } from './audit-items.js';
import { logger, metrics } from '../../shared/observability.js';

interface TenantBatch {
  readonly events: RecordedAuditEvent[];
  /** Sequence number of the tenant's first record in this batch: where a retry must start. */
  readonly firstSequenceNumber: string;
}

/** The recorded events of a stream batch, by tenant; records that hold no event are skipped. */
export function recordedEventsByTenant(records: readonly DynamoDBRecord[]): Map<string, TenantBatch> {
  const byTenant = new Map<string, TenantBatch>();
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (record.eventName !== 'INSERT' || image === undefined || sequenceNumber === undefined) continue;
    const recorded = auditEventOfItem(image, true);
    if (recorded === undefined) {
      // The stream filter passes event items only; one that is no longer an event cannot be chained.
      logger.error('A recorded audit item is not a valid event; it cannot be chained', {
        keys: record.dynamodb?.Keys,
      });
      continue;
    }
    const batch = byTenant.get(recorded.event.tenant) ?? { events: [], firstSequenceNumber: sequenceNumber };
    batch.events.push(recorded);
    byTenant.set(recorded.event.tenant, batch);
  }
  return byTenant;
}

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(async (event) => {
    const { sequencer } = auditSequencer();
    const failures: { itemIdentifier: string }[] = [];
    for (const [tenant, batch] of recordedEventsByTenant(event.Records)) {
      try {
        const chained = await sequencer.chain(tenant, batch.events);
        metrics.addMetric(
          'AuditEventsChained',
          MetricUnit.Count,
          chained.filter((each) => each.appended).length,
        );
      } catch (error: unknown) {
        logger.error('Chaining audit events failed; the batch is retried from this tenant', {
          tenant,
          error,
        });
        failures.push({ itemIdentifier: batch.firstSequenceNumber });
      }
    }
    return { batchItemFailures: failures };
  });
