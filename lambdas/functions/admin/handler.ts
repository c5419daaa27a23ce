/** Admin maintenance API: one bounded re-wrap step of the caller's tenant. */
import { apiHandler, callerOf } from '../../shared/api-handler.js';
import { admin } from './compose.js';
import { ADMIN_ROUTES } from './routes.js';

export const handler = apiHandler(ADMIN_ROUTES, () => admin().api, {
  rewrapDataKeys: async (request) => {
    const { cursor, limit } = request.body;
    const step = await admin()
      .rewrap()
      .step(callerOf(request), { cursor, ...(limit === undefined ? {} : { limit }) });
    return {
      body: {
        data: {
          scanned: step.scanned,
          rewrapped: step.rewrapped,
          already_current: step.alreadyCurrent,
          skipped: step.skipped,
          key_id: step.keyId,
          cursor: step.cursor ?? null,
          done: step.cursor === undefined,
        },
      },
    };
  },
});
