import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_LIST } from '../../lambdas/shared/engines.js';
import { ROUTES } from '../../lambdas/functions/index.js';
import { createVaultPilotApp } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };

describe('MonitoringStack', () => {
  let template: Template;

  beforeAll(() => {
    const { stacks } = createVaultPilotApp({
      context: { ...context, alarmEmail: 'oncall@example.com' },
      nagChecks: false,
      cloudFormationValidation: false,
    });
    template = Template.fromStack(stacks.monitoring);
  });

  // API handlers, engines, the token trigger, the audit sequencer and the rotation worker.
  const functionCount = new Set(ROUTES.map((route) => route.handler)).size + ENGINE_LIST.length + 3;

  it('has a KMS-encrypted, TLS-only alarm topic with the configured subscriber', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlarmTopicKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });

  it.each(['Errors', 'Throttles'])('alarms on %s of every function', (metricName) => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { Namespace: 'AWS/Lambda', MetricName: metricName },
    });
    expect(Object.keys(alarms)).toHaveLength(functionCount);
  });

  it('alarms on server errors of the API stage and on dead letters', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
  });

  it('notifies the topic from every alarm', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    // Plus API 5XX, engine dead letters and rotation dead letters, and the notifier's four
    // (its dead letters, failed deliveries, rotation.failed, audit.integrity.failed).
    expect(alarms).toHaveLength(functionCount * 2 + 3 + 4);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic/) }]);
    }
  });
});
