import { publicApiHandler } from '../../shared/api-handler.js';
import { container } from '../../shared/container.js';
import type { HealthResponse } from '../../shared/contracts/identity.js';
import { VERSION } from '../../shared/version.js';

/** GET /health: liveness only; it touches no dependency, so it cannot leak their state. */
export const handler = publicApiHandler(async () => {
  const body: HealthResponse = {
    status: 'ok',
    service: 'vaultpilot',
    version: VERSION,
    runtime: container().config.runtime,
    time: new Date().toISOString(),
  };
  return { body, headers: { 'Cache-Control': 'no-store' } };
});
