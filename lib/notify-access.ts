/**
 * What the notifier may do beyond VaultPilot's own resources: send email from the deployment's
 * From address only (SES `ses:FromAddress`), publish to the SNS topics people name as channels
 * (any topic, also in other accounts: a channel's topic is only known at run time), and use the
 * topics' KMS keys only through SNS (`kms:ViaService`), so an encrypted topic works without the
 * role reaching any key directly.
 */
import { Aws, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { VaultPilotFunction } from './vaultpilot-function.js';

/** The address in `Name <address>`, as SES compares `ses:FromAddress`. */
export function fromAddressOf(from: string): string {
  return /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from.trim();
}

export function grantNotificationSending(fn: VaultPilotFunction, from: string): void {
  fn.function.addEnvironment('VAULTPILOT_NOTIFY_FROM', from);
  fn.function.addToRolePolicy(
    new PolicyStatement({
      sid: 'SendAlertEmail',
      actions: ['ses:SendEmail'],
      resources: [`arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/*`],
      conditions: { StringEquals: { 'ses:FromAddress': fromAddressOf(from) } },
    }),
  );
  fn.function.addToRolePolicy(
    new PolicyStatement({
      sid: 'PublishAlertTopics',
      actions: ['sns:Publish'],
      resources: [`arn:${Aws.PARTITION}:sns:*:*:*`],
    }),
  );
  fn.function.addToRolePolicy(
    new PolicyStatement({
      sid: 'EncryptedAlertTopics',
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [`arn:${Aws.PARTITION}:kms:*:*:key/*`],
      conditions: { StringLike: { 'kms:ViaService': 'sns.*.amazonaws.com' } },
    }),
  );
  const acknowledge = (resource: string, reason: string): void =>
    Validations.of(fn).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
  acknowledge(
    'arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*',
    'The notifier sends email only from the configured From address (ses:FromAddress condition); SES authorises it against whichever verified identity (address or domain) covers that address.',
  );
  acknowledge(
    'arn:<AWS::Partition>:sns:*:*:*',
    'SNS channels name topics that admins register at run time, in any region and account (cross-account topics are a feature); publishing is the only action.',
  );
  acknowledge(
    'arn:<AWS::Partition>:kms:*:*:key/*',
    'KMS-encrypted SNS topics need the publisher to use the topic key; the kms:ViaService condition allows it only through SNS, never directly.',
  );
}
