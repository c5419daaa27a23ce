/**
 * What rotating credentials may do in AWS. The rotation worker runs every rotation, retirement
 * and rollback, so only it manages the access keys of IAM users — only users carrying the
 * VaultPilot management tag when the deployment sets one (context `iamManagementTag`, `key` or
 * `key=value`); the scheduler and the rotations API send jobs to its queue, and the API invokes
 * it for explicit rollbacks. STS GetCallerIdentity, with which the new key is tested, needs no
 * permission. Database passwords are changed over the network with a managing credential from
 * the secret store, so they need no AWS permission, only network reach to the database (the
 * worker's optional VPC placement, context `rotationVpc`).
 */
import { Aws, Stack, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Node } from 'constructs';
import { IamKeyCopyPrefixSchema } from '../lambdas/shared/config.js';
import { nagArn, secretsManagerPrefixArn } from './secrets-manager-access.js';
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

/**
 * The rotations API's way to run an explicit rollback: `lambda:InvokeFunction` on the rotation
 * worker only (so the API function holds no provider rights), and the variable naming it.
 */
export function grantRollbackInvoke(fn: VaultPilotFunction, worker: IFunction): void {
  // The unqualified function only (grantInvoke would add every version and alias, `:*`).
  fn.function.addToRolePolicy(
    new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [worker.functionArn] }),
  );
  fn.function.addEnvironment('VAULTPILOT_ROTATION_WORKER_FUNCTION', worker.functionArn);
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

/** What rotating an adopted Secrets Manager secret calls (lambdas/rotators/secrets-manager-secret.ts). */
export const ADOPTED_SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:RotateSecret',
] as const;

/** The tag an owner puts on a Secrets Manager secret to let VaultPilot rotate it. */
export const ADOPTED_SECRET_TAG = 'vaultpilot:managed';

/**
 * Rotating adopted Secrets Manager secrets (`secrets-manager-secret`): only secrets carrying
 * `vaultpilot:managed=true`, in any region of the account, and only the five rotation calls (no
 * create, delete, tag or policy change, so the worker cannot tag a secret into its own reach).
 * Secrets encrypted with a customer managed KMS key also need that key's policy to let the worker
 * role decrypt and generate data keys via Secrets Manager; no KMS grant is made here. In its own
 * policy, so its cdk-nag acknowledgement covers nothing else.
 */
export function grantAdoptedSecretsRotation(fn: VaultPilotFunction): Policy {
  const policy = new Policy(fn, 'AdoptedSecrets', {
    statements: [
      new PolicyStatement({
        actions: [...ADOPTED_SECRET_ACTIONS],
        resources: [`arn:${Aws.PARTITION}:secretsmanager:*:${Aws.ACCOUNT_ID}:secret:*`],
        conditions: { StringEquals: { [`aws:ResourceTag/${ADOPTED_SECRET_TAG}`]: 'true' } },
      }),
    ],
  });
  fn.role.attachInlinePolicy(policy);
  fn.function.node.addDependency(policy);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:*:<AWS::AccountId>:secret:*]',
    reason:
      'Adopted secrets are chosen at run time and may live in any region of the account, so the grant names no secret; it is limited to secrets their owners tagged vaultpilot:managed=true, to the five rotation calls, and the worker cannot tag or create secrets.',
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

/** What writing the Secrets Manager copies of rotated IAM keys calls (lambdas/rotators/iam-key-copy.ts). */
export const IAM_KEY_COPY_ACTIONS = [
  'secretsmanager:CreateSecret',
  'secretsmanager:TagResource',
  'secretsmanager:DescribeSecret',
  'secretsmanager:PutResourcePolicy',
  'secretsmanager:PutSecretValue',
] as const;

/**
 * Writing the Secrets Manager copies of rotated IAM keys (`secretsManagerCopy`) under `prefix`,
 * and the variable naming it. No GetSecretValue: the copies' resource policy lets only their
 * user read them. CreateSecret passes tags, which needs TagResource. New secrets use the AWS
 * managed key `aws/secretsmanager`, so no KMS grant. In its own policy, so its cdk-nag
 * acknowledgement covers nothing else.
 */
export function grantIamKeyCopies(fn: VaultPilotFunction, prefix: string): Policy {
  const checked = IamKeyCopyPrefixSchema.safeParse(prefix);
  if (!checked.success) {
    throw new Error(`IAM key copy prefix "${prefix}": ${checked.error.issues[0]?.message ?? 'invalid'}`);
  }
  const policy = new Policy(fn, 'IamKeyCopies', {
    statements: [
      new PolicyStatement({
        actions: [...IAM_KEY_COPY_ACTIONS],
        resources: [secretsManagerPrefixArn(Stack.of(fn), prefix)],
      }),
    ],
  });
  fn.role.attachInlinePolicy(policy);
  fn.function.node.addDependency(policy);
  fn.function.addEnvironment('VAULTPILOT_IAM_KEY_COPY_PREFIX', prefix);
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagArn(prefix)}]`,
    reason:
      'The copies are named after the IAM users registered at run time (secret:<prefix><userName>), so the grant names the prefix; the * also covers the random ARN suffix, and the prefix ends with a slash, so no other secret matches. Only the five write and describe calls; no read.',
  });
  return policy;
}
