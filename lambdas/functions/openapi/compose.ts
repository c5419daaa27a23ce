/** GET /openapi.json composes its middleware only; the document is built once, on first request. */
import { coldStart } from '../../platform/cold-start.js';
import { publicApiDependencies } from '../../platform/parts/api.js';
import { manifest } from './manifest.js';

export const openapi = coldStart(manifest, (start) => ({ api: publicApiDependencies(start) }));
