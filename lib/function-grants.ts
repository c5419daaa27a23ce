/**
 * A function's role and environment, derived from its manifest (lambdas/functions/<name>/manifest.ts):
 * the tables with exactly the declared actions, the key uses, the bus, the queue, the rotation
 * worker, the secret backend and the provider APIs. No stack keeps a map of its own; what a
 * function may do is said once, next to its code (test/infra/manifests.test.ts checks that each
 * role grants exactly this).
 */
import { grantNotificationSending } from './notify-access.js';
import { Aws } from 'aws-cdk-lib';
import type { IUserPool, IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { defaultIamKeyCopyPrefix } from '../lambdas/shared/config.js';
import {
  type FunctionManifest,
  secretsKeyUsesOf,
  type SecretsKeyUse,
  type TableAction,
  tablesOf,
} from '../lambdas/shared/function-manifest.js';
import { grantAuditHmacKeys, grantAuditSigning, grantAuditStreamRead } from './audit-access.js';
import { grantDiscoveryAccess } from './discovery-access.js';
import {
  grantAdoptedSecretsRotation,
  grantIamKeyCopies,
  grantIamKeyManagement,
  grantRollbackInvoke,
  grantRotationQueueSend,
  managementTagFrom,
} from './rotation-access.js';
import { grantSecretsManagerStore } from './secrets-manager-access.js';
import {
  DISCOVERY_MEMBER_ROLE_NAME,
  type DiscoverySettingsOfStage,
  type SecretBackendSetting,
} from './stage-settings.js';
import { type DataStores, grantEventPublishing, TABLE_READ_ACTIONS } from './table-access.js';
import type { VaultPilotFunction } from './vaultpilot-function.js';

/** What a stack knows that a manifest cannot: the resources and settings of this deployment. */
export interface GrantContext {
  readonly stage: string;
  readonly stores: DataStores;
  readonly secretBackend?: SecretBackendSetting;
  /** The user pool and app client whose tokens the API functions verify. */
  readonly userPool?: IUserPool;
  readonly dashboardClient?: IUserPoolClient;
  /** The CLI's app client (browser sign-in): its tokens are user tokens too. */
  readonly cliClient?: IUserPoolClient;
  /** Browser origins allowed to call the API (API functions). */
  readonly allowedOrigins?: readonly string[];
  /** The rotation worker, for the functions that invoke it. */
  readonly rotationWorker?: IFunction;
  readonly discovery?: DiscoverySettingsOfStage;
  /** The From address of alert emails (`notifyFrom`), for the functions that send notifications. */
  readonly notifyFrom?: string;
}

const SECRETS_KEY_ACTIONS: Readonly<Record<Exclude<SecretsKeyUse, 'hmac'>, readonly string[]>> = {
  seal: ['kms:GenerateDataKey', 'kms:Decrypt'],
  open: ['kms:Decrypt'],
  rewrap: ['kms:ReEncryptFrom', 'kms:ReEncryptTo'],
};

/**
 * Envelope encryption with the secrets key: data-key calls only for the VaultPilot encryption
 * context (`service = vaultpilot`, which the KMS keyring always sends), plus DescribeKey (which
 * takes no encryption context) to learn the current key ARN.
 */
function grantEnvelopeEncryption(fn: VaultPilotFunction, key: IKey, use: 'seal' | 'open' | 'rewrap'): void {
  fn.function.addToRolePolicy(
    new PolicyStatement({
      actions: [...SECRETS_KEY_ACTIONS[use]],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:EncryptionContext:service': 'vaultpilot' } },
    }),
  );
  fn.function.addToRolePolicy(new PolicyStatement({ actions: ['kms:DescribeKey'], resources: [key.keyArn] }));
  fn.function.addEnvironment('VAULTPILOT_KEYRING', 'kms');
  fn.function.addEnvironment('VAULTPILOT_KMS_KEY_ID', key.keyArn);
}

/** The DynamoDB actions of a manifest's table access. */
export function tableActions(access: readonly TableAction[]): string[] {
  return access.flatMap((action) => (action === 'read' ? [...TABLE_READ_ACTIONS] : [action]));
}

function need<T>(value: T | undefined, what: string, manifest: FunctionManifest): T {
  if (value === undefined)
    throw new Error(`Function ${manifest.name} needs ${what}, and its stack gave none`);
  return value;
}

/** Grants `fn` what `manifest` declares, and gives it the variables that name each resource. */
export function grantManifest(
  fn: VaultPilotFunction,
  manifest: FunctionManifest,
  context: GrantContext,
): void {
  const { stores } = context;
  const backend: SecretBackendSetting = context.secretBackend ?? { kind: 'dynamodb' };
  const publish = (): void => {
    for (const [name, value] of Object.entries(grantEventPublishing(fn.function, stores))) {
      fn.function.addEnvironment(name, value);
    }
  };

  // Reads first, then each table's writes: one statement each, on the table and its indexes.
  const tables = tablesOf(manifest, backend.kind);
  fn.grantTableReads(
    stores,
    tables.filter(([, access]) => access.includes('read')).map(([id]) => id),
  );
  for (const [id, access] of tables) {
    const writes = access.filter((action) => action !== 'read');
    if (writes.length > 0) fn.grantTableActions(stores, id, writes);
  }

  if (manifest.trigger.kind === 'api') {
    fn.function.addEnvironment(
      'VAULTPILOT_CORS_ORIGINS',
      need(context.allowedOrigins, 'the allowed origins', manifest).join(','),
    );
  }
  if (manifest.verifiesTokens === true) {
    fn.function.addEnvironment('VAULTPILOT_AUTH_MODE', 'cognito');
    fn.function.addEnvironment(
      'VAULTPILOT_USER_POOL_ID',
      need(context.userPool, 'the user pool', manifest).userPoolId,
    );
    // Tokens of the dashboard's and the CLI's clients are people's; any other client is a machine.
    fn.function.addEnvironment(
      'VAULTPILOT_USER_CLIENT_IDS',
      [
        need(context.dashboardClient, 'the dashboard client', manifest).userPoolClientId,
        ...(context.cliClient === undefined ? [] : [context.cliClient.userPoolClientId]),
      ].join(','),
    );
  }

  const keyUses = secretsKeyUsesOf(manifest, backend.kind);
  if (keyUses.includes('seal')) grantEnvelopeEncryption(fn, stores.secretsKey, 'seal');
  if (keyUses.includes('open')) grantEnvelopeEncryption(fn, stores.secretsKey, 'open');
  if (keyUses.includes('rewrap')) grantEnvelopeEncryption(fn, stores.secretsKey, 'rewrap');
  if (keyUses.includes('hmac')) grantAuditHmacKeys(fn, stores.secretsKey);
  if (manifest.secretStore !== undefined || (manifest.secretsKey ?? []).includes('rewrap')) {
    fn.function.addEnvironment('VAULTPILOT_SECRET_BACKEND', backend.kind);
  }
  if (manifest.secretStore !== undefined && backend.kind === 'secretsmanager') {
    grantSecretsManagerStore(fn, backend.prefix, manifest.secretStore === 'read' ? 'read' : 'readWrite');
  }
  if (manifest.auditSigningKey !== undefined) {
    grantAuditSigning(fn, stores.auditSigningKey, { sign: manifest.auditSigningKey === 'sign' });
  }
  if (manifest.trigger.kind === 'auditStream') grantAuditStreamRead(fn, stores.tables.audit, stores.tableKey);
  if (manifest.sendsRotationJobs === true) grantRotationQueueSend(fn, stores);
  if (manifest.invokesRotationWorker === true) {
    grantRollbackInvoke(fn, need(context.rotationWorker, 'the rotation worker', manifest));
  }
  if (manifest.publishesEvents === true) publish();
  if (manifest.sendsNotifications === true) {
    grantNotificationSending(fn, need(context.notifyFrom, 'the From address of alert emails', manifest));
  }

  for (const provider of manifest.providers ?? []) {
    switch (provider) {
      case 'discoveryReads': {
        const discovery = context.discovery ?? {
          roleArns: [`arn:${Aws.PARTITION}:iam::*:role/${DISCOVERY_MEMBER_ROLE_NAME}`],
          ambientTenant: 'default',
        };
        grantDiscoveryAccess(fn, fn, discovery.roleArns);
        fn.function.addEnvironment('VAULTPILOT_DISCOVERY_AMBIENT_TENANT', discovery.ambientTenant);
        break;
      }
      case 'iamAccessKeys':
        grantIamKeyManagement(fn, managementTagFrom(fn.node));
        break;
      case 'adoptedSecrets':
        grantAdoptedSecretsRotation(fn);
        break;
      case 'iamKeyCopies': {
        const copyPrefix = defaultIamKeyCopyPrefix(context.stage);
        // Separate name spaces: the store's grant must not cover the copies, nor a tenant name one.
        if (
          backend.kind === 'secretsmanager' &&
          (copyPrefix.startsWith(backend.prefix) || backend.prefix.startsWith(copyPrefix))
        ) {
          throw new Error(
            `Context "secretsManagerPrefix" (${backend.prefix}) overlaps ${copyPrefix}, where the Secrets Manager copies of IAM keys live; choose another prefix`,
          );
        }
        grantIamKeyCopies(fn, copyPrefix);
        break;
      }
    }
  }
}
