/** Admin maintenance API: one bounded re-wrap step of the caller's tenant. */
import { apiHandler, callerOf } from '../../shared/api-handler.js';
import { container } from '../../shared/container.js';
import type { RewrapRequest } from '../../shared/contracts/admin.js';
import type { z } from 'zod';

export const handler = apiHandler(async (request) => {
  const body = request.body as z.infer<typeof RewrapRequest>;
  const step = await container()
    .rewrapAdministration()
    .step(callerOf(request), {
      cursor: body.cursor,
      ...(body.limit === undefined ? {} : { limit: body.limit }),
    });
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
});
