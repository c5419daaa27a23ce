import { engineHandler } from '../../shared/engine-handler.js';
import { logger } from '../../shared/observability.js';
import { expiryCheck } from './compose.js';

/**
 * Scheduled engine `expiryCheck` (schedule in lambdas/shared/engines.ts). It does no work yet and says
 * so in its result: Expiry warnings arrive with the notification work.
 */
export const handler = engineHandler('expiryCheck', async () => {
  expiryCheck();
  logger.info('Engine has no work implemented yet');
  return { implemented: false };
});
