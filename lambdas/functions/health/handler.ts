import { apiHandler } from '../../shared/api-handler.js';
import { VERSION } from '../../shared/version.js';
import { health } from './compose.js';
import { HEALTH_ROUTES } from './routes.js';

/** GET /health: liveness only; it touches no dependency, so it cannot leak their state. */
export const handler = apiHandler(HEALTH_ROUTES, () => health().api, {
  getHealth: async () => ({
    body: {
      status: 'ok' as const,
      service: 'vaultpilot' as const,
      version: VERSION,
      runtime: health().runtime,
      time: new Date().toISOString(),
    },
    headers: { 'Cache-Control': 'no-store' },
  }),
});
