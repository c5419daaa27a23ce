/**
 * The rotation parts of the synthesized templates: the queue with its dead-letter queue and the
 * alarm on it, the worker's SQS event source (partial batch failures, bounded concurrency), and
 * least-privilege IAM: access-key management on users only, limited to tagged users when the
 * deployment names a management tag, and queue sends only where jobs are sent.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROTATION_WORKER } from '../../lambdas/shared/engines.js';
import { ADOPTED_SECRET_ACTIONS, ADOPTED_SECRET_TAG } from '../../lib/rotation-access.js';
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

  it("gives the rotations API API Gateway's 29 s, so a submission's deadline leaves the worker time to commit", () => {
    templates.api.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 29,
      Description: Match.stringLikeRegexp('submitRotation'),
    });
  });

  it('grants access-key management on IAM users only, and only these actions', () => {
    for (const template of [templates.engines]) {
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
    for (const template of [tagged.engines]) {
      expect(statementsWith(template, 'iam:CreateAccessKey').length).toBeGreaterThan(0);
      for (const statement of statementsWith(template, 'iam:CreateAccessKey')) {
        expect(statement.Condition).toEqual({
          StringEquals: { 'aws:ResourceTag/vaultpilot:managed': 'true' },
        });
      }
    }
    expect(() => synth({ iamManagementTag: 'bad tag!' })).toThrow(/iamManagementTag/);
  });

  it('runs explicit rollbacks in the worker: the rotations API may only invoke it, and holds no provider rights or secrets key', () => {
    const api = templates.api;
    const functions = api.findResources('AWS::Lambda::Function');
    const [rotationsId, rotations] =
      Object.entries(functions).find(([id]) => id.startsWith('RotationsHandler')) ?? [];
    expect(rotationsId).toBeDefined();
    const variables = rotations?.Properties.Environment.Variables as Record<string, unknown>;
    expect(JSON.stringify(variables.VAULTPILOT_ROTATION_WORKER_FUNCTION)).toMatch(/RotationWorker/);
    // The API stack's policies: only the rotations function's role may invoke, and only the worker.
    const invokes = statementsWith(api, 'lambda:InvokeFunction');
    expect(invokes).toHaveLength(1);
    expect(JSON.stringify(invokes[0]?.Resource)).toMatch(/RotationWorker/);
    const rotationsPolicies = Object.values(api.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('RotationsHandler'),
    );
    expect(rotationsPolicies.length).toBeGreaterThan(0);
    const statements = rotationsPolicies.flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Record<string, unknown>[],
    );
    const actions = statements.flatMap((statement) => ([] as string[]).concat(statement.Action as string[]));
    expect(actions.filter((action) => action.startsWith('iam:'))).toEqual([]);
    expect(actions.filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
    // KMS only for reading the encrypted tables through DynamoDB, never the secrets key itself.
    for (const statement of statements.filter((s) => JSON.stringify(s.Action).includes('kms:'))) {
      expect(JSON.stringify(statement.Condition)).toContain('kms:ViaService');
      expect(JSON.stringify(statement.Resource)).not.toMatch(/SecretsKey/);
    }
    expect(JSON.stringify(rotationsPolicies)).not.toMatch(/SecretsTable/);
    expect(statementsWith(templates.engines, 'iam:UpdateAccessKey').length).toBeGreaterThan(0);
  });

  it('places the worker in the given subnets when the stage sets a VPC, with only the network-interface rights Lambda needs', () => {
    expect(templates.engines.findResources('AWS::EC2::SecurityGroup')).toEqual({});
    const worker = () =>
      Object.entries(placed.engines.findResources('AWS::Lambda::Function')).find(([id]) =>
        id.startsWith('RotationWorker'),
      )?.[1];
    const placed = synth({
      rotationVpcId: 'vpc-0123456789abcdef0',
      rotationSubnetIds: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
    });
    const config = worker()?.Properties.VpcConfig as { SubnetIds: unknown; SecurityGroupIds: unknown[] };
    expect(config.SubnetIds).toEqual(['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb']);
    expect(config.SecurityGroupIds).toHaveLength(1);
    placed.engines.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: 'vpc-0123456789abcdef0',
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0' })],
    });
    expect(placed.engines.findResources('AWS::EC2::SecurityGroupIngress')).toEqual({});
    placed.engines.hasOutput('RotationWorkerSecurityGroupId', {});
    const eni = statementsWith(placed.engines, 'ec2:CreateNetworkInterface');
    expect(eni).toHaveLength(1);
    // No other function of the stack runs in the VPC or may manage interfaces.
    const inVpc = Object.entries(placed.engines.findResources('AWS::Lambda::Function')).filter(
      ([, fn]) => fn.Properties.VpcConfig !== undefined,
    );
    expect(inVpc.map(([id]) => id.replace(/[A-F0-9]{8}$/, ''))).toEqual(['RotationWorkerFunction']);

    const given = synth({
      rotationVpcId: 'vpc-0123456789abcdef0',
      rotationSubnetIds: ['subnet-0aaaaaaaaaaaaaaaa'],
      rotationSecurityGroupIds: 'sg-0123456789abcdef0',
    });
    const givenWorker = Object.entries(given.engines.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('RotationWorker'),
    )?.[1];
    expect(givenWorker?.Properties.VpcConfig.SecurityGroupIds).toEqual(['sg-0123456789abcdef0']);
    expect(given.engines.findResources('AWS::EC2::SecurityGroup')).toEqual({});

    expect(() => synth({ rotationVpcId: 'vpc-0123456789abcdef0' })).toThrow(/rotationSubnetIds/);
    expect(() => synth({ rotationSubnetIds: 'subnet-0aaaaaaaaaaaaaaaa' })).toThrow(/rotationVpcId/);
    expect(() => synth({ rotationVpcId: 'my-vpc', rotationSubnetIds: 'subnet-0aaaaaaaaaaaaaaaa' })).toThrow(
      /rotationVpcId/,
    );
    expect(() =>
      synth({ rotationVpcId: 'vpc-0123456789abcdef0', rotationSubnetIds: 'subnet-0aaaaaaaaaaaaaaaa,nope' }),
    ).toThrow(/rotationSubnetIds/);
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

  it('lets only the worker rotate adopted Secrets Manager secrets, only those tagged vaultpilot:managed=true', () => {
    const all = Object.values(templates);
    const rotating = all.flatMap((template) =>
      statementsWith(template, 'secretsmanager:UpdateSecretVersionStage'),
    );
    expect(rotating).toHaveLength(1);
    expect([...(rotating[0]?.Action as string[])].sort()).toEqual([...ADOPTED_SECRET_ACTIONS].sort());
    expect(rotating[0]?.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/vaultpilot:managed': 'true' },
    });
    expect(JSON.stringify(rotating[0]?.Resource)).toMatch(/:secretsmanager:\*:.*:secret:\*"/);
    expect(all.flatMap((template) => statementsWith(template, 'secretsmanager:RotateSecret'))).toHaveLength(
      1,
    );
    const [policyId] = Object.entries(templates.engines.findResources('AWS::IAM::Policy')).find(
      ([, policy]) =>
        JSON.stringify(policy.Properties.PolicyDocument).includes('secretsmanager:UpdateSecretVersionStage'),
    ) ?? [''];
    expect(policyId).toMatch(/^RotationWorkerAdoptedSecrets/);
    // Nothing may tag a secret into that reach except the IAM key copies' writer, under its prefix.
    const taggers = all.flatMap((template) => statementsWith(template, 'secretsmanager:TagResource'));
    expect(taggers).toHaveLength(1);
    expect(JSON.stringify(taggers[0]?.Resource)).toMatch(/vaultpilot-iam-keys/);
  });

  it('lets only the worker write the IAM key copies, with exactly their calls, only under their prefix', () => {
    const copyCalls = [
      'secretsmanager:CreateSecret',
      'secretsmanager:DescribeSecret',
      'secretsmanager:PutResourcePolicy',
      'secretsmanager:PutSecretValue',
      'secretsmanager:TagResource',
    ];
    const all = Object.values(templates);
    const writers = all.flatMap((template) => statementsWith(template, 'secretsmanager:PutResourcePolicy'));
    expect(writers).toHaveLength(1);
    expect([...(writers[0]?.Action as string[])].sort()).toEqual(copyCalls);
    expect(JSON.stringify(writers[0]?.Resource)).toMatch(/:secret:vaultpilot-iam-keys\/dev\/\*"/);
    const [policyId] = Object.entries(templates.engines.findResources('AWS::IAM::Policy')).find(
      ([, policy]) =>
        JSON.stringify(policy.Properties.PolicyDocument).includes('secretsmanager:PutResourcePolicy'),
    ) ?? [''];
    expect(policyId).toMatch(/^RotationWorkerIamKeyCopies/);
    // With the default secret store nothing else may create, write or tag a secret, nor read a copy
    // (adopted secrets, tagged vaultpilot:managed=true by their owners, are the next test's).
    const untagged = (statements: Record<string, unknown>[]) =>
      statements.filter(
        (statement) => !JSON.stringify(statement.Condition ?? {}).includes(ADOPTED_SECRET_TAG),
      );
    for (const action of copyCalls.filter((call) => call !== 'secretsmanager:DescribeSecret')) {
      expect(untagged(all.flatMap((template) => statementsWith(template, action))), action).toHaveLength(1);
    }
    expect(
      untagged(all.flatMap((template) => statementsWith(template, 'secretsmanager:GetSecretValue'))),
    ).toEqual([]);
    const worker = Object.entries(templates.engines.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('RotationWorker'),
    )?.[1];
    expect(worker?.Properties.Environment.Variables.VAULTPILOT_IAM_KEY_COPY_PREFIX).toBe(
      'vaultpilot-iam-keys/dev/',
    );

    // The Secrets Manager store's grant never covers the copies, and a prefix that would is refused.
    const store = synth({ secretBackend: 'secretsmanager' });
    const storeStatements = [store.engines, store.api].flatMap((template) =>
      statementsWith(template, 'secretsmanager:DeleteSecret'),
    );
    expect(storeStatements.length).toBeGreaterThan(0);
    expect(JSON.stringify(storeStatements)).not.toContain('iam-keys');
    expect(statementsWith(store.engines, 'secretsmanager:PutResourcePolicy')).toHaveLength(1);
    expect(() =>
      synth({ secretBackend: 'secretsmanager', secretsManagerPrefix: 'vaultpilot-iam-keys/' }),
    ).toThrow(/overlaps vaultpilot-iam-keys\/dev\//);
  });
});
