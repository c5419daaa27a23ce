/**
 * The tamper-evident audit log in the templates (ADR 0004): the audit table's indexes, stream and
 * TTL; the asymmetric signing key and who may sign with it; the sequencer's stream mapping and
 * its exact stream grant; the HMAC keys' narrow KMS grant; and no function that may change or
 * delete an audit item.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SPECS } from '../../lambdas/shared/tables.js';
import { allStacks, createVaultPilotApp, type VaultPilotStacks } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function statementsOf(template: Template): { role: string; statement: Statement }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as Statement[]).map((statement) => ({
      role: JSON.stringify(policy.Properties.Roles),
      statement,
    })),
  );
}

function actionsOf(statement: Statement): string[] {
  return [statement.Action].flat();
}

describe('audit log infrastructure', () => {
  let stacks: VaultPilotStacks;
  let stateful: Template;
  let api: Template;
  let engines: Template;
  let signingKeyId: string;

  beforeAll(() => {
    ({ stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false }));
    stateful = Template.fromStack(stacks.stateful);
    api = Template.fromStack(stacks.api);
    engines = Template.fromStack(stacks.engines);
    signingKeyId = Stack.of(stacks.stateful).getLogicalId(
      stacks.stateful.auditSigningKey.node.defaultChild as never,
    );
  });

  it('builds the audit table with its query indexes, a new-image stream and TTL on expiresAt', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith(
        TABLE_SPECS.audit.indexes.map((index) => Match.objectLike({ IndexName: index.indexName })),
      ),
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(TABLE_SPECS.audit.indexes.map((index) => index.indexName)).toEqual([
      'byActor',
      'byAction',
      'byTarget',
      'byOutcome',
      'auditTenants',
    ]);
  });

  it('keeps an asymmetric P-256 signing key, retained', () => {
    stateful.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    });
    stateful.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/vaultpilot-dev-audit-signing' });
  });

  it('lets only the audit API and the digest engine sign, and only with the signing key', () => {
    const signing = [...statementsOf(api), ...statementsOf(engines)].filter(({ statement }) =>
      actionsOf(statement).includes('kms:Sign'),
    );
    expect(signing).toHaveLength(2);
    for (const { statement } of signing) {
      expect(JSON.stringify(statement.Resource)).toContain(signingKeyId);
    }
    const auditFunction = Object.values(api.findResources('AWS::Lambda::Function')).find((fn) =>
      String(fn.Properties.Description).includes('listAuditEvents'),
    );
    expect(auditFunction?.Properties.Environment.Variables).toMatchObject({
      VAULTPILOT_AUDIT_SIGNER: 'kms',
      VAULTPILOT_AUDIT_SIGNING_KEY_ID: expect.anything(),
      VAULTPILOT_KEYRING: 'kms',
      VAULTPILOT_EVENT_BUS_NAME: expect.anything(),
    });
  });

  it('gives the audit API data keys of the secrets key only under the HMAC key context', () => {
    const dataKeys = statementsOf(api).filter(
      ({ statement }) =>
        actionsOf(statement).includes('kms:GenerateDataKey') &&
        JSON.stringify(statement.Condition ?? {}).includes('@audit/hmac-key'),
    );
    expect(dataKeys).toHaveLength(1);
    expect(dataKeys[0]?.statement.Condition).toEqual({
      StringEquals: {
        'kms:EncryptionContext:service': 'vaultpilot',
        'kms:EncryptionContext:path': '@audit/hmac-key',
      },
    });
    expect(actionsOf(dataKeys[0]?.statement ?? { Effect: '', Action: [], Resource: '' }).sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
    ]);
  });

  it('maps the audit stream to the sequencer: new event items, in order, failures reported and kept', () => {
    engines.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 900,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] } },
      },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { NewImage: { actorKey: { S: [{ exists: true }] } } },
            }),
          },
        ],
      },
    });
    const streamReads = statementsOf(engines).filter(({ statement }) =>
      actionsOf(statement).includes('dynamodb:GetRecords'),
    );
    expect(streamReads).toHaveLength(1);
    // The exact stream ARN (an import of the table's StreamArn), never `stream/*` or `*`.
    expect(JSON.stringify(streamReads[0]?.statement.Resource)).toMatch(/StreamArn/);
    expect(JSON.stringify(streamReads[0]?.statement.Resource)).not.toContain('*');
  });

  it('lets the audit functions only put and read audit items, never update or delete them', () => {
    // (functions.test.ts checks every policy of every stack; these are the audit log's own.)
    const auditTableId = Stack.of(stacks.stateful).getLogicalId(
      stacks.stateful.tables.audit.node.defaultChild as never,
    );
    const onAudit = allStacks(stacks)
      .flatMap((stack) => statementsOf(Template.fromStack(stack)))
      .filter(({ statement }) => JSON.stringify(statement.Resource).includes(auditTableId))
      .flatMap(({ statement }) => actionsOf(statement))
      .filter((action) => action.startsWith('dynamodb:'));
    expect(onAudit).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Query']));
    expect(
      onAudit.filter(
        (action) => /Update|Delete|BatchWrite|PartiQL|\*/.test(action) && action !== 'dynamodb:DescribeTable',
      ),
    ).toEqual([]);
  });
});
