/**
 * Least-privilege access of a function to the Secrets Manager secret store
 * (lambdas/adapters/aws/secrets-manager-secret-store.ts): exactly the calls the adapter makes,
 * on exactly the secrets under the deployment's name prefix.
 */
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { VaultPilotFunction } from './vaultpilot-function.js';

/**
 * What the adapter calls on its own secrets. CreateSecret passes tags, which needs TagResource
 * as well; no UpdateSecret, UntagResource, ListSecretVersionIds, RestoreSecret or policy calls.
 */
export const SECRETS_MANAGER_STORE_ACTIONS: readonly string[] = [
  'secretsmanager:CreateSecret',
  'secretsmanager:TagResource',
  'secretsmanager:PutSecretValue',
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:DeleteSecret',
];

/** What a reader of the store calls: the adapter's reads are GetSecretValue alone. */
export const SECRETS_MANAGER_READ_ACTIONS: readonly string[] = ['secretsmanager:GetSecretValue'];

/** Listing by name prefix; Secrets Manager supports no resource-level permissions for it. */
export const SECRETS_MANAGER_LIST_ACTIONS: readonly string[] = ['secretsmanager:ListSecrets'];

/**
 * ARN pattern of every secret under `prefix`. The trailing `*` also covers the six random
 * characters Secrets Manager appends to each secret's ARN.
 */
export function secretsManagerPrefixArn(stack: Stack, prefix: string): string {
  return stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${prefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * Grants the function the Secrets Manager store's calls and tells it the name prefix (the
 * caller sets `VAULTPILOT_SECRET_BACKEND`). The statements sit in their own policy so their
 * cdk-nag acknowledgements cover nothing else. New secrets use Secrets Manager's AWS managed key
 * (`aws/secretsmanager`): the container passes the adapter no KmsKeyId, so no KMS grant is
 * needed here; values are sealed by our envelope under the secrets key in any case.
 * A `read` function (the notifier and the digest read channel secrets) gets GetSecretValue on the
 * prefix and nothing else: no writes, no listing.
 */
export function grantSecretsManagerStore(
  fn: VaultPilotFunction,
  prefix: string,
  access: 'readWrite' | 'read' = 'readWrite',
): Policy {
  const secretArn = secretsManagerPrefixArn(Stack.of(fn), prefix);
  const policy = new Policy(fn, 'SecretsManagerStore', {
    statements:
      access === 'read'
        ? [new PolicyStatement({ actions: [...SECRETS_MANAGER_READ_ACTIONS], resources: [secretArn] })]
        : [
            new PolicyStatement({ actions: [...SECRETS_MANAGER_STORE_ACTIONS], resources: [secretArn] }),
            new PolicyStatement({ actions: [...SECRETS_MANAGER_LIST_ACTIONS], resources: ['*'] }),
          ],
  });
  fn.role.attachInlinePolicy(policy);
  // The function must not run before its role may reach the store.
  fn.function.node.addDependency(policy);
  fn.function.addEnvironment('VAULTPILOT_SECRETS_MANAGER_PREFIX', prefix);

  if (access === 'readWrite') {
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'secretsmanager:ListSecrets supports no resource-level permissions; the adapter lists with a name filter on its own prefix and tenant and re-checks every name, and this statement grants nothing else.',
    });
  }
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagArn(prefix)}]`,
    reason:
      'The Secrets Manager backend creates one secret per VaultPilot path at run time, so the grant names the deployment prefix (secret:<prefix>*, the * also covering the random ARN suffix); the prefix ends with a slash, so no other secret matches.',
  });
  return policy;
}

/** The prefix ARN as cdk-nag renders it in finding ids (tokens as `<AWS::…>`). */
export function nagArn(prefix: string): string {
  return `arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*`;
}
