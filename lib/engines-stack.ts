/**
 * The scheduled engines (lambdas/shared/engines.ts): one function and one EventBridge schedule
 * rule each, on the same expressions the local scheduler fires. Plus the `vaultpilot` event bus
 * on which the engines will publish lifecycle events, and one dead-letter queue that keeps what
 * could not be delivered or failed every retry.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENGINE_LIST, type EngineId, type EngineSpec } from '../lambdas/shared/engines.js';
import type { TableId } from '../lambdas/shared/tables.js';
import { constructId } from './construct-id.js';
import type { DataStores } from './table-access.js';
import { VaultPilotFunction } from './vaultpilot-function.js';

/**
 * Tables each engine may read; typed over the engine ids, so a new engine must declare them.
 * Read-only for now: the engines do no work yet, and writes arrive with the issues that need them.
 */
export const ENGINE_TABLES: Readonly<Record<EngineId, readonly TableId[]>> = {
  discovery: ['credentials', 'settings'],
  rotationScheduler: ['credentials', 'settings'],
  auditDigest: ['audit', 'settings'],
  expiryCheck: ['credentials', 'settings'],
};

export interface EnginesStackProps extends StackProps {
  readonly stage: string;
  readonly stores: DataStores;
}

export interface Engine {
  readonly spec: EngineSpec;
  readonly function: VaultPilotFunction;
  readonly rule: Rule;
}

export class EnginesStack extends Stack {
  public readonly eventBus: EventBus;
  public readonly deadLetterQueue: Queue;
  public readonly engines: ReadonlyMap<EngineId, Engine>;

  constructor(scope: Construct, id: string, props: EnginesStackProps) {
    super(scope, id, props);

    this.eventBus = new EventBus(this, 'EventBus', { eventBusName: `vaultpilot-${props.stage}-events` });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      // SQS-managed encryption: EventBridge cannot send to a queue under the AWS managed SQS KMS key.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const engines = new Map<EngineId, Engine>();
    for (const spec of ENGINE_LIST) engines.set(spec.id, this.createEngine(spec, props));
    this.engines = engines;

    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName });
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
}
