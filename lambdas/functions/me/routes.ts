import { MeResponse } from '../../shared/contracts/identity.js';
import type { RouteSpec } from '../../shared/routes.js';
import { ALL_SCOPES } from '../../shared/scopes.js';

export const ME_ROUTES = [
  {
    method: 'GET',
    path: '/me',
    operationId: 'getMe',
    handler: 'me',
    auth: 'token',
    scopes: ALL_SCOPES,
    summary: 'Who am I: subject, kind, tenant, roles and scopes of the caller',
    tag: 'identity',
    response: MeResponse,
  },
] as const satisfies readonly RouteSpec[];
