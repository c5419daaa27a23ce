import { engineHandler } from '../shared/engine-handler.js';
import { logger } from '../shared/observability.js';

/**
 * Scheduled engine `auditDigest` (schedule in lambdas/shared/engines.ts). It does no work yet and says
 * so in its result: Signed audit digests arrive with the audit issue.
 */
export const handler = engineHandler('auditDigest', async () => {
  logger.info('Engine has no work implemented yet');
  return { implemented: false };
});
