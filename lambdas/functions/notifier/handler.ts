/**
 * The notifier function: one event of VaultPilot's bus in (an EventBridge rule in AWS, the
 * in-process bus locally), one message per routed channel out. Idempotent per (event id,
 * channel) through the delivery log's conditional writes, so a redelivered event (Lambda's
 * asynchronous retries, EventBridge's at-least-once delivery) sends nothing twice. When a channel
 * is still to be retried the invocation fails, so Lambda delivers the event again with backoff
 * and, after its last retry, to the notifier's dead-letter queue.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { DeliveryReport } from '../../core/notify/notifier.js';
import type { NotifiableEvent } from '../../core/notify/notify-event.js';
import { BusEventSchema, type BusEventInput } from '../../shared/engine-handler.js';
import { countColdStart, countMetric, logger } from '../../shared/observability.js';
import { notifier } from './compose.js';

/** Thrown when a channel is still to be retried: the event's delivery is not finished. */
export class NotificationIncompleteError extends Error {
  constructor(
    readonly eventId: string,
    readonly channelIds: readonly string[],
  ) {
    super(`Event ${eventId}: delivery to ${channelIds.length} channel(s) not finished; redeliver`);
    this.name = 'NotificationIncompleteError';
  }
}

/** The event as the notifier reads it: EventBridge's id, the detail-type, tenant and time. */
export function notifiableEvent(input: BusEventInput): NotifiableEvent {
  const { tenant, time, ...detail } = input.detail;
  return { id: input.id, type: input['detail-type'], tenant, time, detail };
}

export interface NotifierResult {
  readonly eventId: string;
  readonly type: string;
  readonly suppressed: string | undefined;
  readonly deliveries: readonly { channelId: string; channelKind: string; status: string }[];
}

function countDeliveries(report: DeliveryReport): void {
  for (const delivery of report.deliveries) {
    if (delivery.status === 'sent') countMetric('NotificationSent', { channelKind: delivery.channelKind });
    else if (delivery.status === 'failed' || delivery.status === 'retrying')
      countMetric('NotificationFailed', { channelKind: delivery.channelKind });
  }
}

export const handler = middy<unknown, NotifierResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use({ before: (request: { context: Context }) => countColdStart(request.context.functionName) })
  .handler(async (input) => {
    const event = notifiableEvent(BusEventSchema.parse(input));
    // Keys per line, not appended: the local runtime runs several invocations at once in one process.
    const keys = { correlation_id: event.id, eventType: event.type, tenant: event.tenant };
    // Business alarms (rotation.failed, audit.integrity.failed) count what reaches the notifier.
    countMetric('AlertEvent', { eventType: event.type });
    const report = await notifier().notifier.deliver(event);
    countDeliveries(report);
    const result: NotifierResult = {
      eventId: report.eventId,
      type: event.type,
      suppressed: report.suppressed?.why,
      // Channel ids, kinds, statuses and reason codes only: never an address, URL or body.
      deliveries: report.deliveries.map(({ channelId, channelKind, status }) => ({
        channelId,
        channelKind,
        status,
      })),
    };
    logger.info('Notification event handled', {
      ...keys,
      result,
      reasons: report.deliveries.flatMap((d) => (d.reason === undefined ? [] : [d.reason])),
    });
    if (report.incomplete) {
      throw new NotificationIncompleteError(
        event.id,
        report.deliveries
          .filter((d) => d.status === 'retrying' || d.status === 'in-progress')
          .map((d) => d.channelId),
      );
    }
    return result;
  });
