/**
 * The rotation parts of the synthesized templates: the queue with its dead-letter queue and the
 * alarm on it, the worker's SQS event source (partial batch failures, bounded concurrency), and
 * least-privilege IAM: access-key management on users only, limited to tagged users when the
 * deployment names a management tag, and queue sends only where jobs are sent.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROTATION_WORKER } from '../../lambdas/shared/engines.js';
import { createVaultPilotApp } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };

function synth(extra: Record<string, unknown> = {}) {
  const { stacks } = createVaultPilotApp({
    context: { ...context, ...extra },
    nagChecks: false,
    cloudFormationValidation: false,
  });
  return {
    stateful: Template.fromStack(stacks.stateful),
    engines: Template.fromStack(stacks.engines),
    api: Template.fromStack(stacks.api),
    monitoring: Template.fromStack(stacks.monitoring),
  };
}

function statementsWith(template: Template, action: string): Record<string, unknown>[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]).filter((statement) =>
      ([] as unknown[]).concat(statement.Action).includes(action),
    ),
  );
}

describe('rotation infrastructure', () => {
  let templates: ReturnType<typeof synth>;

  beforeAll(() => {
    templates = synth();
  });

  it('has a rotation queue that hands failed jobs to a dead-letter queue after five receives', () => {
    templates.stateful.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 6 * ROTATION_WORKER.timeoutSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RotationDeadLetterQueue'), 'Arn'] },
        maxReceiveCount: 5,
      },
      SqsManagedSseEnabled: true,
    });
  });

  it('alarms when a rotation job reaches the dead-letter queue', () => {
    templates.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('rotation job failed every retry'),
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopic') }],
    });
  });

  it('runs the worker from the queue with partial batch failures and bounded concurrency', () => {
    templates.engines.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: ROTATION_WORKER.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: ROTATION_WORKER.maxConcurrency },
    });
    templates.engines.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: ROTATION_WORKER.timeoutSeconds,
      Description: Match.stringLikeRegexp('runs rotations'),
      Environment: { Variables: Match.objectLike({ VAULTPILOT_TABLE_ROTATIONS: Match.anyValue() }) },
    });
  });

  it('grants access-key management on IAM users only, and only these actions', () => {
    for (const template of [templates.engines, templates.api]) {
      const statements = statementsWith(template, 'iam:CreateAccessKey');
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        expect([...(statement.Action as string[])].sort()).toEqual([
          'iam:CreateAccessKey',
          'iam:DeleteAccessKey',
          'iam:GetAccessKeyLastUsed',
          'iam:ListAccessKeys',
          'iam:UpdateAccessKey',
        ]);
        expect(JSON.stringify(statement.Resource)).toContain(':user/*');
        expect(statement.Condition).toBeUndefined();
      }
    }
  });

  it('limits key management to users with the management tag when one is set', () => {
    const tagged = synth({ iamManagementTag: 'vaultpilot:managed=true' });
    for (const template of [tagged.engines, tagged.api]) {
      for (const statement of statementsWith(template, 'iam:CreateAccessKey')) {
        expect(statement.Condition).toEqual({
          StringEquals: { 'aws:ResourceTag/vaultpilot:managed': 'true' },
        });
      }
    }
    expect(() => synth({ iamManagementTag: 'bad tag!' })).toThrow(/iamManagementTag/);
  });

  it('lets only the scheduler and the rotations API send jobs, and nothing scan a table', () => {
    const sendsJobs = (template: Template) =>
      statementsWith(template, 'sqs:SendMessage').filter((statement) =>
        /RotationQueue(?!.*DeadLetter)/.test(JSON.stringify(statement.Resource)),
      ).length;
    expect(sendsJobs(templates.engines) + sendsJobs(templates.api)).toBe(2);
    for (const template of [templates.engines, templates.api]) {
      expect(statementsWith(template, 'dynamodb:Scan')).toEqual([]);
    }
  });
});
