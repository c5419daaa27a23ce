/**
 * Re-wrap of data keys: the secrets table's version items, the cipher with its keyring, the audit
 * sink. On the Secrets Manager backend there is nothing to re-wrap (no table, no key use), and
 * the function answers so.
 */
import { DynamoDbSecretStore } from '../../adapters/aws/dynamodb-secret-store.js';
import { ConflictError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import { DataKeyRewrap, RewrapAdministration } from '../../core/secrets/rewrap.js';
import { coldStart } from '../../platform/cold-start.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { envelopeCipher } from '../../platform/parts/secrets.js';
import { manifest } from './manifest.js';

export const admin = coldStart(manifest, (start) => {
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  const rewrap =
    start.config.secretBackend.kind === 'dynamodb'
      ? new RewrapAdministration(
          new DataKeyRewrap(
            new DynamoDbSecretStore(dynamodb, tableName(start.config, 'secrets')),
            envelopeCipher(start),
          ),
          audit,
          systemClock,
        )
      : undefined;
  return {
    api: apiDependencies(start, audit),
    rewrap: (): RewrapAdministration => {
      if (rewrap === undefined) {
        // Secrets Manager versions cannot be rewritten: see docs/secrets-manager-backend.md.
        throw new ConflictError(
          'Re-wrapping applies to the DynamoDB secret backend; this deployment keeps secrets in Secrets Manager, whose versions cannot be rewritten',
        );
      }
      return rewrap;
    },
  };
});
