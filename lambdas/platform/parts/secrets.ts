/** The secret store's parts: the envelope cipher and the store of the configured backend. */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbSecretStore } from '../../adapters/aws/dynamodb-secret-store.js';
import { SecretsManagerSecretStore } from '../../adapters/aws/secrets-manager-secret-store.js';
import { systemClock } from '../../core/ports.js';
import { DataKeyCache } from '../../core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../core/secrets/envelope.js';
import { SecretsService } from '../../core/secrets/kv-service.js';
import type { SecretStore } from '../../core/secrets/secret-store.js';
import type { ColdStart } from '../cold-start.js';
import { keyring } from '../index.js';
import { tableName } from './dynamodb.js';

export function envelopeCipher(start: ColdStart): EnvelopeCipher {
  const { config } = start;
  return new EnvelopeCipher(
    keyring(config),
    new DataKeyCache(
      // A max age of 0 turns the cache off: no entries (the age bound itself must be positive).
      config.dataKeyCache.maxAgeSeconds === 0
        ? { maxEntries: 0 }
        : { maxAgeMs: config.dataKeyCache.maxAgeSeconds * 1000, maxUses: config.dataKeyCache.maxUses },
    ),
  );
}

/** Secret versions in the secrets table, or one Secrets Manager secret per path (ADR 0003). */
export function secretStore(start: ColdStart, dynamodb: DynamoDBDocumentClient): SecretStore {
  const { config } = start;
  return config.secretBackend.kind === 'secretsmanager'
    ? new SecretsManagerSecretStore(new SecretsManagerClient({ region: config.region }), {
        namePrefix: config.secretBackend.secretsManagerPrefix,
      })
    : new DynamoDbSecretStore(dynamodb, tableName(config, 'secrets'));
}

export function secretsService(start: ColdStart, dynamodb: DynamoDBDocumentClient): SecretsService {
  return new SecretsService(secretStore(start, dynamodb), envelopeCipher(start), systemClock);
}
