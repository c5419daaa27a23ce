/**
 * What rotating credentials may do in AWS, granted to the rotation worker and to the rotations API
 * function (which rolls back on request): send jobs to the rotation queue, and manage the access
 * keys of IAM users — only users carrying the VaultPilot management tag when the deployment sets
 * one (context `iamManagementTag`, `key` or `key=value`). STS GetCallerIdentity, with which the
 * new key is tested, needs no permission. Database passwords are changed over the network with a
 * managing credential from the secret store, so they need no AWS permission (the functions need
 * network reach to the database: a VPC is the deploying organisation's choice).
 */
import { Aws, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Node } from 'constructs';
import type { DataStores } from './table-access.js';
import type { VaultPilotFunction } from './vaultpilot-function.js';

export const IAM_KEY_ACTIONS = [
  'iam:ListAccessKeys',
  'iam:CreateAccessKey',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
  'iam:GetAccessKeyLastUsed',
] as const;

export interface ManagementTag {
  readonly key: string;
  readonly value: string | undefined;
}

/** The `iamManagementTag` context setting; undefined when unset. */
export function managementTagFrom(node: Node): ManagementTag | undefined {
  const raw: unknown = node.tryGetContext('iamManagementTag');
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^[\w.:/+\-@]{1,128}(=[\w.:/+\-@ ]{0,256})?$/.test(raw)) {
    throw new Error(
      'Context "iamManagementTag" takes a tag key, or key=value, such as vaultpilot:managed=true',
    );
  }
  const [key, value] = raw.split('=', 2) as [string, string | undefined];
  return { key, value };
}

/** Sending rotation jobs: `sqs:SendMessage` on the rotation queue and the variable naming it. */
export function grantRotationQueueSend(fn: VaultPilotFunction, stores: DataStores): void {
  stores.rotationQueue.grantSendMessages(fn.function);
  fn.function.addEnvironment('VAULTPILOT_ROTATION_QUEUE_URL', stores.rotationQueue.queueUrl);
}

/**
 * Managing IAM users' access keys, limited to tagged users when a management tag is set. In its
 * own policy, so its cdk-nag acknowledgement covers nothing else.
 */
export function grantIamKeyManagement(fn: VaultPilotFunction, tag: ManagementTag | undefined): Policy {
  const policy = new Policy(fn, 'IamKeyManagement', {
    statements: [
      new PolicyStatement({
        actions: [...IAM_KEY_ACTIONS],
        resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:user/*`],
        ...(tag === undefined
          ? {}
          : tag.value === undefined
            ? { conditions: { Null: { [`aws:ResourceTag/${tag.key}`]: 'false' } } }
            : { conditions: { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value } } }),
      }),
    ],
  });
  fn.role.attachInlinePolicy(policy);
  fn.function.node.addDependency(policy);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:user/*]',
    reason:
      'Rotation manages the access keys of whichever IAM users are registered at run time, so the grant covers users of the account; only the five access-key actions, and only users carrying the management tag when iamManagementTag is set.',
  });
  return policy;
}

/**
 * Sealing and opening secret values (pending values, promotions): data-key calls on the secrets
 * key only with the VaultPilot encryption context, as for the secrets API, plus DescribeKey.
 */
export function grantSecretSealing(fn: VaultPilotFunction, key: IKey): void {
  fn.function.addToRolePolicy(
    new PolicyStatement({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:EncryptionContext:service': 'vaultpilot' } },
    }),
  );
  fn.function.addToRolePolicy(new PolicyStatement({ actions: ['kms:DescribeKey'], resources: [key.keyArn] }));
  fn.function.addEnvironment('VAULTPILOT_KEYRING', 'kms');
  fn.function.addEnvironment('VAULTPILOT_KMS_KEY_ID', key.keyArn);
}
