import { engineHandler } from '../shared/engine-handler.js';
import { logger } from '../shared/observability.js';

/**
 * Scheduled engine `discovery` (schedule in lambdas/shared/engines.ts). It does no work yet and says
 * so in its result: Discovery of IAM keys, Secrets Manager secrets and SSM parameters arrives with the discovery issue.
 */
export const handler = engineHandler('discovery', async () => {
  logger.info('Engine has no work implemented yet');
  return { implemented: false };
});
