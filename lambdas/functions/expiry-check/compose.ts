/** The expiry engine composes nothing yet: its work arrives with the notifications. */
import { coldStart } from '../../platform/cold-start.js';
import { manifest } from './manifest.js';

export const expiryCheck = coldStart(manifest, () => ({}));
