/**
 * The audit API: the chain, its events and digests (audit table), retention and HMAC keys
 * (settings table, keys wrapped by the keyring), the digest signer, the bus for chain events.
 */
import { coldStart } from '../../platform/cold-start.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditLog, auditParts } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { manifest } from './manifest.js';

export const audit = coldStart(manifest, (start) => {
  const dynamodb = documentClient(start);
  const parts = auditParts(start, dynamodb);
  return { api: apiDependencies(start, parts.sink()), log: auditLog(start, dynamodb, parts) };
});
