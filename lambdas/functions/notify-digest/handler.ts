/**
 * Scheduled engine `notifyDigest` (daily at 07:00 UTC, lambdas/shared/engines.ts): one digest per
 * tenant to each channel that opted in, at most once per channel and day.
 */
import { engineHandler } from '../../shared/engine-handler.js';
import { notifyDigest } from './compose.js';

export const handler = engineHandler('notifyDigest', async (event) => {
  const run = await notifyDigest().digest.run(new Date(event.time));
  return { implemented: true, ...run };
});
