import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_LIST } from '../../lambdas/shared/engines.js';
import { TABLE_SPECS, type TableId } from '../../lambdas/shared/tables.js';
import { MANIFESTS } from '../../lambdas/functions/index.js';
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
      const granted = new Set(Object.keys(MANIFESTS[spec.id].tables) as TableId[]);
      expect(tables).toEqual([...granted].map((id) => TABLE_SPECS[id].envVar).sort());
    },
  );

  it('has one schedule rule per engine', () => {
    const schedules = template.findResources('AWS::Events::Rule', {
      Properties: { ScheduleExpression: Match.anyValue() },
    });
    expect(Object.keys(schedules)).toHaveLength(ENGINE_LIST.length);
  });

  it('runs discovery hourly and whenever a run is requested on the event bus', () => {
    expect(ENGINE_LIST.find((spec) => spec.id === 'discovery')?.schedule).toBe('rate(1 hour)');
    const [discoveryId] = Object.keys(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('engine discovery:') },
      }),
    );
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { 'Fn::ImportValue': Match.stringLikeRegexp('Stateful') },
      EventPattern: { source: ['vaultpilot'], 'detail-type': ['discovery.run.requested'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [discoveryId, 'Arn'] } })],
    });
  });

  it("creates no event bus of its own: lifecycle events go to the stateful stack's bus", () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
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
        // The notifier keeps its own (lib/notifier.ts), which its alarm tells apart.
        TargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^(Notifier)?DeadLetterQueue/), 'Arn'] },
      });
    }
  });

  it('lets no engine scan a table (a scan crosses tenants) or hold wildcard DynamoDB actions', () => {
    const actions = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
      .flatMap((statement) => [statement.Action].flat())
      .filter((action) => action.startsWith('dynamodb:'));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
    expect(actions.filter((action) => action === 'dynamodb:Scan' || action.includes('*'))).toEqual([]);
  });

  describe('the discovery engine', () => {
    type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown };
    let statements: Statement[];

    beforeAll(() => {
      const [functionId, fn] = Object.entries(
        template.findResources('AWS::Lambda::Function', {
          Properties: { Description: Match.stringLikeRegexp('engine discovery:') },
        }),
      )[0] ?? [undefined, undefined];
      expect(functionId).toBeDefined();
      const roleId = (fn?.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      statements = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
    });

    const actions = (): string[] => statements.flatMap((statement) => [statement.Action].flat());

    it('may only list and read metadata in AWS: IAM, Secrets Manager, SSM', () => {
      const aws = actions().filter((action) => /^(iam|secretsmanager|ssm|sts):/.test(action));
      expect(aws.sort()).toEqual([
        'iam:GetAccessKeyLastUsed',
        'iam:GetAccountSummary',
        'iam:ListAccessKeys',
        'iam:ListUsers',
        'secretsmanager:ListSecrets',
        'ssm:DescribeParameters',
        'sts:AssumeRole',
      ]);
      // Never a value: no GetSecretValue, GetParameter(s) or BatchGetSecretValue, no wildcards.
      expect(actions().filter((action) => /GetSecretValue|GetParameter|\*/.test(action))).toEqual([]);
      expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
    });

    it('reads access keys of its own account only, and assumes only the member-account roles', () => {
      const keys = statements.find((statement) => [statement.Action].flat().includes('iam:ListAccessKeys'));
      expect(JSON.stringify(keys?.Resource)).toContain('AWS::AccountId');
      expect(JSON.stringify(keys?.Resource)).toContain(':user/*');
      const assume = statements.filter((statement) => [statement.Action].flat().includes('sts:AssumeRole'));
      expect(assume).toHaveLength(1);
      expect(JSON.stringify(assume[0]?.Resource)).toContain(':role/VaultPilotDiscoveryReadOnly');
    });

    it('writes credentials and audit events with conditional puts, and may publish events', () => {
      const writes = actions().filter((action) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(action));
      expect([...new Set(writes)]).toEqual(['dynamodb:PutItem']);
      expect(actions()).toContain('events:PutEvents');
    });
  });
});
