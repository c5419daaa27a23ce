/**
 * Alarms to one SNS topic: errors and throttles of every function, server errors of the API,
 * and anything landing in the engines' dead-letter queue.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { alertEventMetric, failedDeliveriesMetric } from './notifier.js';

export interface MonitoredFunction {
  /** A short name for the alarm, e.g. `MeHandler`. */
  readonly name: string;
  readonly function: IFunction;
}

export interface MonitoringStackProps extends StackProps {
  readonly stage: string;
  readonly functions: readonly MonitoredFunction[];
  readonly apiStage: Stage;
  readonly deadLetterQueue: IQueue;
  /** Rotation jobs that failed every retry (the rotation queue's dead-letter queue). */
  readonly rotationDeadLetterQueue?: IQueue;
  readonly alarmEmail?: string;
  /** Alert events whose delivery failed every retry; also turns on the notifier's alarms. */
  readonly notifierDeadLetterQueue?: IQueue;
}

export class MonitoringStack extends Stack {
  public readonly alarmTopic: Topic;
  public readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);

    // Not the AWS managed SNS key: its policy cannot let CloudWatch publish. The key protects
    // only notifications in flight, so it lives and goes with this stack.
    const topicKey = new Key(this, 'AlarmTopicKey', {
      alias: `alias/vaultpilot-${props.stage}-alarms`,
      description: `VaultPilot ${props.stage}: encrypts alarm notifications`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    topicKey.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');

    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: `VaultPilot ${props.stage} alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined)
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    const alarms: Alarm[] = [];
    const alarm = (id: string, metric: IMetric, description: string): void => {
      const created = new Alarm(this, id, {
        metric,
        alarmDescription: `VaultPilot ${props.stage}: ${description}`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(this.alarmTopic));
      alarms.push(created);
    };

    const period = Duration.minutes(5);
    for (const { name, function: fn } of props.functions) {
      alarm(
        `${name}Errors`,
        fn.metricErrors({ period, statistic: 'Sum' }),
        `${name} failed at least once in 5 minutes`,
      );
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period, statistic: 'Sum' }),
        `${name} was throttled at least once in 5 minutes`,
      );
    }
    alarm(
      'Api5xx',
      props.apiStage.metricServerError({ period, statistic: 'Sum' }),
      'the API answered 5XX at least once in 5 minutes',
    );
    alarm(
      'DeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      'an engine run or event delivery failed every retry and waits in the dead-letter queue',
    );
    if (props.rotationDeadLetterQueue !== undefined) {
      alarm(
        'RotationDeadLetters',
        props.rotationDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: 'Maximum',
        }),
        'a rotation job failed every retry and waits in the rotation dead-letter queue',
      );
    }
    if (props.notifierDeadLetterQueue !== undefined) {
      alarm(
        'NotifierDeadLetters',
        props.notifierDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: 'Maximum',
        }),
        'an alert event failed every delivery retry and waits in the notifier dead-letter queue',
      );
      alarm(
        'NotificationFailures',
        failedDeliveriesMetric(),
        'an alert could not be delivered to a channel (NotificationFailed, any channel kind) in 5 minutes',
      );
      alarm(
        'RotationFailed',
        alertEventMetric('rotation.failed'),
        'a rotation failed (rotation.failed) in the last 5 minutes',
      );
      alarm(
        'AuditIntegrityFailed',
        alertEventMetric('audit.integrity.failed'),
        'the audit chain failed its integrity check (audit.integrity.failed)',
      );
    }
    this.alarms = alarms;

    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }
}
