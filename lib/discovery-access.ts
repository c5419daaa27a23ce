/**
 * What the discovery engine may do in AWS (ADR 0005): list and read metadata, nothing else.
 * IAM users and access keys with last use, the account summary, Secrets Manager's secret list
 * (metadata; never `GetSecretValue`), SSM's parameter descriptions (never `GetParameter`), and
 * `sts:AssumeRole` on the configured member-account roles. The same read statements make up the
 * member-account role (lib/discovery-member-role-stack.ts).
 */
import { Aws, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { VaultPilotFunction } from './vaultpilot-function.js';

/** Actions without resource-level permissions: they can only be granted on `*`. */
export const DISCOVERY_ACCOUNT_ACTIONS: readonly string[] = [
  'iam:GetAccountSummary',
  'iam:ListUsers',
  'secretsmanager:ListSecrets',
  'ssm:DescribeParameters',
];

/** Actions on IAM users (resource type `user`). */
export const DISCOVERY_USER_ACTIONS: readonly string[] = ['iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed'];

/** The read-only statements, for the account they are granted in. */
export function discoveryReadStatements(): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'ListAccountCredentials',
      actions: [...DISCOVERY_ACCOUNT_ACTIONS],
      resources: ['*'],
    }),
    new PolicyStatement({
      sid: 'ReadAccessKeyMetadata',
      actions: [...DISCOVERY_USER_ACTIONS],
      resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:user/*`],
    }),
  ];
}

/** Reasons for the wildcards the read statements need, acknowledged on `scope` for cdk-nag. */
export function acknowledgeDiscoveryReads(scope: Construct): void {
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'iam:GetAccountSummary, iam:ListUsers, secretsmanager:ListSecrets and ssm:DescribeParameters have no resource-level permissions; they list metadata only (no secret or parameter values).',
  });
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:user/*]',
    reason:
      'Discovery reads the access keys and their last use of every IAM user of the account (iam:ListAccessKeys, iam:GetAccessKeyLastUsed); users are only known once listed.',
  });
}

/**
 * Grants the discovery function its AWS reads in the deployment account and `sts:AssumeRole` on
 * the member-account roles, in a policy of its own so its acknowledgements name exactly these.
 */
export function grantDiscoveryAccess(
  scope: Construct,
  fn: VaultPilotFunction,
  roleArns: readonly string[],
): Policy {
  const policy = new Policy(scope, 'DiscoveryAccessPolicy', {
    statements: [
      ...discoveryReadStatements(),
      new PolicyStatement({
        sid: 'AssumeMemberAccountRoles',
        actions: ['sts:AssumeRole'],
        resources: [...roleArns],
      }),
    ],
  });
  policy.attachToRole(fn.role);
  acknowledgeDiscoveryReads(policy);
  for (const arn of roleArns.filter((candidate) => candidate.includes('*'))) {
    // cdk-nag names the resource as CloudFormation renders it: the partition token as a placeholder.
    const shown = arn.replace(/\$\{Token\[AWS\.Partition\.\d+\]\}/, '<AWS::Partition>');
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${shown}]`,
      reason:
        'The member-account role has the same name in every account, so any account may be listed in a tenant setting (the discoveryRoleArns context narrows it); each role demands the tenant external id in its trust policy.',
    });
  }
  return policy;
}
