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
import { DynamoDbAuditChainStore } from '../adapters/aws/dynamodb-audit-chain-store.js';
import { DynamoDbAuditEventQuery } from '../adapters/aws/dynamodb-audit-event-query.js';
import { DynamoDbAuditSettings } from '../adapters/aws/dynamodb-audit-settings.js';
import { DynamoDbAuditSink } from '../adapters/aws/dynamodb-audit-sink.js';
import { KmsDigestSigner } from '../adapters/aws/kms-digest-signer.js';
import { FileDigestSigner } from '../adapters/local/file-digest-signer.js';
import type { DigestSigner } from '../core/audit/audit-digest.js';
import { AuditDigestService } from '../core/audit/audit-digests.js';
import { AuditLog } from '../core/audit/audit-log.js';
import { AuditSequencer } from '../core/audit/audit-sequencer.js';
import type { AuditSink } from '../core/audit/audit-sink.js';
import type { AuditChainStore } from '../core/audit/audit-store.js';
import { ChainingAuditSink } from '../core/audit/chaining-sink.js';
import { AuditIdentifierHasher } from '../core/audit/identifier-hasher.js';
import { logger } from './observability.js';
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
import { AwsCloudSources } from '../adapters/aws/aws-cloud-sources.js';
import { DynamoDbCredentialStore } from '../adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoveryRunStore } from '../adapters/aws/dynamodb-discovery-run-store.js';
import { DynamoDbDiscoverySettingsStore } from '../adapters/aws/dynamodb-discovery-settings-store.js';
import { CredentialInventory } from '../core/credentials/inventory.js';
import { DiscoveryControl } from '../core/discovery/control.js';
import { DiscoveryEngine } from '../core/discovery/engine.js';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDbDueCredentials } from '../adapters/aws/dynamodb-due-credentials.js';
import {
  DynamoDbRotationPolicyStore,
  DynamoDbRotationStore,
} from '../adapters/aws/dynamodb-rotation-store.js';
import { LambdaRollbackRunner } from '../adapters/aws/lambda-rollback-runner.js';
import { SqsRotationQueue } from '../adapters/aws/sqs-rotation-queue.js';
import { localRollbackRunner } from '../adapters/local/in-process-rollback-runner.js';
import { localRotationQueue } from '../adapters/local/in-process-rotation-queue.js';
import { RotationEngine, type RotatorRegistry } from '../core/rotation/engine.js';
import { InventoryRotationTargets } from '../core/rotation/inventory-targets.js';
import { RotationAccess } from '../core/rotation/rotation-access.js';
import type { RollbackRunner } from '../core/rotation/rollback-runner.js';
import type { RotationQueue } from '../core/rotation/rotation-queue.js';
import { RotationScheduler } from '../core/rotation/scheduler.js';
import { createRotators } from '../rotators/index.js';

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
  /**
   * Where the API middleware records requests it refuses before any use case runs; undefined in
   * functions that have no audit table (the public and identity-only ones).
   */
  refusalAuditSink(): AuditSink | undefined;
  /** The chain, its sequencer and digests (audit table; the signer; settings for retention). */
  audit(): AuditServices;
  /** The audit API (audit and settings tables, the keyring for HMAC keys, the digest signer). */
  auditLog(): AuditLog;
  /** The credential inventory API (credentials, settings and audit tables; the event bus). */
  credentialInventory(): CredentialInventory;
  /** Discovery runs, settings and rules for the API (credentials, settings and audit tables; the bus). */
  discoveryControl(): DiscoveryControl;
  /** The discovery engine (credentials, settings, secrets and audit tables; read-only AWS APIs; the bus). */
  discoveryEngine(): DiscoveryEngine;
  /** Rotation: engine, API use cases, scheduler and queue (rotations, credentials, secrets, settings, audit). */
  rotation(): RotationServices;
}

export interface RotationServices {
  readonly engine: RotationEngine;
  readonly access: RotationAccess;
  readonly scheduler: RotationScheduler;
  readonly queue: RotationQueue;
}

export interface AuditServices {
  readonly chain: AuditChainStore;
  readonly sequencer: AuditSequencer;
  /** One per process: an in-memory local key must sign and verify with the same key. */
  readonly signer: DigestSigner;
  readonly digests: AuditDigestService;
  /** The sink this function records events with (chaining in-process locally). */
  readonly sink: AuditSink;
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

/**
 * One cipher per configuration (so per container): the secrets API and the rotation engine must
 * open each other's envelopes, which an in-memory local keyring only allows within one instance.
 */
const ciphers = new WeakMap<FunctionConfig, EnvelopeCipher>();

function buildCipher(config: FunctionConfig): EnvelopeCipher {
  const cached = ciphers.get(config);
  if (cached !== undefined) return cached;
  const cipher = newCipher(config);
  ciphers.set(config, cipher);
  return cipher;
}

function newCipher(config: FunctionConfig): EnvelopeCipher {
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

/** One audit sink per container, so the in-process sequencer sees every event of the process. */
const auditSinks = new WeakMap<DynamoDBDocumentClient, AuditSink>();

function buildAuditSink(config: FunctionConfig, dynamodb: DynamoDBDocumentClient): AuditSink {
  let sink = auditSinks.get(dynamodb);
  if (sink === undefined) {
    const durable = buildDurableAuditSink(config, dynamodb);
    // Locally the sequencer runs in-process right after each durable write; in AWS the audit
    // table's stream drives it (lambdas/handlers/audit-sequencer.ts).
    sink =
      config.runtime === 'local'
        ? new ChainingAuditSink(durable, buildAuditSequencer(config, dynamodb), (error, tenant) =>
            logger.warn('Audit chaining failed; the digest engine will catch up', {
              tenant,
              error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
            }),
          )
        : durable;
    auditSinks.set(dynamodb, sink);
  }
  return sink;
}

function buildDurableAuditSink(config: FunctionConfig, dynamodb: DynamoDBDocumentClient): DynamoDbAuditSink {
  return new DynamoDbAuditSink(dynamodb, requireTable(config, 'audit'), {
    retentionDays: config.auditRetentionDays,
    // Functions without the settings table keep every tenant's events for the default retention.
    ...(config.tables.settings === undefined ? {} : { settings: buildAuditSettings(config, dynamodb) }),
  });
}

/** One per container, so a retention change made here is seen at once by this process's sink. */
const auditSettings = new WeakMap<DynamoDBDocumentClient, DynamoDbAuditSettings>();

function buildAuditSettings(config: FunctionConfig, dynamodb: DynamoDBDocumentClient): DynamoDbAuditSettings {
  let settings = auditSettings.get(dynamodb);
  if (settings === undefined) {
    settings = new DynamoDbAuditSettings(dynamodb, requireTable(config, 'settings'), {
      defaultRetentionDays: config.auditRetentionDays,
    });
    auditSettings.set(dynamodb, settings);
  }
  return settings;
}

function buildAuditSequencer(config: FunctionConfig, dynamodb: DynamoDBDocumentClient): AuditSequencer {
  let publisher: EventPublisher | undefined;
  // Built on first publish, so a function that never chains needs no bus settings.
  const lazy: EventPublisher = {
    publish: (events) => (publisher ??= buildEventPublisher(config)).publish(events),
  };
  return new AuditSequencer(new DynamoDbAuditChainStore(dynamodb, requireTable(config, 'audit')), lazy);
}

function buildDigestSigner(config: FunctionConfig): DigestSigner {
  if (config.auditSigner.kind === 'local') return new FileDigestSigner({ dataDir: config.keyring.directory });
  const keyId = config.auditSigner.kmsKeyId;
  if (keyId === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  VAULTPILOT_AUDIT_SIGNING_KEY_ID: required when VAULTPILOT_AUDIT_SIGNER=kms',
      [
        {
          variable: 'VAULTPILOT_AUDIT_SIGNING_KEY_ID',
          expected: 'the ARN of the asymmetric key that signs digests',
        },
      ],
    );
  }
  return new KmsDigestSigner(new KMSClient({ region: config.region }), { keyId });
}

/** The largest export one Lambda response carries (6 MB, less headroom); none locally. */
const MAX_EXPORT_BYTES_IN_AWS = 5_500_000;

function buildAuditServices(config: FunctionConfig, dynamodb: DynamoDBDocumentClient): AuditServices {
  const chain = new DynamoDbAuditChainStore(dynamodb, requireTable(config, 'audit'));
  const sequencer = buildAuditSequencer(config, dynamodb);
  const signer = buildDigestSigner(config);
  let publisher: EventPublisher | undefined;
  const lazy: EventPublisher = {
    publish: (events) => (publisher ??= buildEventPublisher(config)).publish(events),
  };
  const digests = new AuditDigestService(chain, sequencer, signer, systemClock, lazy);
  return { chain, sequencer, signer, digests, sink: buildAuditSink(config, dynamodb) };
}

function buildAuditLog(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
  services: AuditServices,
): AuditLog {
  const settings = buildAuditSettings(config, dynamodb);
  return new AuditLog(
    {
      chain: services.chain,
      events: new DynamoDbAuditEventQuery(dynamodb, requireTable(config, 'audit')),
      settings,
      hasher: new AuditIdentifierHasher(buildKeyring(config), settings, { clock: systemClock }),
      signer: services.signer,
      digests: services.digests,
      sink: services.sink,
      clock: systemClock,
    },
    { maxExportBytes: config.runtime === 'aws' ? MAX_EXPORT_BYTES_IN_AWS : undefined },
  );
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

function buildCredentialStore(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
): DynamoDbCredentialStore {
  return new DynamoDbCredentialStore(dynamodb, requireTable(config, 'credentials'));
}

function buildDiscoverySettings(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
): DynamoDbDiscoverySettingsStore {
  return new DynamoDbDiscoverySettingsStore(dynamodb, requireTable(config, 'settings'));
}

function logLostEvents(error: unknown, events: readonly { type: string }[]): void {
  logger.warn('Lifecycle events could not be published', {
    types: [...new Set(events.map((event) => event.type))],
    count: events.length,
    error: error instanceof Error ? error.name : 'UnknownError',
  });
}

function buildCredentialInventory(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
  events: EventPublisher,
): CredentialInventory {
  const store = buildCredentialStore(config, dynamodb);
  // The registrar checks rotation fields of registrations; it never reports outcomes here.
  const registrar = new InventoryRotationTargets(
    store,
    async () => undefined,
    buildRotationPolicyStore(config, dynamodb),
    buildRotators(config),
  );
  return new CredentialInventory(
    store,
    buildDiscoverySettings(config, dynamodb),
    buildAuditSink(config, dynamodb),
    events,
    systemClock,
    { onEventsFailed: logLostEvents, rotation: registrar },
  );
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

function buildRotators(config: FunctionConfig): RotatorRegistry {
  // No endpoint or credentials of our own: the SDK's standard configuration applies
  // (credential chain, AWS_REGION, AWS_ENDPOINT_URL_IAM / _STS / _SECRETS_MANAGER). The rotator
  // retries throttling itself, hence one attempt per SDK call.
  return createRotators({
    iam: {
      iam: new IAMClient({ region: config.region, maxAttempts: 1 }),
      sts: (credentials) => new STSClient({ region: config.region, maxAttempts: 1, credentials }),
      secretsManager: {
        client: new SecretsManagerClient({ region: config.region, maxAttempts: 1 }),
        prefix: config.rotation.iamKeyCopyPrefix,
      },
    },
    sesSmtp: {
      defaultRegion: config.region,
      endpointTemplate: config.rotation.sesSmtpEndpoint,
      // Locally a credential may point its SMTP test at a server on this machine.
      allowedEndpointHosts: config.runtime === 'local' ? LOOPBACK_HOSTS : [],
    },
    // Locally a webhook receiver may listen on plain HTTP on this machine; in AWS only HTTPS.
    webhook: { allowHttpLoopback: config.runtime === 'local' },
    github: { allowHttpLoopback: config.runtime === 'local' },
  });
}

function buildRotationPolicyStore(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
): DynamoDbRotationPolicyStore {
  return new DynamoDbRotationPolicyStore(dynamodb, requireTable(config, 'settings'));
}

function buildRotationQueue(config: FunctionConfig): RotationQueue {
  if (config.runtime === 'local') return localRotationQueue;
  const url = config.rotation.queueUrl;
  if (url === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  VAULTPILOT_ROTATION_QUEUE_URL: required by this function',
      [{ variable: 'VAULTPILOT_ROTATION_QUEUE_URL', expected: 'the URL of the rotation SQS queue' }],
    );
  }
  return new SqsRotationQueue(new SQSClient({ region: config.region }), url);
}

function buildRollbackRunner(config: FunctionConfig): RollbackRunner {
  if (config.runtime === 'local') return localRollbackRunner;
  const worker = config.rotation.workerFunction;
  if (worker === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  VAULTPILOT_ROTATION_WORKER_FUNCTION: required by this function',
      [
        {
          variable: 'VAULTPILOT_ROTATION_WORKER_FUNCTION',
          expected: 'the rotation worker function name or ARN',
        },
      ],
    );
  }
  return new LambdaRollbackRunner(new LambdaClient({ region: config.region }), worker);
}

function buildRotation(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
  events: EventPublisher,
  inventory: () => CredentialInventory,
): RotationServices {
  const rotators = buildRotators(config);
  const policies = buildRotationPolicyStore(config, dynamodb);
  const credentials = buildCredentialStore(config, dynamodb);
  const store = new DynamoDbRotationStore(dynamodb, requireTable(config, 'rotations'));
  const targets = new InventoryRotationTargets(
    credentials,
    (tenant, id, update) => inventory().recordRotation(tenant, id, update),
    policies,
    rotators,
  );
  // Built on first use: the rotations API builds the engine only to start rotations (the worker
  // runs them), so it holds neither the secrets table nor the secrets key, and must not need them.
  let secrets: SecretsService | undefined;
  const secretsService = (): SecretsService =>
    (secrets ??= new SecretsService(
      config.secretBackend.kind === 'secretsmanager'
        ? new SecretsManagerSecretStore(new SecretsManagerClient({ region: config.region }), {
            namePrefix: config.secretBackend.secretsManagerPrefix,
          })
        : new DynamoDbSecretStore(dynamodb, requireTable(config, 'secrets')),
      buildCipher(config),
      systemClock,
    ));
  const audit = buildAuditSink(config, dynamodb);
  const engine = new RotationEngine(store, targets, rotators, secretsService, audit, events, systemClock, {
    onEventsFailed: logLostEvents,
  });
  const queue: RotationQueue = {
    // Built on first send, so functions that never queue need no queue settings.
    send: (jobs) => buildRotationQueue(config).send(jobs),
  };
  const refreshDueTimes = async (tenant: string): Promise<void> => {
    for (const credential of await credentials.list(tenant)) {
      if (credential.rotation === undefined) continue;
      const due = await targets.nextDue(credential);
      if (due !== credential.rotation.dueAt) {
        await inventory().recordRotation(tenant, credential.id, {
          rotationState: credential.rotationState,
          dueAt: due,
        });
      }
    }
  };
  return {
    engine,
    access: new RotationAccess(
      engine,
      store,
      policies,
      queue,
      // Built on first rollback, so functions that never roll back need no worker setting.
      { rollback: (key, requestedBy) => buildRollbackRunner(config).rollback(key, requestedBy) },
      audit,
      systemClock,
      targets,
      refreshDueTimes,
    ),
    scheduler: new RotationScheduler(
      new DynamoDbDueCredentials(dynamodb, requireTable(config, 'credentials')),
      store,
      () => credentials.tenants(),
      queue,
    ),
    queue,
  };
}

function buildDiscoveryControl(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
  events: EventPublisher,
): DiscoveryControl {
  return new DiscoveryControl(
    new DynamoDbDiscoveryRunStore(dynamodb, requireTable(config, 'credentials')),
    buildDiscoverySettings(config, dynamodb),
    buildCredentialStore(config, dynamodb),
    buildAuditSink(config, dynamodb),
    events,
    systemClock,
  );
}

/** Secrets Manager and SSM allow more than IAM; this ceiling per region stays well inside both. */
const DISCOVERY_REGIONAL_RATE = 20;

function buildDiscoveryEngine(
  config: FunctionConfig,
  dynamodb: DynamoDBDocumentClient,
  events: EventPublisher,
): DiscoveryEngine {
  return new DiscoveryEngine(
    {
      credentials: buildCredentialStore(config, dynamodb),
      runs: new DynamoDbDiscoveryRunStore(dynamodb, requireTable(config, 'credentials')),
      settings: buildDiscoverySettings(config, dynamodb),
      cloud: new AwsCloudSources({
        region: config.region,
        defaultRegions: config.discovery.regions,
        ambientTenant: config.discovery.ambientTenant,
        iamRatePerSecond: config.discovery.iamRatePerSecond,
        regionalRatePerSecond: DISCOVERY_REGIONAL_RATE,
        concurrency: config.discovery.concurrency,
      }),
      // With the Secrets Manager backend, the store's secrets are discovered as Secrets Manager secrets.
      storedSecrets:
        config.secretBackend.kind === 'dynamodb' && config.tables.secrets !== undefined
          ? new DynamoDbSecretStore(dynamodb, config.tables.secrets)
          : undefined,
      audit: buildAuditSink(config, dynamodb),
      events,
      clock: systemClock,
    },
    { ambientTenant: config.discovery.ambientTenant },
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
    let inventory: CredentialInventory | undefined;
    let discoveryControl: DiscoveryControl | undefined;
    let discoveryEngine: DiscoveryEngine | undefined;
    let rotation: RotationServices | undefined;
    // Built on first publish, so reading the inventory needs no bus settings.
    const lazyEvents: EventPublisher = {
      publish: (batch) => (events ??= buildEventPublisher(config)).publish(batch),
    };
    let rewrap: RewrapAdministration | undefined;
    let audit: AuditServices | undefined;
    let auditLog: AuditLog | undefined;
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
      refusalAuditSink: () =>
        config.tables.audit === undefined ? undefined : buildAuditSink(config, dynamodb),
      audit: () => (audit ??= buildAuditServices(config, dynamodb)),
      auditLog: () =>
        (auditLog ??= buildAuditLog(config, dynamodb, (audit ??= buildAuditServices(config, dynamodb)))),
      credentialInventory: () => (inventory ??= buildCredentialInventory(config, dynamodb, lazyEvents)),
      discoveryControl: () => (discoveryControl ??= buildDiscoveryControl(config, dynamodb, lazyEvents)),
      discoveryEngine: () => (discoveryEngine ??= buildDiscoveryEngine(config, dynamodb, lazyEvents)),
      rotation: () =>
        (rotation ??= buildRotation(
          config,
          dynamodb,
          lazyEvents,
          () => (inventory ??= buildCredentialInventory(config, dynamodb, lazyEvents)),
        )),
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
