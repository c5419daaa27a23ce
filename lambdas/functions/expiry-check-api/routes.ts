/** `POST /notifications/expiry-check`: the expiry check on demand (the rest of /notifications is the notifications API's). */
import * as z from 'zod';
import type { RouteSpec } from '../../shared/routes.js';
import { SCOPES } from '../../shared/scopes.js';

const count = z.number().int().min(0);
export const ExpiryCheckRunResponse = z
  .object({
    data: z.object({
      candidates: count.describe(
        "The tenant's credentials the expiry index returned (expiry or rotation within a year, or past)",
      ),
      expiring: count.describe('credential.expiring events published'),
      expired: count.describe('credential.expired events published'),
      overdue: count.describe('rotation.overdue events published'),
    }),
  })
  .meta({ id: 'ExpiryCheckRunResponse' });

export const EXPIRY_CHECK_API_ROUTES = [
  {
    handler: 'expiryCheckApi',
    auth: 'token',
    tag: 'notifications',
    method: 'POST',
    path: '/notifications/expiry-check',
    operationId: 'runExpiryCheck',
    scopes: [SCOPES.admin],
    summary:
      "Run the expiry check now for the caller's tenant (admins): publishes the expiry and overdue events; the notifier sends what is news",
    response: ExpiryCheckRunResponse,
    errors: [503],
  },
] as const satisfies readonly RouteSpec[];
