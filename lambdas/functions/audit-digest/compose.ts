/** The digest engine: the chain and its sequencer (audit table), the digest signer, the audit sink, the bus. */
import { coldStart } from '../../platform/cold-start.js';
import { auditDigests, auditParts } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { manifest } from './manifest.js';

export const auditDigest = coldStart(manifest, (start) => {
  const parts = auditParts(start, documentClient(start));
  return { chain: parts.chain(), digests: auditDigests(start, parts).digests, sink: parts.sink() };
});
