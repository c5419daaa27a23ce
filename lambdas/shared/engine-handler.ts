/**
 * Builds a scheduled engine handler (EventBridge scheduled event in AWS, the in-process
 * scheduler locally) with the same logger and metrics middleware as the API handlers.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import type { EngineId } from './engines.js';
import { EVENT_SOURCE } from './events.js';
import { countColdStart, countMetric, logger } from './observability.js';

export const ScheduledEventSchema = z.object({
  version: z.literal('0'),
  id: z.string().min(1),
  'detail-type': z.literal('Scheduled Event'),
  source: z.literal('aws.events'),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.object({}).loose(),
});
export type ScheduledEventInput = z.infer<typeof ScheduledEventSchema>;

/**
 * An event of VaultPilot's own bus as an EventBridge rule delivers it to a function (the local
 * runtime builds the same shape): `detail-type` is the event type, `detail` carries tenant and time.
 */
export const BusEventSchema = z.object({
  version: z.literal('0'),
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.literal(EVENT_SOURCE),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.object({ tenant: z.string(), time: z.string() }).loose(),
});
export type BusEventInput = z.infer<typeof BusEventSchema>;

export interface EngineRunSummary {
  readonly engine: EngineId;
  readonly scheduledAt: string;
  readonly [key: string]: unknown;
}

export type EngineLambda = (event: unknown, context: Context) => Promise<EngineRunSummary>;

/**
 * `run` serves the schedule; `onBusEvent`, when given, serves events of VaultPilot's bus that a
 * rule routes to the engine (e.g. a requested discovery run).
 */
export function engineHandler(
  engine: EngineId,
  run: (event: ScheduledEventInput, context: Context) => Promise<Record<string, unknown>>,
  onBusEvent?: (event: BusEventInput, context: Context) => Promise<Record<string, unknown>>,
): EngineLambda {
  const handler = middy<unknown, EngineRunSummary, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({ before: (request: { context: Context }) => countColdStart(request.context.functionName) })
    .handler(async (input, context) => {
      const busEvent = onBusEvent === undefined ? undefined : BusEventSchema.safeParse(input);
      if (busEvent?.success === true && onBusEvent !== undefined) {
        logger.appendKeys({ engine, correlation_id: busEvent.data.id });
        const result = await onBusEvent(busEvent.data, context);
        countMetric('EngineRun', { engine });
        const summary: EngineRunSummary = {
          engine,
          scheduledAt: busEvent.data.time,
          trigger: busEvent.data['detail-type'],
          ...result,
        };
        logger.info('Engine run finished', { summary });
        return summary;
      }
      const event = ScheduledEventSchema.parse(input);
      logger.appendKeys({ engine, correlation_id: event.id });
      const result = await run(event, context);
      countMetric('EngineRun', { engine });
      const summary: EngineRunSummary = { engine, scheduledAt: event.time, ...result };
      logger.info('Engine run finished', { summary });
      return summary;
    });
  return async (event, context) => {
    const summary = await handler(event, context, { signal: new AbortController().signal });
    if (summary === undefined) throw new Error(`Engine ${engine} returned no summary`);
    return summary;
  };
}
