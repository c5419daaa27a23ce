import { readFileSync } from 'node:fs';
import { type App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { StageSettingsError } from '../../lib/stage-settings.js';
import { allStacks, createVaultPilotApp, type VaultPilotStacks } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };
const secretsManager = { ...context, secretBackend: 'secretsmanager' };
const ADR = readFileSync(new URL('../../docs/adr/0002-cdk-stacks.md', import.meta.url), 'utf8');
const ADAPTER = readFileSync(
  new URL('../../lambdas/adapters/aws/secrets-manager-secret-store.ts', import.meta.url),
  'utf8',
);

/** What the adapter calls, taken from the AWS API reference of each command it sends. */
const STORE_ACTIONS = [
  'secretsmanager:CreateSecret',
  'secretsmanager:DeleteSecret',
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  // CreateSecret with Tags also needs TagResource.
  'secretsmanager:TagResource',
  'secretsmanager:UpdateSecretVersionStage',
];

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
  Sid?: string;
};

/** The discovery engine's metadata listing (ADR 0005): ListSecrets and no other Secrets Manager call. */
const DISCOVERY_LISTING_SID = 'ListAccountCredentials';
const isSecretsManager = (action: string): boolean => action.toLowerCase().startsWith('secretsmanager:');
type CfnResource = { Type: string; Properties: Record<string, any> };

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<prefix>*` as CDK renders it. */
function prefixArn(prefix: string): unknown {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':secretsmanager:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:secret:${prefix}*`,
      ],
    ],
  };
}

function actionsOf(statement: Statement): string[] {
  return [statement.Action].flat();
}

/** Every Allow statement of the IAM policies attached to one role of a template. */
function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
    .filter((statement) => statement.Effect === 'Allow');
}

/** Every Allow statement in every policy of every stack. */
function allStatements(stacks: VaultPilotStacks): Statement[] {
  return allStacks(stacks).flatMap((stack) =>
    Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => statement.Effect === 'Allow'),
  );
}

function secretsFunction(stacks: VaultPilotStacks): {
  template: Template;
  roleId: string;
  variables: Record<string, unknown>;
} {
  const fn = stacks.api.handlers.get('secrets');
  if (fn === undefined) throw new Error('No secrets handler');
  const template = Template.fromStack(stacks.api);
  const roleId = stacks.api.getLogicalId(fn.role.node.defaultChild as CfnRole);
  const functionId = stacks.api.getLogicalId(fn.function.node.defaultChild as CfnFunction);
  const resource = template.toJSON().Resources[functionId] as CfnResource;
  return { template, roleId, variables: resource.Properties.Environment.Variables };
}

function synthesize(extra: Record<string, unknown>): VaultPilotStacks {
  return createVaultPilotApp({
    context: { ...context, ...extra },
    nagChecks: false,
    cloudFormationValidation: false,
  }).stacks;
}

describe('secret store backend: dynamodb (default)', () => {
  let stacks: VaultPilotStacks;

  beforeAll(() => {
    stacks = synthesize({});
  });

  it('grants no Secrets Manager action to any function, but secret listing to discovery, IAM key copies and tagged adopted secrets to the worker', () => {
    const statements = allStatements(stacks);
    // The rotation worker's copies of IAM keys (ADR 0006), on their own prefix only.
    const isKeyCopyGrant = (statement: Statement): boolean =>
      JSON.stringify(statement.Resource).includes(':secret:vaultpilot-iam-keys/dev/*');
    // Adopted secrets (secrets-manager-secret): only those their owners tagged vaultpilot:managed=true.
    const isAdoptedGrant = (statement: Statement): boolean =>
      JSON.stringify(statement.Condition ?? {}) ===
      JSON.stringify({ StringEquals: { 'aws:ResourceTag/vaultpilot:managed': 'true' } });
    const granted = statements
      .filter(
        (statement) =>
          statement.Sid !== DISCOVERY_LISTING_SID && !isKeyCopyGrant(statement) && !isAdoptedGrant(statement),
      )
      .flatMap(actionsOf);
    expect(granted.filter(isSecretsManager)).toEqual([]);
    expect(statements.filter(isKeyCopyGrant).flatMap(actionsOf).sort()).toEqual([
      'secretsmanager:CreateSecret',
      'secretsmanager:DescribeSecret',
      'secretsmanager:PutResourcePolicy',
      'secretsmanager:PutSecretValue',
      'secretsmanager:TagResource',
    ]);
    expect(statements.filter(isAdoptedGrant).flatMap(actionsOf).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:RotateSecret',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    const discovery = statements
      .filter((statement) => statement.Sid === DISCOVERY_LISTING_SID)
      .flatMap(actionsOf);
    expect(discovery.filter(isSecretsManager)).toEqual(['secretsmanager:ListSecrets']);
  });

  it('keeps the secrets table and says which backend the function uses', () => {
    const { template, roleId, variables } = secretsFunction(stacks);
    expect(variables.VAULTPILOT_SECRET_BACKEND).toBe('dynamodb');
    expect(variables.VAULTPILOT_SECRETS_MANAGER_PREFIX).toBeUndefined();
    expect(variables.VAULTPILOT_TABLE_SECRETS).toBeDefined();
    const writes = roleStatements(template, roleId).filter((statement) =>
      JSON.stringify(statement.Resource).includes('SecretsTable'),
    );
    expect(writes.flatMap(actionsOf)).toContain('dynamodb:PutItem');
  });
});

describe('secret store backend: secretsmanager', () => {
  let stacks: VaultPilotStacks;

  beforeAll(() => {
    stacks = synthesize({ secretBackend: 'secretsmanager' });
  });

  it('grants the secrets function exactly the adapter calls on exactly the secrets under the prefix', () => {
    // Prepare
    const { template, roleId } = secretsFunction(stacks);

    // Act
    const secretsManagerStatements = roleStatements(template, roleId)
      .filter((statement) => actionsOf(statement).some((action) => action.startsWith('secretsmanager:')))
      // The order of actions in a statement means nothing to IAM.
      .map((statement) => ({ ...statement, Action: [...actionsOf(statement)].sort() }));

    // Assess
    expect(secretsManagerStatements).toEqual([
      { Effect: 'Allow', Action: STORE_ACTIONS, Resource: prefixArn('vaultpilot/dev/') },
      { Effect: 'Allow', Action: ['secretsmanager:ListSecrets'], Resource: '*' },
    ]);
  });

  it('lets the notifier and the digest only read channel secrets: GetSecretValue under the prefix, no KMS GenerateDataKey', () => {
    // Prepare
    const readers = ['NotifierHandler', 'NotifyDigestEngine'];
    const template = Template.fromStack(stacks.engines);
    const policies = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>);

    for (const reader of readers) {
      // Act
      const ofReader = policies.filter((policy) =>
        new RegExp(`"${reader}[A-Za-z0-9]*"`).test(JSON.stringify(policy.Properties.Roles)),
      );
      const statements = ofReader
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
        .filter((statement) => statement.Effect === 'Allow');
      const secretsManager = statements.filter((statement) => actionsOf(statement).some(isSecretsManager));

      // Assess
      expect(ofReader.length, reader).toBeGreaterThan(0);
      expect(secretsManager, reader).toEqual([
        { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: prefixArn('vaultpilot/dev/') },
      ]);
      // The secrets key only (the tables' key and the DLQ's key have grants of their own).
      const kms = statements
        .filter((statement) => JSON.stringify(statement.Resource).includes('SecretsKey'))
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('kms:'));
      expect(kms, reader).toContain('kms:Decrypt');
      expect(kms, reader).not.toContain('kms:GenerateDataKey');
    }
  });

  it('documents the ListSecrets acknowledgement in ADR 0002', () => {
    expect(ADR).toContain('secretsmanager:ListSecrets');
  });

  it('grants what the adapter sends, no more and no less', () => {
    const commands = new Set([...ADAPTER.matchAll(/new (\w+)Command\(/g)].map((match) => match[1]));
    const needed = [...commands].map((command) => `secretsmanager:${command}`);
    // Tags on CreateSecret need TagResource as well.
    if (/new CreateSecretCommand\(\{[^]*?Tags:/.test(ADAPTER)) needed.push('secretsmanager:TagResource');
    expect(needed.sort()).toEqual([...STORE_ACTIONS, 'secretsmanager:ListSecrets'].sort());
  });

  it('gives Secrets Manager to no other function', () => {
    const { roleId } = secretsFunction(stacks);
    for (const stack of allStacks(stacks)) {
      const policies = Object.values(
        Template.fromStack(stack).findResources('AWS::IAM::Policy') as Record<string, CfnResource>,
      );
      for (const policy of policies) {
        if (JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`) && stack === stacks.api) continue;
        // Rotation keeps pending and promoted values in the same store as the secrets API (ADR 0006);
        // the notifications API keeps channel secrets (webhook URLs, tokens) in that store, and the
        // notifier and the digest read them from it.
        if (
          /"(RotationsHandler|RotationWorker|NotificationsHandler|NotifierHandler|NotifyDigestEngine)[A-Za-z0-9]*"/.test(
            JSON.stringify(policy.Properties.Roles),
          )
        )
          continue;
        const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
        // Discovery lists secret metadata everywhere (ADR 0005), and may do nothing else with it.
        const others = statements.filter((statement) => statement.Sid !== DISCOVERY_LISTING_SID);
        expect(JSON.stringify(others)).not.toContain('secretsmanager:');
        for (const statement of statements.filter((candidate) => candidate.Sid === DISCOVERY_LISTING_SID)) {
          expect(actionsOf(statement).filter(isSecretsManager)).toEqual(['secretsmanager:ListSecrets']);
        }
      }
    }
  });

  it('grants `Resource: *` for nothing new but ListSecrets', () => {
    const wildcard = allStatements(stacks).filter((statement) => statement.Resource === '*');
    expect([...new Set(wildcard.flatMap(actionsOf))].sort()).toEqual([
      'cloudfront:CreateInvalidation',
      'cloudfront:GetInvalidation',
      // Discovery's metadata listings (ADR 0005).
      'iam:GetAccountSummary',
      'iam:ListUsers',
      'secretsmanager:ListSecrets',
      'ssm:DescribeParameters',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('sets the backend variables and drops the secrets table, keeping envelope encryption', () => {
    const { template, roleId, variables } = secretsFunction(stacks);
    expect(variables.VAULTPILOT_SECRET_BACKEND).toBe('secretsmanager');
    expect(variables.VAULTPILOT_SECRETS_MANAGER_PREFIX).toBe('vaultpilot/dev/');
    expect(variables.VAULTPILOT_TABLE_SECRETS).toBeUndefined();
    expect(variables.VAULTPILOT_TABLE_SETTINGS).toBeDefined();
    expect(variables.VAULTPILOT_TABLE_AUDIT).toBeDefined();
    const statements = roleStatements(template, roleId);
    expect(
      statements.filter((statement) => JSON.stringify(statement.Resource).includes('SecretsTable')),
    ).toEqual([]);
    const dataKeys = statements.filter((statement) => actionsOf(statement).includes('kms:GenerateDataKey'));
    expect(dataKeys).toHaveLength(1);
    expect(dataKeys[0]?.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:service': 'vaultpilot' },
    });
  });

  it('tells every secret-sealing function the backend, and no API function touches the secrets table', () => {
    const template = Template.fromStack(stacks.api);
    const told = [...stacks.api.handlers].filter(([, fn]) => {
      const functionId = stacks.api.getLogicalId(fn.function.node.defaultChild as CfnFunction);
      const variables = (template.toJSON().Resources[functionId] as CfnResource).Properties.Environment
        .Variables as Record<string, unknown>;
      expect(variables.VAULTPILOT_TABLE_SECRETS, fn.node.id).toBeUndefined();
      if (variables.VAULTPILOT_SECRET_BACKEND === undefined) return false;
      expect(variables.VAULTPILOT_SECRET_BACKEND, fn.node.id).toBe('secretsmanager');
      return true;
    });
    expect(told.map(([handlerId]) => handlerId)).toContain('secrets');
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).not.toContain('SecretsTable');
  });

  it('leaves the other API functions as they were', () => {
    const fn = stacks.api.handlers.get('policies');
    if (fn === undefined) throw new Error('No policies handler');
    const template = Template.fromStack(stacks.api);
    const functionId = stacks.api.getLogicalId(fn.function.node.defaultChild as CfnFunction);
    const variables = (template.toJSON().Resources[functionId] as CfnResource).Properties.Environment
      .Variables as Record<string, unknown>;
    expect(variables.VAULTPILOT_SECRET_BACKEND).toBeUndefined();
    expect(variables.VAULTPILOT_TABLE_SETTINGS).toBeDefined();
  });

  it('uses the prefix from context, in the grant and in the variable', () => {
    const custom = synthesize({ secretBackend: 'secretsmanager', secretsManagerPrefix: 'acme/vault/' });
    const { template, roleId, variables } = secretsFunction(custom);
    expect(variables.VAULTPILOT_SECRETS_MANAGER_PREFIX).toBe('acme/vault/');
    const store = roleStatements(template, roleId).find((statement) =>
      actionsOf(statement).includes('secretsmanager:GetSecretValue'),
    );
    expect(store?.Resource).toEqual(prefixArn('acme/vault/'));
  });

  it('puts the stage into the default prefix, so stages sharing an account share no secrets', () => {
    const prod = synthesize({ secretBackend: 'secretsmanager', stage: 'prod' });
    expect(secretsFunction(prod).variables.VAULTPILOT_SECRETS_MANAGER_PREFIX).toBe('vaultpilot/prod/');
  });
});

describe('secret store backend settings', () => {
  it.each([
    [
      { secretBackend: 'ssm' },
      /Context "secretBackend" must be "dynamodb" or "secretsmanager" \(got "ssm"\)/,
    ],
    [{ secretBackend: 'SecretsManager' }, /Context "secretBackend" must be/],
    [{ secretBackend: 1 }, /Context "secretBackend" must be a string/],
    [
      { secretBackend: 'secretsmanager', secretsManagerPrefix: 'vault pilot/' },
      /Context "secretsManagerPrefix": expected up to 64 characters of A-Z a-z 0-9/,
    ],
    [
      { secretBackend: 'secretsmanager', secretsManagerPrefix: `${'a'.repeat(64)}/` },
      /Context "secretsManagerPrefix": expected up to 64 characters/,
    ],
    [
      { secretBackend: 'secretsmanager', secretsManagerPrefix: 'vaultpilot' },
      /Context "secretsManagerPrefix" must end with "\/"/,
    ],
    [{ secretsManagerPrefix: 'vaultpilot/' }, /applies only with "secretBackend=secretsmanager"/],
  ])('refuses %j with a message naming the setting', (bad, message) => {
    expect(() => synthesize(bad)).toThrow(StageSettingsError);
    expect(() => synthesize(bad)).toThrow(message);
  });
});

/** Findings cdk-nag's AWS Solutions pack reports for the app, after acknowledgements. */
function unacknowledgedFindings(app: App): string[] {
  return new AwsSolutionsChecks(app)
    .validateScope(app)
    .violations.flatMap((violation) =>
      violation.violatingResources.map(
        (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
      ),
    );
}

/** Every finding cdk-nag would report with nothing acknowledged (as in nag.test.ts). */
function allFindings(app: App): { ruleName: string; constructPath: string }[] {
  const checks = new AwsSolutionsChecks(app);
  Object.defineProperty(checks, 'isAcknowledged', { value: () => false });
  return checks.validateScope(app).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      ruleName: violation.ruleName,
      constructPath: resource.constructPath ?? '',
    })),
  );
}

function acknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: construct.node.path,
        })),
      )
      .filter((ack) => ack.id.startsWith('AwsSolutions-')),
  );
}

describe.each([
  ['dynamodb', context],
  ['secretsmanager', secretsManager],
])('cdk-nag with the %s backend', (_backend, modeContext) => {
  let app: App;

  beforeAll(() => {
    ({ app } = createVaultPilotApp({ context: modeContext, cloudFormationValidation: false }));
    // Synth runs the validation plugin; under vitest a failing validation throws with the report.
    app.synth();
  });

  it('reports no unacknowledged finding', () => {
    expect(unacknowledgedFindings(app)).toEqual([]);
  });

  it('acknowledges only findings it reports, each with a specific reason listed in ADR 0002', () => {
    const findings = allFindings(app);
    const acks = acknowledgements(app);
    const stale = acks.filter(
      (ack) =>
        !findings.some(
          (finding) =>
            finding.ruleName === ack.id &&
            (finding.constructPath === ack.path || finding.constructPath.startsWith(`${ack.path}/`)),
        ),
    );
    expect(stale.map((ack) => `${ack.id} at ${ack.path}`)).toEqual([]);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(60);
      expect(ADR).toContain(ack.id.replace(/\[.*$/, ''));
    }
  });
});
