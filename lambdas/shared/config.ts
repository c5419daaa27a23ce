/**
 * Configuration: the one module that reads the environment. Values are validated with zod once
 * (at cold start for a Lambda, at start-up for the local runtime); a bad or missing value stops
 * the process with a `ConfigError` naming the variable and what is expected.
 *
 * Precedence: process environment, then an optional JSON config file (`VAULTPILOT_CONFIG_FILE`,
 * default `vaultpilot.config.json` in the working directory when present), then defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { type FunctionManifest, requiredVariables } from './function-manifest.js';
import { TABLE_LIST, TABLE_SPECS, type TableId } from './tables.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: readonly { variable: string; expected: string }[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const csv = z.string().transform((value) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0),
);

const tableVars = Object.fromEntries(
  TABLE_LIST.map((spec) => [
    spec.envVar,
    z
      .string()
      .min(3)
      .max(255)
      .regex(/^[a-zA-Z0-9_.-]+$/),
  ]),
) as Record<string, z.ZodString>;

/**
 * Where secret versions live, and the name prefix of the Secrets Manager backend's secrets.
 * Exported so the CDK deployment setting (lib/stage-settings.ts) accepts exactly what the
 * functions accept.
 */
export const SecretBackendSchema = z.enum(['dynamodb', 'secretsmanager']);
/** The Vault mount when none is configured: Vault's own default KV v2 mount. */
export const DEFAULT_VAULT_MOUNT = 'secret';

/**
 * The one Vault KV v2 mount under `/v1/` (`VAULTPILOT_VAULT_MOUNT`, CDK context `vaultMount`).
 * Exported so the CDK app refuses at synth what the secrets function would refuse at cold start.
 */
export const VaultMountSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "expected 1 to 64 letters, digits, '_' or '-' (no 'sys' or 'auth')")
  .refine(
    (mount) => !['sys', 'auth', 'identity'].includes(mount),
    "'sys', 'auth' and 'identity' are Vault's own",
  );

export const SecretsManagerPrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9/_+=.@-]{1,64}$/, 'expected up to 64 characters of A-Z a-z 0-9 / _ + = . @ -');

/**
 * Name prefix of the Secrets Manager copies of rotated IAM keys (`secretsManagerCopy`): the copy
 * of user `u` is `<prefix>u`. It ends with a slash, so a grant on `secret:<prefix>*` covers no
 * sibling names. Exported so the CDK grant and the functions use the same rule and default.
 */
export const IamKeyCopyPrefixSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9/_+=.@-]{0,127}\/$/,
    'expected up to 128 characters of A-Z a-z 0-9 / _ + = . @ - ending with /',
  );

/**
 * The default copy prefix of a stage. Apart from the Secrets Manager backend's
 * `vaultpilot/<stage>/<tenant>/…`, so a tenant can never name a copy and the backend's grant
 * never covers one.
 */
export function defaultIamKeyCopyPrefix(stage: string): string {
  return `vaultpilot-iam-keys/${stage}/`;
}

/** Variables every function (and the local runtime's in-process handlers) reads. */
const functionEnvSchema = z.object({
  VAULTPILOT_RUNTIME: z.enum(['aws', 'local']).default('aws'),
  VAULTPILOT_STAGE: z
    .string()
    .regex(/^[a-z0-9-]{1,20}$/, 'expected 1-20 lowercase letters, digits or dashes')
    .default('dev'),
  VAULTPILOT_AUTH_MODE: z.enum(['cognito', 'local']).default('cognito'),
  VAULTPILOT_USER_POOL_ID: z
    .string()
    .regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'expected a Cognito user pool id such as eu-west-1_AbCdEf123')
    .optional(),
  VAULTPILOT_USER_CLIENT_IDS: csv.optional(),
  VAULTPILOT_LOCAL_ISSUER: z.url({ error: 'expected an http(s) URL' }).optional(),
  VAULTPILOT_LOCAL_JWKS_URI: z.url({ error: 'expected an http(s) URL' }).optional(),
  VAULTPILOT_DYNAMODB_ENDPOINT: z.url({ error: 'expected an http(s) URL' }).optional(),
  VAULTPILOT_CORS_ORIGINS: csv.default([]),
  VAULTPILOT_VAULT_MOUNT: VaultMountSchema.default(DEFAULT_VAULT_MOUNT),
  VAULTPILOT_SECRET_BACKEND: SecretBackendSchema.default('dynamodb'),
  VAULTPILOT_SECRETS_MANAGER_PREFIX: SecretsManagerPrefixSchema.default('vaultpilot/'),
  VAULTPILOT_KEYRING: z.enum(['kms', 'local']).default('kms'),
  VAULTPILOT_KMS_KEY_ID: z
    .string()
    .regex(
      /^(arn:aws[\w-]*:kms:|alias\/|[0-9a-f-]{36}$)/,
      'expected a KMS key id, key ARN, alias or alias ARN',
    )
    .optional(),
  VAULTPILOT_KEYRING_DIR: z.string().min(1).optional(),
  VAULTPILOT_DATA_KEY_CACHE_MAX_AGE_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int()
    .min(0, 'expected 0 (no caching) or more seconds')
    .max(3600, 'expected at most 3600 seconds')
    .default(300),
  VAULTPILOT_DATA_KEY_CACHE_MAX_USES: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(1, 'expected at least 1')
    .max(1_000_000, 'expected at most 1000000')
    .default(10_000),
  VAULTPILOT_AUDIT_RETENTION_DAYS: z.coerce
    .number({ error: 'expected a number of days' })
    .int()
    .min(1, 'expected at least 1 day')
    .max(3650, 'expected at most 3650 days')
    .default(365),
  VAULTPILOT_AUDIT_SIGNER: z.enum(['kms', 'local']).default('kms'),
  VAULTPILOT_AUDIT_SIGNING_KEY_ID: z
    .string()
    .regex(
      /^(arn:aws[\w-]*:kms:|alias\/|[0-9a-f-]{36}$)/,
      'expected a KMS key id, key ARN, alias or alias ARN',
    )
    .optional(),
  VAULTPILOT_EVENT_BUS_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._\-/:]{1,1600}$/, 'expected an EventBridge bus name or ARN')
    .optional(),
  VAULTPILOT_ROTATION_QUEUE_URL: z.url({ error: 'expected the URL of an SQS queue' }).optional(),
  VAULTPILOT_ROTATION_WORKER_FUNCTION: z
    .string()
    .regex(
      /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,140}(:[A-Za-z0-9$_-]{1,128})?$/,
      'expected a Lambda function name or ARN',
    )
    .optional(),
  VAULTPILOT_ROTATION_CONCURRENCY: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(1, 'expected at least 1')
    .max(64, 'expected at most 64')
    .default(4),
  VAULTPILOT_ROTATION_TENANT_CONCURRENCY: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(1, 'expected at least 1')
    .max(64, 'expected at most 64')
    .default(2),
  VAULTPILOT_IAM_KEY_COPY_PREFIX: IamKeyCopyPrefixSchema.optional(),
  /** ses-smtp: the SMTP endpoint template (`host[:port]`, `{region}` replaced) instead of SES's own. */
  VAULTPILOT_SES_SMTP_ENDPOINT: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.{}-]+)(:\d{1,5})?$/, 'expected host[:port], {region} allowed')
    .optional(),
  /** Notifications: the From address of alert emails (in AWS a verified SES identity). */
  VAULTPILOT_NOTIFY_FROM: z
    .string()
    .max(320)
    .regex(
      /^([^<>\r\n]*<)?[^\s@<>]+@[^\s@<>]+(>)?$/,
      'expected an email address, optionally "Name <address>"',
    )
    .optional(),
  /** Local notifications: email through this SMTP server (smtp:// or smtps://) instead of the outbox. */
  VAULTPILOT_SMTP_URL: z
    .url({ protocol: /^smtps?$/, error: 'expected an smtp:// or smtps:// URL' })
    .optional(),
  /** Local notifications: where `.eml` files go when no SMTP server is set. */
  VAULTPILOT_OUTBOX_DIR: z.string().min(1).optional(),
  /** The dashboard's address, for links in messages. */
  VAULTPILOT_DASHBOARD_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  VAULTPILOT_DISCOVERY_AMBIENT_TENANT: z
    .string()
    .regex(/^(none|[a-z0-9][a-z0-9-]{0,62})$/, 'expected a tenant id, or none')
    .default('default'),
  VAULTPILOT_DISCOVERY_REGIONS: csv
    .pipe(
      z
        .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected AWS regions such as eu-west-1'))
        .min(1),
    )
    .optional(),
  VAULTPILOT_DISCOVERY_IAM_RATE: z.coerce
    .number({ error: 'expected a number of requests per second' })
    .min(0.5, 'expected at least 0.5 requests per second')
    .max(1000, 'expected at most 1000 requests per second')
    .default(10),
  VAULTPILOT_DISCOVERY_CONCURRENCY: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(1, 'expected at least 1')
    .max(64, 'expected at most 64')
    .default(8),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  ...Object.fromEntries(Object.entries(tableVars).map(([name, schema]) => [name, schema.optional()])),
});

export type AuthConfig =
  | { readonly mode: 'cognito'; readonly userPoolId: string; readonly userClientIds: readonly string[] }
  | {
      readonly mode: 'local';
      readonly issuer: string;
      readonly jwksUri: string;
      readonly userClientIds: readonly string[];
    };

/** Where alert messages link when the deployment did not name its dashboard (a reserved, unresolvable name). */
export const NO_DASHBOARD_URL = 'https://vaultpilot.invalid';

export interface FunctionConfig {
  readonly runtime: 'aws' | 'local';
  readonly stage: string;
  readonly region: string;
  /**
   * Token verification settings. Only functions that verify tokens need them (the Cognito
   * trigger cannot even be given the pool id: the pool refers to the trigger), so they are
   * checked when a verifier is built, by `requireAuthConfig`.
   */
  readonly authMode: 'cognito' | 'local';
  readonly auth: {
    readonly userPoolId?: string;
    readonly issuer?: string;
    readonly jwksUri?: string;
    readonly userClientIds?: readonly string[];
  };
  /** Physical table names, by table id; a table a function was not given is absent. */
  readonly tables: Readonly<Partial<Record<TableId, string>>>;
  readonly dynamodbEndpoint: string | undefined;
  readonly corsOrigins: readonly string[];
  /** The one mount of Vault's KV version 2 API under `/v1/` (docs/vault-api.md). */
  readonly vaultMount: string;
  readonly keyring: {
    readonly kind: 'kms' | 'local';
    readonly kmsKeyId: string | undefined;
    /** Local keyring directory; undefined keeps the key-encryption keys in memory. */
    readonly directory: string | undefined;
  };
  readonly dataKeyCache: { readonly maxAgeSeconds: number; readonly maxUses: number };
  /** Where secret versions live: DynamoDB (default, the only one locally) or Secrets Manager. */
  readonly secretBackend: {
    readonly kind: 'dynamodb' | 'secretsmanager';
    readonly secretsManagerPrefix: string;
  };
  readonly auditRetentionDays: number;
  /** What signs audit digests: a KMS asymmetric key, or a local Ed25519 key file (keyring directory). */
  readonly auditSigner: { readonly kind: 'kms' | 'local'; readonly kmsKeyId: string | undefined };
  /** The EventBridge bus events go to (AWS); the local runtime uses its in-process bus. */
  readonly eventBusName: string | undefined;
  /** The rotation queue (SQS in AWS; the local runtime uses its in-process queue) and the worker's limits. */
  readonly rotation: {
    readonly queueUrl: string | undefined;
    /** The rotation worker function, which the rotations API invokes to run explicit rollbacks (AWS). */
    readonly workerFunction: string | undefined;
    /** Jobs of one batch in flight at once. */
    readonly concurrency: number;
    /** Jobs of one tenant in flight at once within a batch. */
    readonly tenantConcurrency: number;
    /** Name prefix of the Secrets Manager copies of rotated IAM keys (`secretsManagerCopy`). */
    readonly iamKeyCopyPrefix: string;
    /** ses-smtp: the SMTP endpoint template instead of `email-smtp.{region}.amazonaws.com:587`. */
    readonly sesSmtpEndpoint: string | undefined;
  };
  /** Notifications (the notifications API, the notifier and the digest). */
  readonly notify: {
    /** The From of alert emails; required where a manifest sends notifications in AWS, a local default otherwise. */
    readonly from: string | undefined;
    /** Local runtime: SMTP instead of the outbox folder. */
    readonly smtpUrl: string | undefined;
    /** Local runtime: where `.eml` files go without SMTP (default: the data directory's outbox/). */
    readonly outboxDir: string | undefined;
    /** The dashboard's address, which messages link to (NO_DASHBOARD_URL when unknown). */
    readonly dashboardUrl: string;
  };
  readonly discovery: {
    /** The tenant whose first account is the ambient AWS credentials' (undefined: none). */
    readonly ambientTenant: string | undefined;
    /** Regions of Secrets Manager and SSM scanned unless a tenant's settings name others. */
    readonly regions: readonly string[];
    /** Ceiling of IAM requests per second per account. */
    readonly iamRatePerSecond: number;
    /** AWS calls in flight per API and account. */
    readonly concurrency: number;
  };
}

/**
 * Variables of the local runtime (`npm start`, the `vaultpilot` CLI). Built on first use, so the
 * Lambda bundles, which never read them, neither hold nor build this schema.
 */
let localEnv: ReturnType<typeof buildLocalEnvSchema> | undefined;
function localEnvSchema() {
  return (localEnv ??= buildLocalEnvSchema());
}

function buildLocalEnvSchema() {
  const port = z.coerce
    .number({ error: 'expected a port number' })
    .int('expected an integer port')
    .min(0, 'expected a port between 0 and 65535')
    .max(65535, 'expected a port between 0 and 65535');
  const bool = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');
  return z.object({
    PORT: port.default(3000),
    VAULTPILOT_HOST: z.string().min(1).default('127.0.0.1'),
    VAULTPILOT_DATA_DIR: z.string().min(1).default('.vaultpilot'),
    VAULTPILOT_IN_MEMORY: bool.default(false),
    VAULTPILOT_DYNAMODB_PORT: port.default(0),
    VAULTPILOT_ADMIN_PASSWORD: z
      .string()
      .min(12, 'expected at least 12 characters')
      .max(256, 'expected at most 256 characters')
      .optional(),
    VAULTPILOT_SCHEDULER: bool.default(true),
    VAULTPILOT_LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
    VAULTPILOT_TOKEN_TTL_SECONDS: z.coerce
      .number({ error: 'expected a number of seconds' })
      .int()
      .min(60, 'expected at least 60 seconds')
      .max(86_400, 'expected at most 86400 seconds (one day)')
      .default(3600),
  });
}

export interface LocalRuntimeConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly inMemory: boolean;
  readonly dynamodbPort: number;
  readonly adminPassword: string | undefined;
  readonly scheduler: boolean;
  readonly logFormat: 'pretty' | 'json';
  readonly tokenTtlSeconds: number;
}

/**
 * Every variable VaultPilot reads, with what it expects: the README's table is checked against it.
 * A function, not a constant: a constant built from the local runtime's schema would keep that
 * schema, and its construction at load, in every Lambda bundle.
 */
export function configVariables(): readonly string[] {
  return [
    ...Object.keys(functionEnvSchema.shape),
    ...Object.keys(localEnvSchema().shape),
    'VAULTPILOT_CONFIG_FILE',
  ];
}

/**
 * The environment is parsed once per process: zod's compiled fast path for objects (built with
 * `new Function` on an object schema's first parse) would cost more at cold start than the one
 * parse it speeds up, so these parses skip it.
 */
const ONCE = { jitless: true } as const;

function toConfigError(error: z.ZodError, env: Env): ConfigError {
  const problems = error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? 'environment');
    return { variable, expected: issue.message };
  });
  const lines = problems.map(({ variable, expected }) => {
    const got = env[variable];
    // Never echo a value that may be a secret.
    const shown = got === undefined || /PASSWORD|SECRET|KEY/.test(variable) ? '' : ` (got "${got}")`;
    return `  ${variable}: ${expected}${shown}`;
  });
  return new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, problems);
}

/** Merges the optional JSON config file under the environment. */
export function readEnvironment(env: Env = process.env, cwd: string = process.cwd()): Env {
  // Empty counts as unset, as everywhere else (see `withoutEmpty`).
  const explicit = env.VAULTPILOT_CONFIG_FILE === '' ? undefined : env.VAULTPILOT_CONFIG_FILE;
  const file = resolve(cwd, explicit ?? 'vaultpilot.config.json');
  if (!existsSync(file)) {
    if (explicit !== undefined) {
      throw new ConfigError(`Invalid configuration:\n  VAULTPILOT_CONFIG_FILE: file not found: ${file}`, [
        { variable: 'VAULTPILOT_CONFIG_FILE', expected: 'an existing JSON file' },
      ]);
    }
    return env;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      `Invalid configuration:\n  VAULTPILOT_CONFIG_FILE: ${file} is not valid JSON (${reason})`,
      [{ variable: 'VAULTPILOT_CONFIG_FILE', expected: 'a JSON object of VARIABLE: "value" pairs' }],
    );
  }
  const fileSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    throw new ConfigError(
      `Invalid configuration:\n  VAULTPILOT_CONFIG_FILE: ${file} must be a JSON object of VARIABLE: "value" pairs`,
      [{ variable: 'VAULTPILOT_CONFIG_FILE', expected: 'a JSON object of VARIABLE: "value" pairs' }],
    );
  }
  const fromFile = Object.fromEntries(
    Object.entries(result.data).map(([key, value]) => [key, String(value)]),
  );
  return { ...fromFile, ...env };
}

/** Treats empty strings as unset, as shells and CloudFormation often produce them. */
function withoutEmpty(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
}

export function parseFunctionConfig(env: Env): FunctionConfig {
  const result = functionEnvSchema.safeParse(withoutEmpty(env), ONCE);
  if (!result.success) throw toConfigError(result.error, env);
  const v = result.data;
  const byName = result.data as Record<string, unknown>;
  const tables: Partial<Record<TableId, string>> = {};
  for (const spec of Object.values(TABLE_SPECS)) {
    const name = byName[spec.envVar];
    if (typeof name === 'string') tables[spec.id] = name;
  }
  return {
    runtime: v.VAULTPILOT_RUNTIME,
    stage: v.VAULTPILOT_STAGE,
    region: v.AWS_REGION,
    authMode: v.VAULTPILOT_AUTH_MODE,
    auth: {
      ...(v.VAULTPILOT_USER_POOL_ID === undefined ? {} : { userPoolId: v.VAULTPILOT_USER_POOL_ID }),
      ...(v.VAULTPILOT_LOCAL_ISSUER === undefined ? {} : { issuer: v.VAULTPILOT_LOCAL_ISSUER }),
      ...(v.VAULTPILOT_LOCAL_JWKS_URI === undefined ? {} : { jwksUri: v.VAULTPILOT_LOCAL_JWKS_URI }),
      ...(v.VAULTPILOT_USER_CLIENT_IDS === undefined ? {} : { userClientIds: v.VAULTPILOT_USER_CLIENT_IDS }),
    },
    tables,
    dynamodbEndpoint: v.VAULTPILOT_DYNAMODB_ENDPOINT,
    corsOrigins: v.VAULTPILOT_CORS_ORIGINS,
    vaultMount: v.VAULTPILOT_VAULT_MOUNT,
    keyring: {
      kind: v.VAULTPILOT_KEYRING,
      kmsKeyId: v.VAULTPILOT_KMS_KEY_ID,
      directory: v.VAULTPILOT_KEYRING_DIR,
    },
    dataKeyCache: {
      maxAgeSeconds: v.VAULTPILOT_DATA_KEY_CACHE_MAX_AGE_SECONDS,
      maxUses: v.VAULTPILOT_DATA_KEY_CACHE_MAX_USES,
    },
    auditRetentionDays: v.VAULTPILOT_AUDIT_RETENTION_DAYS,
    auditSigner: { kind: v.VAULTPILOT_AUDIT_SIGNER, kmsKeyId: v.VAULTPILOT_AUDIT_SIGNING_KEY_ID },
    eventBusName: v.VAULTPILOT_EVENT_BUS_NAME,
    rotation: {
      queueUrl: v.VAULTPILOT_ROTATION_QUEUE_URL,
      workerFunction: v.VAULTPILOT_ROTATION_WORKER_FUNCTION,
      concurrency: v.VAULTPILOT_ROTATION_CONCURRENCY,
      tenantConcurrency: v.VAULTPILOT_ROTATION_TENANT_CONCURRENCY,
      iamKeyCopyPrefix: v.VAULTPILOT_IAM_KEY_COPY_PREFIX ?? defaultIamKeyCopyPrefix(v.VAULTPILOT_STAGE),
      sesSmtpEndpoint: v.VAULTPILOT_SES_SMTP_ENDPOINT,
    },
    notify: {
      from: v.VAULTPILOT_NOTIFY_FROM,
      smtpUrl: v.VAULTPILOT_SMTP_URL,
      outboxDir: v.VAULTPILOT_OUTBOX_DIR,
      dashboardUrl: v.VAULTPILOT_DASHBOARD_URL ?? NO_DASHBOARD_URL,
    },
    discovery: {
      ambientTenant:
        v.VAULTPILOT_DISCOVERY_AMBIENT_TENANT === 'none' ? undefined : v.VAULTPILOT_DISCOVERY_AMBIENT_TENANT,
      regions: v.VAULTPILOT_DISCOVERY_REGIONS ?? [v.AWS_REGION],
      iamRatePerSecond: v.VAULTPILOT_DISCOVERY_IAM_RATE,
      concurrency: v.VAULTPILOT_DISCOVERY_CONCURRENCY,
    },
    secretBackend: {
      kind: v.VAULTPILOT_SECRET_BACKEND,
      secretsManagerPrefix: v.VAULTPILOT_SECRETS_MANAGER_PREFIX,
    },
  };
}

/**
 * The configuration of one function: every variable checked, and every variable its manifest
 * makes necessary present. Called once per process, at the function's cold start.
 */
export function parseFunctionConfigFor(manifest: FunctionManifest, env: Env): FunctionConfig {
  const config = parseFunctionConfig(env);
  const set = withoutEmpty(env);
  const missing = requiredVariables(manifest, {
    runtime: config.runtime,
    authMode: config.authMode,
    secretBackend: config.secretBackend.kind,
  }).filter(({ variable }) => set[variable] === undefined);
  if (missing.length > 0) {
    const lines = missing.map(({ variable, expected }) => `  ${variable}: required (${expected})`);
    throw new ConfigError(
      `Invalid configuration of function ${manifest.name}:\n${lines.join('\n')}`,
      missing.map(({ variable, expected }) => ({ variable, expected })),
    );
  }
  return config;
}

/** The token verification settings of the configured mode; names every missing variable. */
export function requireAuthConfig(config: FunctionConfig): AuthConfig {
  const { auth } = config;
  const missing: { variable: string; expected: string }[] = [];
  const need = (variable: string, value: unknown, expected: string): void => {
    if (value === undefined || (Array.isArray(value) && value.length === 0))
      missing.push({ variable, expected });
  };
  need(
    'VAULTPILOT_USER_CLIENT_IDS',
    auth.userClientIds,
    'required to verify tokens (comma-separated app client ids)',
  );
  if (config.authMode === 'cognito') {
    need('VAULTPILOT_USER_POOL_ID', auth.userPoolId, 'required when VAULTPILOT_AUTH_MODE=cognito');
  } else {
    need('VAULTPILOT_LOCAL_ISSUER', auth.issuer, 'required when VAULTPILOT_AUTH_MODE=local');
    need('VAULTPILOT_LOCAL_JWKS_URI', auth.jwksUri, 'required when VAULTPILOT_AUTH_MODE=local');
  }
  if (missing.length > 0) {
    const lines = missing.map(({ variable, expected }) => `  ${variable}: ${expected}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, missing);
  }
  const userClientIds = auth.userClientIds ?? [];
  return config.authMode === 'cognito'
    ? { mode: 'cognito', userPoolId: auth.userPoolId ?? '', userClientIds }
    : { mode: 'local', issuer: auth.issuer ?? '', jwksUri: auth.jwksUri ?? '', userClientIds };
}

export function parseLocalRuntimeConfig(env: Env): LocalRuntimeConfig {
  const result = localEnvSchema().safeParse(withoutEmpty(env), ONCE);
  if (!result.success) throw toConfigError(result.error, env);
  const v = result.data;
  return {
    port: v.PORT,
    host: v.VAULTPILOT_HOST,
    dataDir: v.VAULTPILOT_DATA_DIR,
    inMemory: v.VAULTPILOT_IN_MEMORY,
    dynamodbPort: v.VAULTPILOT_DYNAMODB_PORT,
    adminPassword: v.VAULTPILOT_ADMIN_PASSWORD,
    scheduler: v.VAULTPILOT_SCHEDULER,
    logFormat: v.VAULTPILOT_LOG_FORMAT,
    tokenTtlSeconds: v.VAULTPILOT_TOKEN_TTL_SECONDS,
  };
}
