/** GET /health composes nothing but its middleware: no table, no client. */
import { coldStart } from '../../platform/cold-start.js';
import { apiDependenciesWithoutEvents } from '../../platform/parts/api.js';
import { manifest } from './manifest.js';

export const health = coldStart(manifest, (start) => ({
  api: apiDependenciesWithoutEvents(start),
  runtime: start.config.runtime,
}));
