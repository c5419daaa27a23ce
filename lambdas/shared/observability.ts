/**
 * Powertools logger and metrics, one instance each per process. In AWS they print structured
 * JSON (logs with request and correlation ids, metrics as EMF); the local runtime sets
 * POWERTOOLS_DEV, which pretty-prints logs and keeps metrics off the console.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { reportLostAuditOutcome } from '../core/audit/audited.js';

export const logger = new Logger({ serviceName: 'vaultpilot' });
// Metrics' own warnings go through the structured logger rather than a bare console.
export const metrics = new Metrics({ namespace: 'VaultPilot', serviceName: 'vaultpilot', logger });

// A change whose outcome event was lost is still traced by its `attempted` event (ADR 0004); the
// operators hear of it here. The error is the audit sink's, which never carries event content.
reportLostAuditOutcome((error) =>
  logger.error('Audit outcome not recorded; the attempted event stands', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  }),
);
