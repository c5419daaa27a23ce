/** Maintenance operations of a tenant's admins. */
import { RewrapRequest, RewrapResponse } from '../../shared/contracts/admin.js';
import type { RouteSpec } from '../../shared/routes.js';
import { SCOPES } from '../../shared/scopes.js';

export const ADMIN_ROUTES = [
  {
    method: 'POST',
    path: '/admin/rewrap',
    operationId: 'rewrapDataKeys',
    handler: 'admin',
    auth: 'token',
    scopes: [SCOPES.admin],
    summary:
      "Re-wrap the tenant's secret data keys under the current key, one bounded step at a time (pass back `cursor` until `done`)",
    tag: 'admin',
    request: { body: RewrapRequest },
    response: RewrapResponse,
    errors: [409, 503],
  },
] as const satisfies readonly RouteSpec[];
