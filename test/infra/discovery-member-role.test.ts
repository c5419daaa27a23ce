/**
 * The read-only role discovery assumes in member accounts (lib/discovery-member-role-stack.ts):
 * trusted only by the VaultPilot account with the tenant's external id, allowed only to list
 * credential metadata, and clean under cdk-nag.
 */
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVaultPilotApp } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [], discoveryMemberRole: 'true' };

describe('DiscoveryMemberRoleStack', () => {
  let template: Template;
  let stack: Stack;
  let findings: string[];

  beforeAll(() => {
    const { app } = createVaultPilotApp({ context, cloudFormationValidation: false });
    stack = app.node.findChild('VaultPilot-DiscoveryMemberRole') as Stack;
    template = Template.fromStack(stack);
    findings = new AwsSolutionsChecks(app)
      .validateScope(app)
      .violations.flatMap((violation) =>
        violation.violatingResources
          .filter((resource) => resource.constructPath?.startsWith('VaultPilot-DiscoveryMemberRole') === true)
          .map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      );
  });

  it('is only synthesized on request', () => {
    const { app } = createVaultPilotApp({
      context: { 'aws:cdk:bundling-stacks': [] },
      nagChecks: false,
      cloudFormationValidation: false,
    });
    expect(app.node.tryFindChild('VaultPilot-DiscoveryMemberRole')).toBeUndefined();
  });

  it('creates the role discovery assumes, trusting the VaultPilot account with the external id', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'VaultPilotDiscoveryReadOnly',
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { AWS: Match.objectLike({ 'Fn::Join': Match.anyValue() }) },
            Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } },
          },
        ],
      },
    });
    const parameters = template.toJSON().Parameters as Record<string, { NoEcho?: boolean }>;
    expect(parameters.ExternalId?.NoEcho).toBe(true);
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).toContain('VaultPilotAccountId');
  });

  it('allows listing credential metadata and nothing else', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as { Effect: string; Action: string | string[] }[],
    );
    const actions = statements.flatMap((statement) => [statement.Action].flat()).sort();
    expect(actions).toEqual([
      'iam:GetAccessKeyLastUsed',
      'iam:GetAccountSummary',
      'iam:ListAccessKeys',
      'iam:ListUsers',
      'secretsmanager:ListSecrets',
      'ssm:DescribeParameters',
    ]);
    expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    expect(findings).toEqual([]);
  });
});
