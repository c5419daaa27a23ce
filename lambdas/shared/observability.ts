/**
 * Powertools logger and metrics, one instance each per process. In AWS they print structured
 * JSON (logs with request and correlation ids, metrics as EMF); the local runtime sets
 * POWERTOOLS_DEV, which pretty-prints logs and keeps metrics off the console.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { reportLostAuditOutcome } from '../core/audit/audited.js';

export const logger = new Logger({ serviceName: 'vaultpilot' });
// Metrics' own warnings go through the structured logger rather than a bare console.
export const metrics = new Metrics({ namespace: 'VaultPilot', serviceName: 'vaultpilot', logger });

/**
 * Counts one metric with its own dimensions (a single-metric record, published at once). The
 * shared instance never holds per-request dimensions: with several requests in flight in one
 * process (the local runtime) they collided ("Dimension … has already been added"), and flushing
 * an empty store after each request warned "No application metrics to publish", twice per
 * request. A request or engine run now emits exactly what it counts, and nothing else.
 */
export function countMetric(name: string, dimensions: Readonly<Record<string, string>>): void {
  const single = metrics.singleMetric();
  for (const [key, value] of Object.entries(dimensions)) single.addDimension(key, value);
  single.addMetric(name, MetricUnit.Count, 1);
}

/** The cold-start metric, once per process (Powertools keeps the flag). */
export function countColdStart(functionName: string): void {
  metrics.captureColdStartMetric(functionName);
}

// A change whose outcome event was lost is still traced by its `attempted` event (ADR 0004); the
// operators hear of it here. The error is the audit sink's, which never carries event content.
reportLostAuditOutcome((error) =>
  logger.error('Audit outcome not recorded; the attempted event stands', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  }),
);
