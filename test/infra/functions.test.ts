import { type App, Stack } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_LIST } from '../../lambdas/shared/engines.js';
import { ROUTES } from '../../lambdas/functions/index.js';
import { TABLE_SPECS } from '../../lambdas/shared/tables.js';
import { allStacks, createVaultPilotApp, type VaultPilotStacks } from '../../lib/vaultpilot-app.js';
import { VaultPilotFunction } from '../../lib/vaultpilot-function.js';

const context = { 'aws:cdk:bundling-stacks': [] };

type CfnResource = { Type: string; Properties: Record<string, any> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Writes that can change or remove an existing audit item. The audit table is append-only. */
const AUDIT_MUTATIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
  'dynamodb:DeleteTable',
  'dynamodb:UpdateTable',
];

/** Does an IAM action pattern (with `*` and `?`) match a concrete action? Case-insensitive, as IAM is. */
function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(action);
}

/** Every Allow statement of every IAM policy (standalone, managed or inline in a role) in the templates. */
function allowStatements(templates: readonly Record<string, any>[]): Statement[] {
  const statements: Statement[] = [];
  for (const template of templates) {
    for (const resource of Object.values(template.Resources as Record<string, CfnResource>)) {
      const documents =
        resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy'
          ? [resource.Properties.PolicyDocument]
          : resource.Type === 'AWS::IAM::Role'
            ? ((resource.Properties.Policies ?? []) as { PolicyDocument: unknown }[]).map(
                (policy) => policy.PolicyDocument,
              )
            : [];
      for (const document of documents as { Statement: Statement[] }[]) {
        statements.push(...document.Statement.filter((statement) => statement.Effect === 'Allow'));
      }
    }
  }
  return statements;
}

/**
 * Statements that would let a principal change or delete audit items: a mutating action on a
 * resource that names the audit table (by its logical id, also inside cross-stack imports) or `*`.
 */
export function auditMutationGrants(
  templates: readonly Record<string, any>[],
  auditTableLogicalId: string,
): Statement[] {
  return allowStatements(templates).filter((statement) => {
    const touchesAudit = [statement.Resource].flat().some((resource) => {
      const text = JSON.stringify(resource);
      return text === '"*"' || text.includes(auditTableLogicalId);
    });
    const mutates = [statement.Action]
      .flat()
      .some((pattern) => AUDIT_MUTATIONS.some((action) => actionMatches(pattern, action)));
    return touchesAudit && mutates;
  });
}

describe('functions', () => {
  let app: App;
  let stacks: VaultPilotStacks;
  let templates: Template[];
  let functions: CfnResource[];
  let logGroups: Map<string, CfnResource>;

  beforeAll(() => {
    ({ app, stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false }));
    templates = allStacks(stacks).map((stack) => Template.fromStack(stack));
    // Ours are the VaultPilotFunction ones; the dashboard deployment's Python function is aws-cdk-lib's.
    const ours = app.node
      .findAll()
      .filter((construct): construct is VaultPilotFunction => construct instanceof VaultPilotFunction)
      .map((fn) => Stack.of(fn).getLogicalId(fn.function.node.defaultChild as CfnFunction));
    functions = templates.flatMap((template) =>
      Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, CfnResource>)
        .filter(([logicalId]) => ours.includes(logicalId))
        .map(([, fn]) => fn),
    );
    logGroups = new Map(
      templates.flatMap(
        (template) =>
          Object.entries(template.findResources('AWS::Logs::LogGroup')) as [string, CfnResource][],
      ),
    );
  });

  it('has a function per API handler, per engine, the token trigger, the audit sequencer, the rotation worker and the notifier', () => {
    const apiHandlers = new Set(ROUTES.map((route) => route.handler)).size;
    expect(functions).toHaveLength(apiHandlers + ENGINE_LIST.length + 4);
  });

  it('runs every function on arm64 and nodejs22.x, traced, as ESM with source maps', () => {
    for (const fn of functions) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Handler).toBe('index.handler');
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'vaultpilot',
        POWERTOOLS_METRICS_NAMESPACE: 'VaultPilot',
        LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        VAULTPILOT_RUNTIME: 'aws',
        VAULTPILOT_STAGE: 'dev',
      });
    }
  });

  it('gives every function its own log group with a retention', () => {
    for (const fn of functions) {
      const ref = fn.Properties.LoggingConfig?.LogGroup?.Ref as string | undefined;
      expect(ref).toBeDefined();
      expect(logGroups.get(ref ?? '')?.Properties.RetentionInDays).toBe(30);
    }
  });

  it('uses no AWS managed policy for any function role', () => {
    const roles = templates.flatMap((template) => Object.values(template.findResources('AWS::IAM::Role')));
    const functionRoles = roles.filter((role) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );
    for (const role of functionRoles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('grants `Resource: *` only for X-Ray, CloudFront invalidation and discovery listings, which have no resource-level permissions', () => {
    const wildcard = allowStatements(templates.map((template) => template.toJSON())).filter(
      (statement) => statement.Resource === '*',
    );
    const actions = new Set(wildcard.flatMap((statement) => [statement.Action].flat()));
    expect([...actions].sort()).toEqual([
      'cloudfront:CreateInvalidation',
      'cloudfront:GetInvalidation',
      // The discovery engine's metadata listings (ADR 0005).
      'iam:GetAccountSummary',
      'iam:ListUsers',
      'secretsmanager:ListSecrets',
      'ssm:DescribeParameters',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('never lets a function update or delete audit items', () => {
    const auditId = stacks.stateful.getLogicalId(stacks.stateful.tables.audit.node.defaultChild as CfnTable);
    const json = templates.map((template) => template.toJSON());
    // The scan does see the audit table: the audit digest engine reads it.
    expect(
      allowStatements(json).some((statement) => JSON.stringify(statement.Resource).includes(auditId)),
    ).toBe(true);
    expect(auditMutationGrants(json, auditId)).toEqual([]);
  });

  it('would notice a grant that lets a function update audit items', () => {
    const auditId = 'AuditTableB07F8EEB';
    const template = (statement: Statement) => ({
      Resources: {
        P: { Type: 'AWS::IAM::Policy', Properties: { PolicyDocument: { Statement: [statement] } } },
      },
    });
    const importedArn = {
      'Fn::ImportValue': `VaultPilot-dev-Stateful:ExportsOutputFnGetAtt${auditId}Arn0A1B2C3D`,
    };
    expect(
      auditMutationGrants(
        [template({ Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: importedArn })],
        auditId,
      ),
    ).toHaveLength(1);
    expect(
      auditMutationGrants(
        [template({ Effect: 'Allow', Action: 'dynamodb:*Item', Resource: importedArn })],
        auditId,
      ),
    ).toHaveLength(1);
    expect(
      auditMutationGrants(
        [template({ Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:Delete*'], Resource: '*' })],
        auditId,
      ),
    ).toHaveLength(1);
    expect(
      auditMutationGrants(
        [template({ Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: importedArn })],
        auditId,
      ),
    ).toEqual([]);
    expect(
      auditMutationGrants(
        [
          template({
            Effect: 'Allow',
            Action: 'dynamodb:UpdateItem',
            Resource: { 'Fn::ImportValue': 'OtherTableArn' },
          }),
        ],
        auditId,
      ),
    ).toEqual([]);
  });

  it('names in each function exactly the tables it may read, and grants index ARNs without wildcards', () => {
    for (const fn of functions) {
      const tableVariables = Object.keys(fn.Properties.Environment.Variables).filter((name) =>
        name.startsWith('VAULTPILOT_TABLE_'),
      );
      const known = Object.values(TABLE_SPECS).map((spec) => spec.envVar);
      for (const name of tableVariables) expect(known).toContain(name);
    }
    const resources = allowStatements(templates.map((template) => template.toJSON()))
      .filter((statement) => [statement.Action].flat().some((action) => action.startsWith('dynamodb:')))
      .flatMap((statement) => [statement.Resource].flat());
    for (const resource of resources) expect(JSON.stringify(resource)).not.toContain('/index/*');
  });
});
