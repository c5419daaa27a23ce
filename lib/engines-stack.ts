/**
 * The scheduled engines (lambdas/shared/engines.ts): one function and one EventBridge schedule
 * rule each, on the same expressions the local scheduler fires. Plus the `vaultpilot` event bus
 * on which the engines will publish lifecycle events, and one dead-letter queue that keeps what
 * could not be delivered or failed every retry.
 */
import { Aws, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENGINE_LIST, type EngineId, type EngineSpec } from '../lambdas/shared/engines.js';
import type { TableId } from '../lambdas/shared/tables.js';
import { constructId } from './construct-id.js';
import { EVENT_SOURCE } from '../lambdas/shared/events.js';
import { DISCOVERY_RUN_REQUESTED } from '../lambdas/shared/inventory-events.js';
import { grantDiscoveryAccess } from './discovery-access.js';
import {
  DISCOVERY_MEMBER_ROLE_NAME,
  type DiscoverySettingsOfStage,
  type RotationVpcSettings,
  type SecretBackendSetting,
} from './stage-settings.js';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { ROTATION_WORKER } from '../lambdas/shared/engines.js';
import { defaultIamKeyCopyPrefix } from '../lambdas/shared/config.js';
import {
  grantIamKeyCopies,
  grantIamKeyManagement,
  grantRotationQueueSend,
  grantSecretSealing,
  managementTagFrom,
} from './rotation-access.js';
import { grantSecretsManagerStore } from './secrets-manager-access.js';
import { grantAuditSigning, grantAuditStreamRead } from './audit-access.js';
import { type DataStores, grantEventPublishing } from './table-access.js';
import { rotationWorkerNetwork } from './rotation-network.js';
import { VaultPilotFunction } from './vaultpilot-function.js';

/**
 * Tables each engine may read; typed over the engine ids, so a new engine must declare them.
 * Read-only for now: the engines do no work yet, and writes arrive with the issues that need them.
 */
export const ENGINE_TABLES: Readonly<Record<EngineId, readonly TableId[]>> = {
  // Secret metadata items of VaultPilot's store (not their envelopes' keys: no secrets-key grant).
  discovery: ['credentials', 'settings', 'secrets'],
  // The due index of the inventory, the tenant list, and the retirement index of rotations.
  rotationScheduler: ['credentials', 'settings', 'rotations'],
  auditDigest: ['audit', 'settings'],
  expiryCheck: ['credentials', 'settings'],
};

/**
 * Writes each engine makes, per table (on top of `ENGINE_TABLES` reads). The audit digest engine
 * appends caught-up events to the chain and puts digests: conditional PutItem, never an update.
 */
export const ENGINE_WRITES: Readonly<Record<EngineId, Partial<Record<TableId, readonly string[]>>>> = {
  // Conditional puts of credentials, their history and run records; audit events.
  discovery: { credentials: ['dynamodb:PutItem'], audit: ['dynamodb:PutItem', 'dynamodb:GetItem'] },
  rotationScheduler: {},
  auditDigest: { audit: ['dynamodb:PutItem', 'dynamodb:GetItem'] },
  expiryCheck: {},
};

export interface EnginesStackProps extends StackProps {
  readonly stage: string;
  readonly stores: DataStores;
  /** Where secret versions live; the rotation worker keeps values in the same store as the API. */
  readonly secretBackend?: SecretBackendSetting;
  /** Member-account roles discovery may assume, and the tenant of the deployment's own account. */
  readonly discovery?: DiscoverySettingsOfStage;
  /** Runs the rotation worker in these subnets, to reach databases in private subnets. */
  readonly rotationVpc?: RotationVpcSettings;
}

export interface Engine {
  readonly spec: EngineSpec;
  readonly function: VaultPilotFunction;
  readonly rule: Rule;
}

export class EnginesStack extends Stack {
  public readonly deadLetterQueue: Queue;
  public readonly engines: ReadonlyMap<EngineId, Engine>;
  /** Chains recorded audit events from the audit table's stream (ADR 0004). */
  public readonly auditSequencer: VaultPilotFunction;
  /** Runs rotation jobs from the rotation queue (ADR 0006). */
  public readonly rotationWorker: VaultPilotFunction;

  constructor(scope: Construct, id: string, props: EnginesStackProps) {
    super(scope, id, props);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      // SQS-managed encryption: EventBridge cannot send to a queue under the AWS managed SQS KMS key.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const engines = new Map<EngineId, Engine>();
    for (const spec of ENGINE_LIST) engines.set(spec.id, this.createEngine(spec, props));
    this.engines = engines;
    this.auditSequencer = this.createAuditSequencer(props);
    this.rotationWorker = this.createRotationWorker(props);
  }

  private createEngine(spec: EngineSpec, props: EnginesStackProps): Engine {
    const fn = new VaultPilotFunction(this, constructId(spec.id, 'Engine'), {
      handler: spec.handler,
      description: `VaultPilot ${props.stage} engine ${spec.id}: ${spec.description}`,
      stage: props.stage,
      timeout: Duration.seconds(spec.timeoutSeconds),
      memorySize: spec.memoryMb,
      // Lambda retries a failed asynchronous run twice, then keeps the event here.
      deadLetterQueue: this.deadLetterQueue,
    });
    fn.grantTableReads(props.stores, ENGINE_TABLES[spec.id]);
    for (const [table, actions] of Object.entries(ENGINE_WRITES[spec.id]) as [TableId, string[]][]) {
      fn.grantTableActions(props.stores, table, actions);
    }
    if (spec.id === 'auditDigest') {
      grantAuditSigning(fn, props.stores.auditSigningKey, { sign: true });
      this.grantPublishing(fn, props);
    }
    if (spec.id === 'discovery') this.equipDiscovery(fn, props);
    if (spec.id === 'rotationScheduler') grantRotationQueueSend(fn, props.stores);

    const rule = new Rule(this, constructId(spec.id, 'Schedule'), {
      description: `VaultPilot ${props.stage}: runs the ${spec.id} engine (${spec.schedule})`,
      schedule: Schedule.expression(spec.schedule),
      targets: [
        new LambdaFunction(fn.function, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          // A run that could not start within an hour is stale; the next schedule will do it.
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
    return { spec, function: fn, rule };
  }

  /**
   * The sequencer: the audit table's stream, filtered to newly recorded event items (only they
   * carry `actorKey`), in batches per shard, one batch at a time per shard so a tenant's events
   * arrive in order. A failing tenant is retried from its first record a few times within
   * minutes; then the batch's coordinates go to the dead-letter queue, and the hourly digest
   * engine's catch-up chains its events, so one poisoned chain cannot hold the others back long.
   */
  private createAuditSequencer(props: EnginesStackProps): VaultPilotFunction {
    const fn = new VaultPilotFunction(this, 'AuditSequencer', {
      handler: 'audit-sequencer',
      description: `VaultPilot ${props.stage}: appends recorded audit events to their tenant's hash chain`,
      stage: props.stage,
      timeout: Duration.seconds(60),
      memorySize: 256,
      // Stream batches that fail go to the queue through the mapping's on-failure destination;
      // this catches the (unused) asynchronous invocations, as for every engine function.
      deadLetterQueue: this.deadLetterQueue,
    });
    fn.grantTableReads(props.stores, ['audit']);
    fn.grantTableActions(props.stores, 'audit', ['dynamodb:PutItem']);
    this.grantPublishing(fn, props);
    const table = props.stores.tables.audit;
    grantAuditStreamRead(fn, table, props.stores.tableKey);
    const streamArn = table.tableStreamArn;
    if (streamArn === undefined) throw new Error('The audit table has no stream');
    fn.function.addEventSourceMapping('AuditStream', {
      eventSourceArn: streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      parallelizationFactor: 1,
      retryAttempts: 5,
      maxRecordAge: Duration.minutes(15),
      bisectBatchOnError: false,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.deadLetterQueue),
      filters: [
        FilterCriteria.filter({
          // aws-cdk-lib types both rules as `any`; they render `["INSERT"]` and `[{ "exists": true }]`.
          eventName: FilterRule.isEqual('INSERT') as unknown,
          dynamodb: { NewImage: { actorKey: { S: FilterRule.exists() as unknown } } },
        }),
      ],
    });
    return fn;
  }

  /**
   * The rotation worker: an SQS event source on the rotation queue, batches of up to ten with
   * partial batch failure reporting (only failed jobs come back), at most `maxConcurrency`
   * batches at once across the account. It seals and opens secret values, manages IAM keys of
   * (tagged) users, publishes rotation events and writes rotation and credential state. The
   * rotations API invokes it directly for explicit rollbacks. It runs in a VPC when the stage
   * sets one (lib/rotation-network.ts).
   */
  private createRotationWorker(props: EnginesStackProps): VaultPilotFunction {
    const fn = new VaultPilotFunction(this, 'RotationWorker', {
      handler: ROTATION_WORKER.handler,
      description: `VaultPilot ${props.stage}: runs rotations, rollbacks and retirements from the rotation queue`,
      stage: props.stage,
      timeout: Duration.seconds(ROTATION_WORKER.timeoutSeconds),
      memorySize: ROTATION_WORKER.memoryMb,
      deadLetterQueue: this.deadLetterQueue,
      ...(props.rotationVpc === undefined ? {} : { network: rotationWorkerNetwork(this, props.rotationVpc) }),
    });
    const backend = props.secretBackend ?? { kind: 'dynamodb' as const };
    const tables: TableId[] = [
      'rotations',
      'credentials',
      'settings',
      ...(backend.kind === 'dynamodb' ? ['secrets' as const] : []),
    ];
    fn.grantTableReads(props.stores, tables);
    fn.grantTableActions(props.stores, 'rotations', ['dynamodb:PutItem', 'dynamodb:DeleteItem']);
    fn.grantTableActions(props.stores, 'credentials', ['dynamodb:PutItem']);
    if (backend.kind === 'dynamodb') {
      fn.grantTableActions(props.stores, 'secrets', [
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
      ]);
    } else {
      grantSecretsManagerStore(fn, backend.prefix);
    }
    fn.grantTableActions(props.stores, 'audit', ['dynamodb:PutItem', 'dynamodb:GetItem']);
    fn.function.addEnvironment('VAULTPILOT_SECRET_BACKEND', backend.kind);
    grantSecretSealing(fn, props.stores.secretsKey);
    grantIamKeyManagement(fn, managementTagFrom(this.node));
    const copyPrefix = defaultIamKeyCopyPrefix(props.stage);
    // Separate name spaces: the store's grant must not cover the copies, nor a tenant name one.
    if (
      backend.kind === 'secretsmanager' &&
      (copyPrefix.startsWith(backend.prefix) || backend.prefix.startsWith(copyPrefix))
    ) {
      throw new Error(
        `Context "secretsManagerPrefix" (${backend.prefix}) overlaps ${copyPrefix}, where the Secrets Manager copies of IAM keys live; choose another prefix`,
      );
    }
    grantIamKeyCopies(fn, copyPrefix);
    this.grantPublishing(fn, props);
    fn.function.addEventSource(
      new SqsEventSource(props.stores.rotationQueue, {
        batchSize: ROTATION_WORKER.batchSize,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
        maxConcurrency: ROTATION_WORKER.maxConcurrency,
      }),
    );
    return fn;
  }

  /**
   * Discovery reads AWS (its own account, and member accounts through their roles), publishes
   * inventory events, and also runs when `POST /discovery/runs` puts a request on the bus.
   */
  private equipDiscovery(fn: VaultPilotFunction, props: EnginesStackProps): void {
    const discovery = props.discovery ?? {
      roleArns: [`arn:${Aws.PARTITION}:iam::*:role/${DISCOVERY_MEMBER_ROLE_NAME}`],
      ambientTenant: 'default',
    };
    grantDiscoveryAccess(fn, fn, discovery.roleArns);
    fn.function.addEnvironment('VAULTPILOT_DISCOVERY_AMBIENT_TENANT', discovery.ambientTenant);
    this.grantPublishing(fn, props);
    new Rule(this, 'DiscoveryRunRequested', {
      description: `VaultPilot ${props.stage}: runs the discovery engine when a run is requested`,
      eventBus: props.stores.eventBus,
      eventPattern: { source: [EVENT_SOURCE], detailType: [DISCOVERY_RUN_REQUESTED] },
      targets: [
        new LambdaFunction(fn.function, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
  }

  private grantPublishing(fn: VaultPilotFunction, props: EnginesStackProps): void {
    for (const [name, value] of Object.entries(grantEventPublishing(fn.function, props.stores))) {
      fn.function.addEnvironment(name, value);
    }
  }
}
