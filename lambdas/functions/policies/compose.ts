/** The policy admin API: the policy store (settings table) and the audit sink. */
import { DynamoDbPolicyStore } from '../../adapters/aws/dynamodb-policy-store.js';
import { PolicyAdministration } from '../../core/access/policy-admin.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { apiDependenciesWithoutEvents } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { manifest } from './manifest.js';

export const policies = coldStart(manifest, (start) => {
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  return {
    api: apiDependenciesWithoutEvents(start, audit),
    administration: new PolicyAdministration(
      new DynamoDbPolicyStore(dynamodb, tableName(start.config, 'settings')),
      audit,
      systemClock,
    ),
  };
});
