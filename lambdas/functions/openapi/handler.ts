import { apiHandler } from '../../shared/api-handler.js';
import { openApiDocument } from '../../shared/openapi.js';
import { ROUTES } from '../index.js';
import { openapi } from './compose.js';
import { OPENAPI_ROUTES } from './routes.js';

/** GET /openapi.json: the OpenAPI 3.1 document generated from the route table and zod contracts. */
export const handler = apiHandler(OPENAPI_ROUTES, () => openapi().api, {
  getOpenApiDocument: async () => ({
    body: openApiDocument(ROUTES),
    headers: { 'Cache-Control': 'public, max-age=300' },
  }),
});
