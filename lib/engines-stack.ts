/**
 * The scheduled engines (lambdas/shared/engines.ts): one function and one EventBridge schedule
 * rule each, on the same expressions the local scheduler fires. Plus the `vaultpilot` event bus
 * on which the engines will publish lifecycle events, and one dead-letter queue that keeps what
 * could not be delivered or failed every retry.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENGINE_LIST, type EngineId, type EngineSpec } from '../lambdas/shared/engines.js';
import { constructId } from './construct-id.js';
import { EVENT_SOURCE } from '../lambdas/shared/events.js';
import { DISCOVERY_RUN_REQUESTED } from '../lambdas/shared/inventory-events.js';
import { MANIFESTS } from '../lambdas/functions/index.js';
import { type GrantContext, grantManifest } from './function-grants.js';
import type {
  DiscoverySettingsOfStage,
  RotationVpcSettings,
  SecretBackendSetting,
} from './stage-settings.js';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { ROTATION_WORKER } from '../lambdas/shared/engines.js';
import type { DataStores } from './table-access.js';
import { rotationWorkerNetwork } from './rotation-network.js';
import { VaultPilotFunction } from './vaultpilot-function.js';
import { Notifier } from './notifier.js';

export interface EnginesStackProps extends StackProps {
  readonly stage: string;
  readonly stores: DataStores;
  /** Where secret versions live; the rotation worker keeps values in the same store as the API. */
  readonly secretBackend?: SecretBackendSetting;
  /** Member-account roles discovery may assume, and the tenant of the deployment's own account. */
  readonly discovery?: DiscoverySettingsOfStage;
  /** Runs the rotation worker in these subnets, to reach databases in private subnets. */
  readonly rotationVpc?: RotationVpcSettings;
  /** Alerts: the From address (a verified SES identity) and the dashboard address for links. */
  readonly notify?: { readonly from: string; readonly dashboardUrl: string };
}

/** Used until `notifyFrom` names a verified SES identity; SES refuses it (the channel reports failing). */
export const DEFAULT_NOTIFY_FROM = 'VaultPilot <vaultpilot-alerts@example.com>';

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
  /** Delivers alerts from the bus (lib/notifier.ts). */
  public readonly notifier: Notifier;

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
    this.notifier = new Notifier(this, 'Notifier', {
      stage: props.stage,
      eventBus: props.stores.eventBus,
      grants: this.grantContext(props),
      dashboardUrl: props.notify?.dashboardUrl ?? 'https://localhost',
    });
  }

  private createEngine(spec: EngineSpec, props: EnginesStackProps): Engine {
    const fn = new VaultPilotFunction(this, constructId(spec.id, 'Engine'), {
      handler: MANIFESTS[spec.id].name,
      description: `VaultPilot ${props.stage} engine ${spec.id}: ${spec.description}`,
      stage: props.stage,
      timeout: Duration.seconds(spec.timeoutSeconds),
      memorySize: spec.memoryMb,
      // Lambda retries a failed asynchronous run twice, then keeps the event here.
      deadLetterQueue: this.deadLetterQueue,
    });
    grantManifest(fn, MANIFESTS[spec.id], this.grantContext(props));
    if (spec.id === 'discovery') this.runOnRequest(fn, props);
    // The digest links to the dashboard, like the notifier.
    if (spec.id === 'notifyDigest')
      fn.function.addEnvironment(
        'VAULTPILOT_DASHBOARD_URL',
        props.notify?.dashboardUrl ?? 'https://localhost',
      );

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
    const manifest = MANIFESTS.auditSequencer;
    const fn = new VaultPilotFunction(this, 'AuditSequencer', {
      handler: manifest.name,
      description: `VaultPilot ${props.stage}: ${manifest.description.replace(/^./, (c) => c.toLowerCase())}`,
      stage: props.stage,
      timeout: Duration.seconds(manifest.timeoutSeconds),
      memorySize: manifest.memoryMb,
      // Stream batches that fail go to the queue through the mapping's on-failure destination;
      // this catches the (unused) asynchronous invocations, as for every engine function.
      deadLetterQueue: this.deadLetterQueue,
    });
    grantManifest(fn, manifest, this.grantContext(props));
    const table = props.stores.tables.audit;
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
      handler: MANIFESTS.rotationWorker.name,
      description: `VaultPilot ${props.stage}: runs rotations, rollbacks and retirements from the rotation queue`,
      stage: props.stage,
      timeout: Duration.seconds(ROTATION_WORKER.timeoutSeconds),
      memorySize: ROTATION_WORKER.memoryMb,
      deadLetterQueue: this.deadLetterQueue,
      ...(props.rotationVpc === undefined ? {} : { network: rotationWorkerNetwork(this, props.rotationVpc) }),
    });
    grantManifest(fn, MANIFESTS.rotationWorker, this.grantContext(props));
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

  /** Discovery also runs when `POST /discovery/runs` puts a request on the bus. */
  private runOnRequest(fn: VaultPilotFunction, props: EnginesStackProps): void {
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

  private grantContext(props: EnginesStackProps): GrantContext {
    return {
      stage: props.stage,
      stores: props.stores,
      ...(props.secretBackend === undefined ? {} : { secretBackend: props.secretBackend }),
      ...(props.discovery === undefined ? {} : { discovery: props.discovery }),
      notifyFrom: props.notify?.from ?? DEFAULT_NOTIFY_FROM,
    };
  }
}
