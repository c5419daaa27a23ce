/**
 * The one place that builds clients and adapters. Created once per process (module scope, so a
 * warm Lambda reuses it) from the validated configuration; tests and the local runtime reset it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CognitoTokenVerifier } from '../adapters/aws/cognito-token-verifier.js';
import { LocalTokenVerifier } from '../adapters/local/local-token-verifier.js';
import { DynamoDbMachineClientDirectory } from '../adapters/aws/dynamodb-machine-client-directory.js';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher.js';
import { localEventBus } from '../adapters/local/in-process-event-bus.js';
import type { EventPublisher } from '../core/events.js';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecretStore } from '../adapters/aws/secrets-manager-secret-store.js';
import { DynamoDbAuditSink } from '../adapters/aws/dynamodb-audit-sink.js';
import { DynamoDbPolicyStore } from '../adapters/aws/dynamodb-policy-store.js';
import { DynamoDbSecretStore } from '../adapters/aws/dynamodb-secret-store.js';
import { KmsKeyring } from '../adapters/aws/kms-keyring.js';
import { FileKeyring } from '../adapters/local/file-keyring.js';
import { PolicyAdministration } from '../core/access/policy-admin.js';
import { type MachineClientDirectory, systemClock, type TokenVerifier } from '../core/ports.js';
import { DataKeyCache } from '../core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../core/secrets/envelope.js';
import type { Keyring } from '../core/secrets/keyring.js';
import { SecretsService } from '../core/secrets/kv-service.js';
import { SecretAccess } from '../core/secrets/secret-access.js';
import { DataKeyRewrap, RewrapAdministration } from '../core/secrets/rewrap.js';
import { ConflictError } from '../core/errors.js';
import {
  type AuthConfig,
  ConfigError,
  functionConfig,
  type FunctionConfig,
  requireAuthConfig,
  resetFunctionConfig,
} from './config.js';
import { EVENT_SOURCE, eventBridgeDetail, validatingPublisher } from './events.js';
import { TABLE_SPECS, type TableId } from './tables.js';

export interface Container {
  readonly config: FunctionConfig;
  /** Built on first use, so functions that verify no tokens need no auth settings. */
  tokenVerifier(): TokenVerifier;
  /** The app client ids users sign in through (ID tokens and user access tokens). */
  userClientIds(): readonly string[];
  readonly dynamodb: DynamoDBDocumentClient;
  /** Needs the settings table; only the pre-token-generation trigger uses it. */
  machineClients(): MachineClientDirectory;
  /** The guarded secret store (secrets, settings and audit tables, and the keyring). */
  secretAccess(): SecretAccess;
  /** Policy management (settings and audit tables). */
  policyAdministration(): PolicyAdministration;
  /** Re-wrapping data keys under the current key (secrets and audit tables, the keyring). */
  rewrapAdministration(): RewrapAdministration;
  /** Lifecycle events: EventBridge in AWS, the in-process bus locally; checked against their schemas. */
  events(): EventPublisher;
}

function buildKeyring(config: FunctionConfig): Keyring {
  if (config.keyring.kind === 'local') return new FileKeyring({ dataDir: config.keyring.directory });
  const keyId = config.keyring.kmsKeyId;
  if (keyId === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  VAULTPILOT_KMS_KEY_ID: required when VAULTPILOT_KEYRING=kms',
      [{ variable: 'VAULTPILOT_KMS_KEY_ID', expected: 'the ARN of the key that wraps data keys' }],
    );
  }
  return new KmsKeyring(new KMSClient({ region: config.region }), { keyId });
}

function buildCipher(config: FunctionConfig): EnvelopeCipher {
  return new EnvelopeCipher(
    buildKeyring(config),
    new DataKeyCache(
      // A max age of 0 turns the cache off: no entries (the age bound itself must be positive).
      config.dataKeyCache.maxAgeSeconds === 0
        ? { maxEntries: 0 }
        : { maxAgeMs: config.dataKeyCache.maxAgeSeconds * 1000, maxUses: config.dataKeyCache.maxUses },
    ),
  );
}

function buildRewrapAdministration(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
): RewrapAdministration {
  if (config.secretBackend.kind !== 'dynamodb') {
    // Secrets Manager versions cannot be rewritten: see docs/secrets-manager-backend.md.
    throw new ConflictError(
      'Re-wrapping applies to the DynamoDB secret backend; this deployment keeps secrets in Secrets Manager, whose versions cannot be rewritten',
    );
  }
  return new RewrapAdministration(
    new DataKeyRewrap(
      new DynamoDbSecretStore(dynamodb, requireTable(config, 'secrets')),
      buildCipher(config),
    ),
    buildAuditSink(config, dynamodb),
    systemClock,
  );
}

function buildSecretAccess(config: FunctionConfig, dynamodb: DynamoDBDocumentClient): SecretAccess {
  const cipher = buildCipher(config);
  const store =
    config.secretBackend.kind === 'secretsmanager'
      ? new SecretsManagerSecretStore(new SecretsManagerClient({ region: config.region }), {
          namePrefix: config.secretBackend.secretsManagerPrefix,
        })
      : new DynamoDbSecretStore(dynamodb, requireTable(config, 'secrets'));
  const secrets = new SecretsService(store, cipher, systemClock);
  return new SecretAccess(
    secrets,
    buildPolicyStore(config, dynamodb),
    buildAuditSink(config, dynamodb),
    systemClock,
  );
}

function buildPolicyStore(config: FunctionConfig, dynamodb: DynamoDBDocumentClient): DynamoDbPolicyStore {
  return new DynamoDbPolicyStore(dynamodb, requireTable(config, 'settings'));
}

function buildAuditSink(config: FunctionConfig, dynamodb: DynamoDBDocumentClient): DynamoDbAuditSink {
  return new DynamoDbAuditSink(dynamodb, requireTable(config, 'audit'), {
    retentionDays: config.auditRetentionDays,
  });
}

function buildEventPublisher(config: FunctionConfig): EventPublisher {
  if (config.runtime === 'local') return validatingPublisher(localEventBus);
  const busName = config.eventBusName;
  if (busName === undefined) {
    throw new ConfigError('Invalid configuration:\n  VAULTPILOT_EVENT_BUS_NAME: required by this function', [
      { variable: 'VAULTPILOT_EVENT_BUS_NAME', expected: 'the name or ARN of the EventBridge bus' },
    ]);
  }
  return validatingPublisher(
    new EventBridgePublisher(new EventBridgeClient({ region: config.region }), {
      busName,
      source: EVENT_SOURCE,
      detail: eventBridgeDetail,
    }),
  );
}

function buildDynamoDb(config: FunctionConfig): DynamoDBDocumentClient {
  const client = new DynamoDBClient(
    config.dynamodbEndpoint === undefined
      ? { region: config.region }
      : {
          region: config.region,
          endpoint: config.dynamodbEndpoint,
          // dynalite ignores signatures; fixed credentials keep real ones off loopback traffic.
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        },
  );
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

function buildTokenVerifier(auth: AuthConfig): TokenVerifier {
  return auth.mode === 'cognito'
    ? new CognitoTokenVerifier(auth.userPoolId)
    : new LocalTokenVerifier(auth.issuer, auth.jwksUri);
}

function requireTable(config: FunctionConfig, id: TableId): string {
  const name = config.tables[id];
  if (name === undefined) {
    throw new ConfigError(`Invalid configuration:\n  ${TABLE_SPECS[id].envVar}: required by this function`, [
      { variable: TABLE_SPECS[id].envVar, expected: 'the physical table name' },
    ]);
  }
  return name;
}

let current: Container | undefined;

export function container(): Container {
  if (current === undefined) {
    const config = functionConfig();
    const dynamodb = buildDynamoDb(config);
    let verifier: TokenVerifier | undefined;
    let secretAccess: SecretAccess | undefined;
    let policyAdministration: PolicyAdministration | undefined;
    let events: EventPublisher | undefined;
    let rewrap: RewrapAdministration | undefined;
    current = {
      config,
      tokenVerifier: () => (verifier ??= buildTokenVerifier(requireAuthConfig(config))),
      userClientIds: () => requireAuthConfig(config).userClientIds,
      dynamodb,
      machineClients: () => new DynamoDbMachineClientDirectory(dynamodb, requireTable(config, 'settings')),
      secretAccess: () => (secretAccess ??= buildSecretAccess(config, dynamodb)),
      policyAdministration: () =>
        (policyAdministration ??= new PolicyAdministration(
          buildPolicyStore(config, dynamodb),
          buildAuditSink(config, dynamodb),
          systemClock,
        )),
      events: () => (events ??= buildEventPublisher(config)),
      rewrapAdministration: () => (rewrap ??= buildRewrapAdministration(config, dynamodb)),
    };
  }
  return current;
}

/** Drops the container and configuration, so the next call reads the environment again. */
export function resetContainer(): void {
  current?.dynamodb.destroy();
  current = undefined;
  resetFunctionConfig();
}
