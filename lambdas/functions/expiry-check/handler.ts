import { engineHandler } from '../../shared/engine-handler.js';
import { expiryCheck } from './compose.js';

/**
 * Scheduled engine `expiryCheck` (daily, lambdas/shared/engines.ts): finds through the expiry
 * index every credential near or past its expiry or rotation date and publishes the events the
 * notifier turns into warnings (it de-duplicates repeats of one condition per window).
 */
export const handler = engineHandler('expiryCheck', async (event) => {
  const run = await expiryCheck().check.run(new Date(event.time));
  return { implemented: true, ...run };
});
