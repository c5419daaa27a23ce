import { publicApiHandler } from '../../shared/api-handler.js';
import { openApiDocument } from '../../shared/openapi.js';

/** GET /openapi.json: the OpenAPI 3.1 document generated from the route table and zod contracts. */
export const handler = publicApiHandler(async () => ({
  body: openApiDocument(),
  headers: { 'Cache-Control': 'public, max-age=300' },
}));
