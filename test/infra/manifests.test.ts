/**
 * Each function's role grants exactly what its manifest declares (lambdas/functions/<name>/manifest.ts):
 * the DynamoDB actions per table, the uses of the secrets key and of the audit signing key, the
 * bus, the queue, the rotation worker; its environment names exactly its tables. The audit table
 * stays append-only for every function.
 */
import { type CfnResource as CdkCfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FunctionId, MANIFESTS } from '../../lambdas/functions/index.js';
import { type FunctionManifest, secretsKeyUsesOf, tablesOf } from '../../lambdas/shared/function-manifest.js';
import { TABLE_LIST, TABLE_SPECS, type TableId } from '../../lambdas/shared/tables.js';
import { tableActions } from '../../lib/function-grants.js';
import { createVaultPilotApp, type VaultPilotStacks } from '../../lib/vaultpilot-app.js';
import type { VaultPilotFunction } from '../../lib/vaultpilot-function.js';

const context = { 'aws:cdk:bundling-stacks': [] };

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const STREAM_ACTIONS = new Set([
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
]);

let stacks: VaultPilotStacks;
const functions = new Map<FunctionId, VaultPilotFunction>();

beforeAll(() => {
  ({ stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false }));
  for (const [id, fn] of stacks.api.handlers) functions.set(id, fn);
  for (const [id, engine] of stacks.engines.engines) functions.set(id, engine.function);
  functions.set('auditSequencer', stacks.engines.auditSequencer);
  functions.set('rotationWorker', stacks.engines.rotationWorker);
  functions.set('tokenClaims', stacks.auth.tokenClaimsTrigger);
  functions.set('notifier', stacks.engines.notifier.function);
});

function logicalId(construct: { node: { defaultChild?: unknown } }, stack: Stack): string {
  return stack.getLogicalId(construct.node.defaultChild as CdkCfnResource);
}

/** Every Allow statement of the policies attached to the function's role. */
function roleStatements(fn: VaultPilotFunction): Statement[] {
  const stack = Stack.of(fn);
  const role = logicalId(fn.role, stack);
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, any> };
  return Object.values(template.Resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        (resource.Properties.Roles as unknown[]).some(
          (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: role }),
        ),
    )
    .flatMap((resource) => resource.Properties.PolicyDocument.Statement as Statement[])
    .filter((statement) => statement.Effect === 'Allow');
}

/** The actions of the statements whose resources name `resourceLogicalId`. */
function actionsOn(statements: readonly Statement[], resourceLogicalId: string, prefix: string): Set<string> {
  return new Set(
    statements
      .filter((statement) =>
        [statement.Resource].flat().some((resource) => JSON.stringify(resource).includes(resourceLogicalId)),
      )
      .flatMap((statement) => [statement.Action].flat())
      .filter((action) => action.startsWith(prefix) && !STREAM_ACTIONS.has(action)),
  );
}

function allActions(statements: readonly Statement[]): Set<string> {
  return new Set(statements.flatMap((statement) => [statement.Action].flat()));
}

function tableLogicalId(id: TableId): string {
  return logicalId(stacks.stateful.dataStores.tables[id], stacks.stateful);
}

describe('function roles from manifests', () => {
  it('has a function for every manifest', () => {
    expect([...functions.keys()].sort()).toEqual(Object.keys(MANIFESTS).sort());
  });

  it.each(Object.keys(MANIFESTS) as FunctionId[])(
    '%s may do on each table exactly what its manifest declares, and knows exactly those tables',
    (id) => {
      const manifest = MANIFESTS[id];
      const fn = functions.get(id);
      if (fn === undefined) throw new Error(`No function for ${id}`);
      const statements = roleStatements(fn);
      const declared = new Map(tablesOf(manifest, 'dynamodb'));

      for (const spec of TABLE_LIST) {
        const granted = actionsOn(statements, tableLogicalId(spec.id), 'dynamodb:');
        const access = declared.get(spec.id);
        expect([...granted].sort(), `${id} on ${spec.id}`).toEqual(
          access === undefined ? [] : [...new Set(tableActions(access))].sort(),
        );
      }
      const variables = (
        Template.fromStack(Stack.of(fn)).toJSON().Resources[logicalId(fn.function, Stack.of(fn))] as {
          Properties: { Environment: { Variables: Record<string, unknown> } };
        }
      ).Properties.Environment.Variables;
      expect(
        Object.keys(variables)
          .filter((name) => name.startsWith('VAULTPILOT_TABLE_'))
          .sort(),
      ).toEqual([...declared.keys()].map((table) => TABLE_SPECS[table].envVar).sort());
    },
  );

  it.each(Object.keys(MANIFESTS) as FunctionId[])(
    '%s holds exactly its declared key uses, bus, queue and worker rights',
    (id) => {
      const manifest: FunctionManifest = MANIFESTS[id];
      const fn = functions.get(id);
      if (fn === undefined) throw new Error(`No function for ${id}`);
      const statements = roleStatements(fn);
      const stores = stacks.stateful.dataStores;

      const secretsKey = [
        ...actionsOn(statements, logicalId(stores.secretsKey, stacks.stateful), 'kms:'),
      ].sort();
      const uses = secretsKeyUsesOf(manifest, 'dynamodb');
      const expectedSecretsKey = new Set<string>();
      if (uses.includes('seal') || uses.includes('hmac')) {
        expectedSecretsKey.add('kms:GenerateDataKey').add('kms:Decrypt');
      }
      if (uses.includes('open')) expectedSecretsKey.add('kms:Decrypt');
      if (uses.includes('rewrap')) expectedSecretsKey.add('kms:ReEncryptFrom').add('kms:ReEncryptTo');
      if (uses.includes('seal') || uses.includes('open') || uses.includes('rewrap')) {
        expectedSecretsKey.add('kms:DescribeKey');
      }
      expect(secretsKey).toEqual([...expectedSecretsKey].sort());

      const signing = [
        ...actionsOn(statements, logicalId(stores.auditSigningKey, stacks.stateful), 'kms:'),
      ].sort();
      expect(signing).toEqual(
        manifest.auditSigningKey === 'sign'
          ? ['kms:GetPublicKey', 'kms:Sign']
          : manifest.auditSigningKey === 'verify'
            ? ['kms:GetPublicKey']
            : [],
      );

      const actions = allActions(statements);
      expect(actions.has('events:PutEvents')).toBe(manifest.publishesEvents === true);
      // Functions with a dead-letter queue may send to it; only the declared ones to the rotation queue.
      const rotationQueue = actionsOn(statements, logicalId(stores.rotationQueue, stacks.stateful), 'sqs:');
      expect(rotationQueue.has('sqs:SendMessage')).toBe(manifest.sendsRotationJobs === true);
      expect(actions.has('lambda:InvokeFunction')).toBe(manifest.invokesRotationWorker === true);
      expect(actions.has('ses:SendEmail')).toBe(manifest.sendsNotifications === true);
      expect(actions.has('sns:Publish')).toBe(manifest.sendsNotifications === true);
      expect([...actions].some((action) => action.startsWith('iam:CreateAccessKey'))).toBe(
        manifest.providers?.includes('iamAccessKeys') === true,
      );
    },
  );

  it.each(
    (Object.keys(MANIFESTS) as FunctionId[]).filter((id) => {
      const manifest: FunctionManifest = MANIFESTS[id];
      return manifest.trigger.kind === 'api' && (manifest.secretsKey?.length ?? 0) > 0;
    }),
  )('%s opens sealed values in requests, so it may publish integrity.failed on the bus', (id) => {
    // The API middleware publishes `integrity.failed` when a request meets a tampered envelope;
    // without the bus grant and its name, that alert is lost in AWS (it is only logged).
    const manifest: FunctionManifest = MANIFESTS[id];
    const fn = functions.get(id);
    if (fn === undefined) throw new Error(`No function for ${id}`);
    expect(manifest.publishesEvents, id).toBe(true);
    expect(manifest.sdkClients, id).toContain('@aws-sdk/client-eventbridge');
    expect(allActions(roleStatements(fn)).has('events:PutEvents'), id).toBe(true);
  });

  it('keeps the audit table append-only: no manifest and no role may update or delete its items', () => {
    for (const [id, manifest] of Object.entries(MANIFESTS)) {
      const audit = (manifest.tables as Partial<Record<TableId, readonly string[]>>).audit ?? [];
      expect(
        audit.filter((action) => /UpdateItem|DeleteItem/.test(action)),
        id,
      ).toEqual([]);
    }
    for (const [id, fn] of functions) {
      const onAudit = actionsOn(roleStatements(fn), tableLogicalId('audit'), 'dynamodb:');
      expect(
        [...onAudit].filter((action) => /Update|Delete|BatchWrite|PartiQL/.test(action)),
        id,
      ).toEqual([]);
    }
  });
});
