import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVaultPilotApp } from '../../lib/vaultpilot-app.js';
import { TABLE_LIST } from '../../lambdas/shared/tables.js';

// Bundling is skipped: these tests read templates, not function code.
const context = { 'aws:cdk:bundling-stacks': [] };

describe('StatefulStack', () => {
  let template: Template;
  let tableKeyArn: unknown;

  beforeAll(() => {
    const { stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false });
    template = Template.fromStack(stacks.stateful);
    tableKeyArn = stacks.stateful.resolve(stacks.stateful.tableKey.keyArn);
  });

  it('creates the lifecycle event bus, named after the stage', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: Match.stringLikeRegexp('^vaultpilot-') });
  });

  it('creates one table per table spec', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', TABLE_LIST.length);
  });

  it.each(TABLE_LIST.map((spec) => [spec.id, spec] as const))(
    'builds the %s table from its spec, protected and encrypted with the customer-managed key',
    (_id, spec) => {
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectLike({
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: spec.partitionKey.name, KeyType: 'HASH' },
            ...(spec.sortKey !== undefined ? [{ AttributeName: spec.sortKey.name, KeyType: 'RANGE' }] : []),
          ],
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: tableKeyArn },
          ...(spec.indexes.length > 0
            ? {
                GlobalSecondaryIndexes: spec.indexes.map((index) =>
                  Match.objectLike({
                    IndexName: index.indexName,
                    KeySchema: [
                      { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
                      ...(index.sortKey !== undefined
                        ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }]
                        : []),
                    ],
                  }),
                ),
              }
            : {}),
          TimeToLiveSpecification:
            spec.ttlAttribute !== undefined
              ? { AttributeName: spec.ttlAttribute, Enabled: true }
              : Match.absent(),
        }),
      });
    },
  );

  it('expires audit events through DynamoDB TTL on expiresAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('keeps the KMS keys retained, the symmetric ones (tables, secret data keys) rotating, with aliases', () => {
    template.resourceCountIs('AWS::KMS::Key', 3);
    const keys = template.findResources('AWS::KMS::Key');
    for (const key of Object.values(keys)) {
      expect(key.DeletionPolicy).toBe('Retain');
      // Asymmetric keys cannot rotate automatically (the audit signing key, ADR 0004).
      if (key.Properties.KeySpec === undefined) expect(key.Properties.EnableKeyRotation).toBe(true);
    }
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/vaultpilot-dev-tables' });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/vaultpilot-dev-secrets' });
  });
});
