import { engineHandler } from '../shared/engine-handler.js';
import { logger } from '../shared/observability.js';

/**
 * Scheduled engine `rotationScheduler` (schedule in lambdas/shared/engines.ts). It does no work yet and says
 * so in its result: Finding due rotations arrives with the rotation issue.
 */
export const handler = engineHandler('rotationScheduler', async () => {
  logger.info('Engine has no work implemented yet');
  return { implemented: false };
});
