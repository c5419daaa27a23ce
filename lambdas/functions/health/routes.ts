import { HealthResponse } from '../../shared/contracts/identity.js';
import type { RouteSpec } from '../../shared/routes.js';

export const HEALTH_ROUTES = [
  {
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    handler: 'health',
    auth: 'none',
    scopes: [],
    summary: 'Liveness of the API (no authentication)',
    tag: 'system',
    response: HealthResponse,
  },
] as const satisfies readonly RouteSpec[];
