/** GET /health composes nothing but its middleware: no table, no client. */
import { coldStart } from '../../platform/cold-start.js';
import { publicApiDependencies } from '../../platform/parts/api.js';
import { manifest } from './manifest.js';

export const health = coldStart(manifest, (start) => ({
  api: publicApiDependencies(start),
  runtime: start.config.runtime,
}));
