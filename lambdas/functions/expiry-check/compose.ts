/** The expiry engine: the expiry check's parts (./parts.ts) on the function's own client. */
import { coldStart } from '../../platform/cold-start.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { manifest } from './manifest.js';
import { expiryCheckOf } from './parts.js';

export const expiryCheck = coldStart(manifest, (start) => ({
  check: expiryCheckOf(start, documentClient(start)),
}));
