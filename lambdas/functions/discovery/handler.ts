/**
 * Scheduled engine `discovery` (hourly, lambdas/shared/engines.ts), also started by the
 * `discovery.run.requested` event that `POST /discovery/runs` publishes. Thin: it gives the
 * engine a deadline short of the function's timeout and reports what each run did.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { DISCOVERY_EVENT_TYPES } from '../../core/discovery/engine.js';
import type { DiscoveryRun } from '../../core/discovery/run.js';
import { TENANT_PATTERN } from '../../core/principal.js';
import { discovery } from './compose.js';
import { deadlineBefore } from '../../shared/deadline.js';
import { engineHandler } from '../../shared/engine-handler.js';
import { logger } from '../../shared/observability.js';

/** Time kept after the engine's deadline to record the run and return. */
const RESERVE_MS = 15_000;

const RunRequestedDetail = z.object({
  tenant: z.string().regex(TENANT_PATTERN),
  runId: z.string().min(1).max(64),
});

function deadlineOf(context: Context): Date {
  return deadlineBefore(context, RESERVE_MS);
}

function summary(run: DiscoveryRun) {
  return { tenant: run.tenant, runId: run.id, status: run.status, counts: run.counts, notice: run.notice };
}

export const handler = engineHandler(
  'discovery',
  async (_event, context) => {
    const runs = await discovery().engine.runScheduled(deadlineOf(context));
    return { implemented: true, runs: runs.map(summary) };
  },
  async (event, context) => {
    if (event['detail-type'] !== DISCOVERY_EVENT_TYPES.runRequested) {
      logger.warn('Ignored an event the discovery engine does not serve', { type: event['detail-type'] });
      return { implemented: true, runs: [] };
    }
    const { tenant, runId } = RunRequestedDetail.parse(event.detail);
    const run = await discovery().engine.runRequested(tenant, runId, deadlineOf(context));
    return { implemented: true, runs: run === undefined ? [] : [summary(run)] };
  },
);
