import { OpenApiDocument } from '../../shared/contracts/common.js';
import type { RouteSpec } from '../../shared/routes.js';

export const OPENAPI_ROUTES = [
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    handler: 'openapi',
    auth: 'none',
    scopes: [],
    summary: 'This OpenAPI 3.1 document',
    tag: 'system',
    response: OpenApiDocument,
  },
] as const satisfies readonly RouteSpec[];
