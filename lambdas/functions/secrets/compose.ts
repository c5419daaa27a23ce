/**
 * The secret store API: the guarded store (secrets table or Secrets Manager, the envelope cipher
 * with its keyring, path policies from settings) and the audit sink its use cases and refusals
 * record with.
 */
import { systemClock } from '../../core/ports.js';
import { SecretAccess } from '../../core/secrets/secret-access.js';
import { coldStart } from '../../platform/cold-start.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { policyStore } from '../../platform/parts/policies.js';
import { secretsService } from '../../platform/parts/secrets.js';
import { manifest } from './manifest.js';

export const secrets = coldStart(manifest, (start) => {
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  return {
    api: apiDependencies(start, audit),
    // Exposed for the secrets benchmark, which counts the calls this function makes.
    dynamodb,
    config: start.config,
    access: new SecretAccess(
      secretsService(start, dynamodb),
      policyStore(start, dynamodb),
      audit,
      systemClock,
    ),
  };
});
