/** The expiry check on demand: the expiry engine's parts, the audit sink and the API middleware's. */
import { ExpiryCheckRequests } from '../../core/notify/expiry-check-request.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { expiryCheckOf } from '../expiry-check/parts.js';
import { manifest } from './manifest.js';

export const expiryCheckApi = coldStart(manifest, (start) => {
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  return {
    api: apiDependencies(start, audit),
    requests: new ExpiryCheckRequests(expiryCheckOf(start, dynamodb), audit, systemClock),
  };
});
