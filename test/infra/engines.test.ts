import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_LIST } from '../../lambdas/shared/engines.js';
import { TABLE_SPECS } from '../../lambdas/shared/tables.js';
import { ENGINE_TABLES } from '../../lib/engines-stack.js';
import { createVaultPilotApp } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };

describe('EnginesStack', () => {
  let template: Template;

  beforeAll(() => {
    const { stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false });
    template = Template.fromStack(stacks.engines);
  });

  it.each(ENGINE_LIST.map((spec) => [spec.id, spec] as const))(
    'runs the %s engine on its schedule, with its timeout and memory',
    (_id, spec) => {
      const functions = template.findResources('AWS::Lambda::Function', {
        Properties: {
          Timeout: spec.timeoutSeconds,
          MemorySize: spec.memoryMb,
          Description: Match.stringLikeRegexp(`engine ${spec.id}:`),
        },
      });
      const [functionId] = Object.keys(functions);
      expect(functionId).toBeDefined();
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: spec.schedule,
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] } },
            RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 2 }),
          }),
        ],
      });
      const variables = Object.values(functions)[0]?.Properties.Environment.Variables as Record<
        string,
        unknown
      >;
      const tables = Object.keys(variables)
        .filter((name) => name.startsWith('VAULTPILOT_TABLE_'))
        .sort();
      expect(tables).toEqual(ENGINE_TABLES[spec.id].map((id) => TABLE_SPECS[id].envVar).sort());
    },
  );

  it('has one schedule rule per engine', () => {
    template.resourceCountIs('AWS::Events::Rule', ENGINE_LIST.length);
  });

  it('has the custom event bus for lifecycle events', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'vaultpilot-dev-events' });
  });

  it('keeps undeliverable and failed runs in an encrypted, TLS-only dead-letter queue', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.DeadLetterConfig).toEqual({
        TargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^DeadLetterQueue/), 'Arn'] },
      });
    }
  });

  it('lets the engines only read tables for now', () => {
    const actions = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
      .flatMap((statement) => [statement.Action].flat())
      .filter((action) => action.startsWith('dynamodb:'));
    expect(new Set(actions)).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DescribeTable',
      ]),
    );
  });
});
