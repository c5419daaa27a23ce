/**
 * Least-privilege grants of the tamper-evident audit log (ADR 0004): the digest signing key, the
 * per-tenant HMAC keys, and the audit table's stream for the sequencer.
 */
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { VaultPilotFunction } from './vaultpilot-function.js';

/** The encryption context path of the per-tenant HMAC keys (lambdas/core/audit/identifier-hasher.ts). */
export const AUDIT_HMAC_KEY_PATH = '@audit/hmac-key';

/**
 * The digest signing key: `GetPublicKey` for every holder (to serve and check the public key),
 * `Sign` only when `sign` is set; and the variables that select the KMS signer.
 */
export function grantAuditSigning(fn: VaultPilotFunction, key: IKey, options: { sign: boolean }): void {
  fn.function.addToRolePolicy(
    new PolicyStatement({
      actions: options.sign ? ['kms:GetPublicKey', 'kms:Sign'] : ['kms:GetPublicKey'],
      resources: [key.keyArn],
    }),
  );
  fn.function.addEnvironment('VAULTPILOT_AUDIT_SIGNER', 'kms');
  fn.function.addEnvironment('VAULTPILOT_AUDIT_SIGNING_KEY_ID', key.keyArn);
}

/**
 * Per-tenant HMAC keys, wrapped by the secrets key: data keys only under the encryption context
 * of an HMAC key (`path = @audit/hmac-key`), which no secret version has, so the grant opens no
 * secret's data key.
 */
export function grantAuditHmacKeys(fn: VaultPilotFunction, secretsKey: IKey): void {
  fn.function.addToRolePolicy(
    new PolicyStatement({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [secretsKey.keyArn],
      conditions: {
        StringEquals: {
          'kms:EncryptionContext:service': 'vaultpilot',
          'kms:EncryptionContext:path': AUDIT_HMAC_KEY_PATH,
        },
      },
    }),
  );
  fn.function.addEnvironment('VAULTPILOT_KEYRING', 'kms');
  fn.function.addEnvironment('VAULTPILOT_KMS_KEY_ID', secretsKey.keyArn);
}

/**
 * Reading the audit table's stream, by exact stream ARN (no `stream/*`), and decrypting its
 * records: DynamoDB Streams encrypts them with the table's key. Decrypt carries no
 * `kms:ViaService` condition here, as `grantStreamRead` of aws-cdk-lib grants it: the stream
 * reader's decryption is not documented to arrive through the DynamoDB endpoint.
 */
export function grantAuditStreamRead(fn: VaultPilotFunction, table: ITable, tableKey: IKey): void {
  const streamArn = table.tableStreamArn;
  if (streamArn === undefined) throw new Error('The audit table has no stream; its spec must enable one');
  fn.function.addToRolePolicy(
    new PolicyStatement({
      actions: [
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
      ],
      resources: [streamArn],
    }),
  );
  fn.function.addToRolePolicy(
    new PolicyStatement({ actions: ['kms:Decrypt'], resources: [tableKey.keyArn] }),
  );
}
