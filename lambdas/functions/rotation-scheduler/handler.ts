/**
 * Scheduled engine `rotationScheduler` (every 15 minutes, lambdas/shared/engines.ts): finds the
 * credentials due for rotation and the retirements that are due (queries on sparse indexes, no
 * scans) and queues one job each for the rotation worker.
 */
import { rotationScheduler } from './compose.js';
import { engineHandler } from '../../shared/engine-handler.js';

export const handler = engineHandler('rotationScheduler', async (event) => {
  const run = await rotationScheduler().scheduler.run(new Date(event.time));
  return { implemented: true, ...run };
});
