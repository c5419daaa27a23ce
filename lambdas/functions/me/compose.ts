/** GET /me composes only the token verifier its middleware uses. */
import { coldStart } from '../../platform/cold-start.js';
import { apiDependenciesWithoutEvents } from '../../platform/parts/api.js';
import { manifest } from './manifest.js';

export const me = coldStart(manifest, (start) => ({ api: apiDependenciesWithoutEvents(start) }));
