/**
 * What one Lambda function needs, declared once next to its code
 * (`lambdas/functions/<name>/manifest.ts`). CDK derives the function's role and environment from
 * it (lib/function-grants.ts), the function derives the variables it requires at cold start from
 * it (`requiredVariables`), and the local runtime's registry is built from the same list. A
 * manifest imports only specs (tables, routes, engines), never composition code, so CDK can read
 * it without bundling a Lambda.
 */
import type { EngineId } from './engines.js';
import type { ApiHandlerId } from './routes.js';
import { TABLE_SPECS, type TableId } from './tables.js';

/**
 * What a function may do on a table: `read` (get, batch get, query, condition check, describe;
 * never scan: keys start with the tenant), or single DynamoDB actions. The audit table is
 * append-only: no function may update or delete its items (test/infra/manifests.test.ts).
 */
export type TableAction =
  'read' | 'dynamodb:GetItem' | 'dynamodb:PutItem' | 'dynamodb:UpdateItem' | 'dynamodb:DeleteItem';

export type TableAccess = readonly TableAction[];

/**
 * Uses of the secrets key: `seal` (GenerateDataKey, Decrypt) seals and opens secret values;
 * `open` (Decrypt) only opens them; `rewrap` (ReEncrypt) moves data keys to the current key inside KMS; `hmac` wraps the audit
 * log's per-tenant HMAC keys (encryption context path `@audit/hmac-key` only).
 */
export type SecretsKeyUse = 'seal' | 'open' | 'rewrap' | 'hmac';

/** How a function is started. */
export type FunctionTrigger =
  | { readonly kind: 'api'; readonly handler: ApiHandlerId }
  | { readonly kind: 'schedule'; readonly engine: EngineId }
  | { readonly kind: 'auditStream' }
  | { readonly kind: 'rotationQueue' }
  /**
   * Events of VaultPilot's bus: an EventBridge rule matching these `detail-type`s in AWS
   * (lib/engines-stack.ts), a subscription to the in-process bus locally (lambdas/local/runtime.ts).
   */
  | { readonly kind: 'bus'; readonly eventTypes: readonly string[] }
  | { readonly kind: 'cognitoPreTokenGeneration' };

/** AWS APIs beyond VaultPilot's own resources, each granted by one function in lib/. */
export type ProviderAccess = 'iamAccessKeys' | 'iamKeyCopies' | 'adoptedSecrets' | 'discoveryReads';

export interface FunctionManifest {
  /** The folder under `lambdas/functions/`; also the function's id in the local registry. */
  readonly name: string;
  readonly description: string;
  readonly trigger: FunctionTrigger;
  readonly tables: Readonly<Partial<Record<TableId, TableAccess>>>;
  readonly secretsKey?: readonly SecretsKeyUse[];
  /** The audit digest key: `sign` also signs; `verify` only reads the public key. */
  readonly auditSigningKey?: 'sign' | 'verify';
  /** Publishes lifecycle events on VaultPilot's bus. */
  readonly publishesEvents?: boolean;
  /** Sends jobs to the rotation queue. */
  readonly sendsRotationJobs?: boolean;
  /**
   * Delivers notifications: email from the verified SES identity of the deployment, SNS topics
   * (also KMS-encrypted and in other accounts), Slack and webhooks over HTTPS.
   */
  readonly sendsNotifications?: boolean;
  /** Invokes the rotation worker directly (explicit rollbacks). */
  readonly invokesRotationWorker?: boolean;
  /**
   * Keeps secret versions through the SecretStore port (`true`), or only reads them (`'read'`),
   * so on the Secrets Manager backend it gets the store's grants (all of them, or GetSecretValue
   * alone) instead of the secrets table.
   */
  readonly secretStore?: true | 'read';
  /** Verifies bearer tokens (needs the user pool, or the local issuer, and the user client ids). */
  readonly verifiesTokens?: boolean;
  readonly providers?: readonly ProviderAccess[];
  /** Lambda settings. The timeout is `DEFAULT_TIMEOUT_SECONDS` unless given, in AWS and locally. */
  readonly timeoutSeconds?: number;
  readonly memoryMb?: number;
  /**
   * The AWS SDK packages the function's bundle uses, in AWS: `npm run bench -- lambda` builds a
   * bare bundle of exactly these clients to compare the function with.
   */
  readonly sdkClients: readonly string[];
}

/** A function's timeout when its manifest gives none (the API's read-only functions). */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/**
 * API Gateway's integration limit, the timeout of every API function that changes state. A change
 * makes several DynamoDB calls after its `attempted` audit event, and under throttling each may
 * wait on the SDK's backoff (DynamoDB: four attempts, a random share of 1, 2 and 4 s between them).
 * With 10 s, writes under the storage-fault suite (every table throttled at 50 %) ran out of time
 * after their commit point and answered 503 although the change was stored.
 */
export const API_GATEWAY_TIMEOUT_SECONDS = 29;

/** A function's timeout as deployed (lib/) and as the local runtime applies it. */
export function timeoutSecondsOf(manifest: Pick<FunctionManifest, 'timeoutSeconds'>): number {
  return manifest.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
}

export type SecretBackendKind = 'dynamodb' | 'secretsmanager';

/**
 * The tables a function gets on a secret backend. On Secrets Manager, secret versions live there,
 * so the functions that keep them (and re-wrap, which then has nothing to work on) get no secrets
 * table; the rest keep what they declare.
 */
export function tablesOf(manifest: FunctionManifest, backend: SecretBackendKind): [TableId, TableAccess][] {
  const dropsSecretsTable =
    backend === 'secretsmanager' &&
    (manifest.secretStore !== undefined || manifest.secretsKey?.includes('rewrap') === true);
  return (Object.entries(manifest.tables) as [TableId, TableAccess][]).filter(
    ([id]) => !(dropsSecretsTable && id === 'secrets'),
  );
}

/** The secrets key uses on a backend: re-wrapping has nothing to work on in Secrets Manager. */
export function secretsKeyUsesOf(manifest: FunctionManifest, backend: SecretBackendKind): SecretsKeyUse[] {
  return (manifest.secretsKey ?? []).filter((use) => !(backend === 'secretsmanager' && use === 'rewrap'));
}

export interface RequiredVariable {
  readonly variable: string;
  readonly expected: string;
}

/**
 * The variables a function cannot start without, with what each should hold. Local runs use the
 * in-process bus, queue and keyring, so only AWS needs their names.
 */
export function requiredVariables(
  manifest: FunctionManifest,
  settings: {
    readonly runtime: 'aws' | 'local';
    readonly authMode: 'cognito' | 'local';
    readonly secretBackend: SecretBackendKind;
  },
): RequiredVariable[] {
  const { runtime, authMode } = settings;
  const required: RequiredVariable[] = [];
  for (const [id] of tablesOf(manifest, settings.secretBackend)) {
    required.push({ variable: TABLE_SPECS[id].envVar, expected: `the physical name of the ${id} table` });
  }
  if (manifest.verifiesTokens === true) {
    required.push({
      variable: 'VAULTPILOT_USER_CLIENT_IDS',
      expected: 'the app client ids users sign in through (comma-separated)',
    });
    if (authMode === 'cognito') {
      required.push({ variable: 'VAULTPILOT_USER_POOL_ID', expected: 'the Cognito user pool id' });
    } else {
      required.push(
        { variable: 'VAULTPILOT_LOCAL_ISSUER', expected: 'the local issuer URL' },
        { variable: 'VAULTPILOT_LOCAL_JWKS_URI', expected: "the local issuer's JWKS URL" },
      );
    }
  }
  if (runtime === 'local') return required;
  if (secretsKeyUsesOf(manifest, settings.secretBackend).length > 0) {
    required.push({ variable: 'VAULTPILOT_KMS_KEY_ID', expected: 'the ARN of the key that wraps data keys' });
  }
  if (manifest.auditSigningKey !== undefined) {
    required.push({
      variable: 'VAULTPILOT_AUDIT_SIGNING_KEY_ID',
      expected: 'the ARN of the asymmetric key that signs digests',
    });
  }
  if (manifest.publishesEvents === true) {
    required.push({
      variable: 'VAULTPILOT_EVENT_BUS_NAME',
      expected: 'the name or ARN of the EventBridge bus',
    });
  }
  if (manifest.sendsRotationJobs === true) {
    required.push({
      variable: 'VAULTPILOT_ROTATION_QUEUE_URL',
      expected: 'the URL of the rotation SQS queue',
    });
  }
  if (manifest.sendsNotifications === true) {
    required.push({
      variable: 'VAULTPILOT_NOTIFY_FROM',
      expected: 'the From address of alert emails (a verified SES identity)',
    });
  }
  if (manifest.invokesRotationWorker === true) {
    required.push({
      variable: 'VAULTPILOT_ROTATION_WORKER_FUNCTION',
      expected: 'the rotation worker function name or ARN',
    });
  }
  return required;
}
