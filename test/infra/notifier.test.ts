/**
 * The notifier in CDK: an EventBridge rule on VaultPilot's bus for exactly its manifest's event
 * types, retries at both levels, its own encrypted dead-letter queue, the least-privilege
 * sending grants, and the alarms on its queue, its failures and the business events.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MANIFESTS } from '../../lambdas/functions/index.js';
import { EVENT_SOURCE } from '../../lambdas/shared/events.js';
import { createVaultPilotApp } from '../../lib/vaultpilot-app.js';

const context = {
  'aws:cdk:bundling-stacks': [],
  notifyFrom: 'VaultPilot <alerts@example.org>',
};

describe('Notifier (EnginesStack, MonitoringStack)', () => {
  let engines: Template;
  let monitoring: Template;
  let notifierFunctionId: string;

  beforeAll(() => {
    const { stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false });
    engines = Template.fromStack(stacks.engines);
    monitoring = Template.fromStack(stacks.monitoring);
    const functions = engines.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('delivers alerts to email') },
    });
    notifierFunctionId = Object.keys(functions)[0] ?? '';
  });

  it('subscribes the notifier to its event types on the VaultPilot bus, with retries and a dead-letter queue', () => {
    // Prepare
    const trigger = MANIFESTS.notifier.trigger;

    // Act
    const rules = engines.findResources('AWS::Events::Rule', {
      Properties: { EventPattern: { source: [EVENT_SOURCE], 'detail-type': Match.anyValue() } },
    });
    const rule = Object.values(rules).find((candidate) =>
      JSON.stringify(candidate).includes(notifierFunctionId),
    );

    // Assess
    expect(notifierFunctionId).not.toBe('');
    expect(rule?.Properties.EventPattern['detail-type']).toEqual([...trigger.eventTypes]);
    expect(rule?.Properties.EventBusName).toBeDefined();
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [notifierFunctionId, 'Arn'] },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/^NotifierDeadLetterQueue/), 'Arn'] },
        },
        RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 21_600 },
      }),
    ]);
    engines.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: notifierFunctionId },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21_600,
    });
    engines.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('delivers alerts'),
      DeadLetterConfig: {
        TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NotifierDeadLetterQueue'), 'Arn'] },
      },
      Environment: {
        Variables: Match.objectLike({ VAULTPILOT_NOTIFY_FROM: 'VaultPilot <alerts@example.org>' }),
      },
    });
  });

  it('keeps dead letters encrypted, over TLS only, for 14 days', () => {
    // Act
    const queues = engines.findResources('AWS::SQS::Queue');
    const queue = Object.entries(queues).find(([id]) => id.startsWith('NotifierDeadLetterQueue'))?.[1];

    // Assess
    expect(queue?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    engines.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('sends email only from the configured address, and uses topic keys only through SNS (notifier and digest)', () => {
    // Act
    const policies = Object.values(engines.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy).includes('ses:SendEmail'),
    );

    // Assess: the notifier's role and the digest engine's, and no other.
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      const statements = policy.Properties.PolicyDocument.Statement as Record<string, unknown>[];
      expect(statements.find((s) => s.Sid === 'SendAlertEmail')).toMatchObject({
        Action: 'ses:SendEmail',
        Condition: { StringEquals: { 'ses:FromAddress': 'alerts@example.org' } },
      });
      expect(statements.find((s) => s.Sid === 'PublishAlertTopics')).toMatchObject({ Action: 'sns:Publish' });
      expect(statements.find((s) => s.Sid === 'EncryptedAlertTopics')).toMatchObject({
        Condition: { StringLike: { 'kms:ViaService': 'sns.*.amazonaws.com' } },
      });
      const actions = statements.flatMap((s) => [s.Action].flat());
      expect(actions.filter((action) => String(action).startsWith('sns:'))).toEqual(['sns:Publish']);
      expect(actions.filter((action) => String(action).startsWith('ses:'))).toEqual(['ses:SendEmail']);
    }
  });

  it('alarms on the dead-letter queue, on failed deliveries, and on rotation and audit integrity failures', () => {
    // Act
    const alarms = Object.values(monitoring.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties as Record<string, unknown>,
    );
    const described = (text: string) => alarms.find((alarm) => String(alarm.AlarmDescription).includes(text));

    // Assess
    expect(described('notifier dead-letter queue')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
    const failures = described('could not be delivered');
    expect(JSON.stringify(failures?.Metrics)).toContain('SUM(METRICS())');
    for (const kind of ['email', 'slack', 'sns', 'webhook'])
      expect(JSON.stringify(failures?.Metrics)).toContain(`"Value":"${kind}"`);
    expect(described('(rotation.failed)')).toMatchObject({
      MetricName: 'AlertEvent',
      Namespace: 'VaultPilot',
      Dimensions: expect.arrayContaining([{ Name: 'eventType', Value: 'rotation.failed' }]),
    });
    expect(described('(audit.integrity.failed)')).toMatchObject({
      MetricName: 'AlertEvent',
      Dimensions: expect.arrayContaining([{ Name: 'eventType', Value: 'audit.integrity.failed' }]),
    });
    for (const alarm of alarms) expect(alarm.AlarmActions).toHaveLength(1);
  });
});
