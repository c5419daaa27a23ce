import { apiHandler } from '../../shared/api-handler.js';
import { me } from './compose.js';
import { ME_ROUTES } from './routes.js';

/** GET /me: who the caller is, as the API sees them (after token verification). */
export const handler = apiHandler(ME_ROUTES, () => me().api, {
  getMe: async ({ principal }) => ({
    body: {
      subject: principal.subject,
      kind: principal.kind,
      ...(principal.kind === 'user' ? { username: principal.username } : {}),
      tenant: principal.tenant,
      roles: [...principal.roles],
      scopes: [...principal.scopes],
      clientId: principal.clientId,
    },
  }),
});
