/** The policy admin API: the policy store (settings table) and the audit sink. */
import { PolicyAdministration } from '../../core/access/policy-admin.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { apiDependenciesWithoutEvents } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { policyStore } from '../../platform/parts/policies.js';
import { manifest } from './manifest.js';

export const policies = coldStart(manifest, (start) => {
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  return {
    api: apiDependenciesWithoutEvents(start, audit),
    administration: new PolicyAdministration(policyStore(start, dynamodb), audit, systemClock),
  };
});
