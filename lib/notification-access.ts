/**
 * What sending alerts needs in AWS: SES `SendEmail` from the deployment account's verified
 * identities (the From is `VAULTPILOT_NOTIFY_FROM`), and SNS `Publish` to the topics tenants name
 * (any account: the topic's own policy decides), with the KMS data-key calls SNS makes on a
 * publisher's behalf for KMS-encrypted topics, only through SNS.
 */
import { Aws, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { VaultPilotFunction } from './vaultpilot-function.js';

export function grantNotificationSends(scope: Construct, fn: VaultPilotFunction): Policy {
  const policy = new Policy(scope, 'NotificationSendPolicy', {
    statements: [
      new PolicyStatement({
        sid: 'SendAlertEmail',
        actions: ['ses:SendEmail'],
        resources: [`arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/*`],
      }),
      new PolicyStatement({
        sid: 'PublishAlertsToTenantTopics',
        actions: ['sns:Publish'],
        resources: [`arn:${Aws.PARTITION}:sns:*:*:*`],
      }),
      new PolicyStatement({
        sid: 'EncryptForKmsTopics',
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: [`arn:${Aws.PARTITION}:kms:*:*:key/*`],
        conditions: { StringLike: { 'kms:ViaService': 'sns.*.amazonaws.com' } },
      }),
    ],
  });
  policy.attachToRole(fn.role);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
    reason:
      'Alert emails are sent from the verified SES identity configured at deploy (VAULTPILOT_NOTIFY_FROM); SES checks the From against the identity, and only identities of this account and region are covered.',
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sns:*:*:*]',
    reason:
      'Tenants name their own SNS topics, in this or another account, at run time; the topic policy of each decides whether this role may publish. Only sns:Publish is granted.',
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:*:key/*]',
    reason:
      'KMS-encrypted topics are encrypted with keys tenants choose; the calls are allowed only through SNS (kms:ViaService), and each key policy must also allow this role.',
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason: "SNS asks for GenerateDataKey (and its variants) on the publisher's behalf for encrypted topics.",
  });
  return policy;
}
