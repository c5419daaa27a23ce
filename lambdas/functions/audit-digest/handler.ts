/**
 * Scheduled engine `auditDigest` (hourly, lambdas/shared/engines.ts): for every tenant with audit
 * events (the sparse `auditTenants` index, never a scan) it chains what no sequencer chained,
 * checks the chain since the last digest and signs a digest of the head (ADR 0004). A tenant whose
 * chain is not intact gets no digest and an `audit.integrity.failed` event instead. Runs still
 * reading when the function's time is nearly up sign what they checked; the next hour goes on.
 */
import { systemAuditEvent } from '../../core/audit/system-event.js';
import { systemClock } from '../../core/ports.js';
import { auditDigest } from './compose.js';
import { deadlineBefore } from '../../shared/deadline.js';
import { engineHandler } from '../../shared/engine-handler.js';
import { logger } from '../../shared/observability.js';

const ENGINE = 'audit-digest';
/** Tenants handled at once: enough to finish many tenants within the engine's timeout. */
const CONCURRENCY = 8;
/** Time kept after the runs' deadline to sign, store and announce their digests. */
const RESERVE_MS = 30_000;

export const handler = engineHandler('auditDigest', async (event, context) => {
  const { chain, digests, sink } = auditDigest();
  const deadline = deadlineBefore(context, RESERVE_MS);
  const summary = {
    tenants: 0,
    digestsSigned: 0,
    eventsCaughtUp: 0,
    integrityFailures: 0,
    failedTenants: 0,
    unfinishedTenants: 0,
  };

  const runTenant = async (tenant: string): Promise<void> => {
    try {
      const run = await digests.run(tenant, {
        ownEvent: async () => {
          const recorded = systemAuditEvent(tenant, ENGINE, systemClock, {
            action: 'audit.digest',
            outcome: 'allowed',
            correlationId: event.id,
          });
          await sink.record(recorded);
          return recorded;
        },
        deadline,
      });
      summary.eventsCaughtUp += run.caughtUp;
      if (run.digest !== undefined) summary.digestsSigned += 1;
      if (!run.complete) {
        summary.unfinishedTenants += 1;
        logger.warn('Audit digest stopped at the deadline; the next run signs the rest', {
          tenant,
          signedThrough: run.digest?.toSeq,
        });
      }
      if (run.integrityProblem !== undefined) {
        summary.integrityFailures += 1;
        logger.error('Audit chain is not intact; no digest signed', {
          tenant,
          seq: run.integrityProblem.seq,
          reason: run.integrityProblem.reason,
        });
      }
    } catch (error: unknown) {
      // One tenant's failure does not keep the others from their digests; the next run retries.
      summary.failedTenants += 1;
      logger.error('Audit digest failed', { tenant, error });
    }
  };

  const running = new Set<Promise<void>>();
  for await (const tenant of chain.tenants()) {
    summary.tenants += 1;
    const task = runTenant(tenant).finally(() => running.delete(task));
    running.add(task);
    if (running.size >= CONCURRENCY) await Promise.race(running);
  }
  await Promise.all(running);
  if (summary.failedTenants > 0) {
    // Failing the run sends it to the retry policy and, in the end, the dead-letter queue.
    throw new Error(`Audit digests failed for ${summary.failedTenants} of ${summary.tenants} tenants`);
  }
  return { implemented: true, ...summary };
});
