/**
 * The notifier (lambdas/functions/notifier): one function, one EventBridge rule on VaultPilot's
 * bus for the event types of its manifest, and its own dead-letter queue. Delivery is retried at
 * two levels: EventBridge retries invoking the function (throttling, an unavailable service), and
 * Lambda retries a failed asynchronous invocation twice with backoff (the handler fails while a
 * channel is still to be retried); what fails all of that lands in the dead-letter queue, which
 * an alarm watches. Idempotency per (event id, channel) makes every redelivery safe.
 */
import { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MANIFESTS } from '../lambdas/functions/index.js';
import { EVENT_SOURCE } from '../lambdas/shared/events.js';
import { type GrantContext, grantManifest } from './function-grants.js';
import { VaultPilotFunction } from './vaultpilot-function.js';

export interface NotifierProps {
  readonly stage: string;
  readonly eventBus: IEventBus;
  readonly grants: GrantContext;
  /** The dashboard's address, for links in messages. */
  readonly dashboardUrl: string;
}

/** Channel kinds the notifier counts `NotificationSent` / `NotificationFailed` for. */
export const NOTIFY_CHANNEL_KINDS = ['email', 'slack', 'sns', 'webhook'] as const;

export class Notifier extends Construct {
  public readonly function: VaultPilotFunction;
  public readonly rule: Rule;
  /** Events whose delivery failed every retry (Lambda's on-failure queue and the rule's). */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: NotifierProps) {
    super(scope, id);
    const manifest = MANIFESTS.notifier;
    if (manifest.trigger.kind !== 'bus') throw new Error('The notifier is triggered by bus events');

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      // SQS-managed encryption: EventBridge cannot send to a queue under the AWS managed SQS KMS key.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.function = new VaultPilotFunction(this, 'Handler', {
      handler: manifest.name,
      description: `VaultPilot ${props.stage}: ${manifest.description.replace(/^./, (c) => c.toLowerCase())}`,
      stage: props.stage,
      timeout: Duration.seconds(manifest.timeoutSeconds),
      memorySize: manifest.memoryMb,
      deadLetterQueue: this.deadLetterQueue,
      environment: { VAULTPILOT_DASHBOARD_URL: props.dashboardUrl },
    });
    // Lambda's asynchronous retries (about 1 and 2 minutes later) give a throttled channel time.
    this.function.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
    grantManifest(this.function, manifest, props.grants);

    this.rule = new Rule(this, 'Rule', {
      description: `VaultPilot ${props.stage}: delivers alerts for ${manifest.trigger.eventTypes.length} event types`,
      eventBus: props.eventBus,
      eventPattern: { source: [EVENT_SOURCE], detailType: [...manifest.trigger.eventTypes] },
      targets: [
        new LambdaFunction(this.function.function, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 20,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });
  }
}

const period = Duration.minutes(5);

/** Deliveries that failed (for good, or to be retried), every channel kind summed. */
export function failedDeliveriesMetric(): MathExpression {
  return new MathExpression({
    expression: 'SUM(METRICS())',
    label: 'Failed notification deliveries',
    period,
    usingMetrics: Object.fromEntries(
      NOTIFY_CHANNEL_KINDS.map((kind) => [
        kind,
        new Metric({
          namespace: 'VaultPilot',
          metricName: 'NotificationFailed',
          dimensionsMap: { service: 'vaultpilot', channelKind: kind },
          statistic: 'Sum',
          period,
        }),
      ]),
    ),
  });
}

/** Events of one type the notifier received (`AlertEvent`, counted by the notifier). */
export function alertEventMetric(eventType: string): Metric {
  return new Metric({
    namespace: 'VaultPilot',
    metricName: 'AlertEvent',
    dimensionsMap: { service: 'vaultpilot', eventType },
    statistic: 'Sum',
    period,
  });
}
