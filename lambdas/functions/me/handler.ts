import { apiHandler } from '../../shared/api-handler.js';
import type { MeResponse } from '../../shared/contracts/identity.js';

/** GET /me: who the caller is, as the API sees them (after token verification). */
export const handler = apiHandler(async ({ principal }) => {
  const body: MeResponse = {
    subject: principal.subject,
    kind: principal.kind,
    ...(principal.kind === 'user' ? { username: principal.username } : {}),
    tenant: principal.tenant,
    roles: [...principal.roles],
    scopes: [...principal.scopes],
    clientId: principal.clientId,
  };
  return { body };
});
