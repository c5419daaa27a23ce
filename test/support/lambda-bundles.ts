/**
 * Builds Lambda bundles exactly as CDK does (lib/lambda-bundle.ts), for the bundle tests and
 * `npm run bench -- lambda`, and loads them in a fresh Node process, as a Lambda cold start would.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { MANIFESTS, type FunctionId } from '../../lambdas/functions/index.js';
import { LAMBDA_BUNDLE } from '../../lib/lambda-bundle.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** Every variable CDK sets on some function (lib/function-grants.ts), with plausible AWS values. */
export const AWS_FUNCTION_ENV: Readonly<Record<string, string>> = {
  VAULTPILOT_RUNTIME: 'aws',
  VAULTPILOT_STAGE: 'dev',
  AWS_REGION: 'eu-west-1',
  VAULTPILOT_AUTH_MODE: 'cognito',
  VAULTPILOT_USER_POOL_ID: 'eu-west-1_AbCdEf123',
  VAULTPILOT_USER_CLIENT_IDS: 'dashboard',
  VAULTPILOT_CORS_ORIGINS: 'https://dashboard.example.com',
  VAULTPILOT_TABLE_SECRETS: 'vp-secrets',
  VAULTPILOT_TABLE_SETTINGS: 'vp-settings',
  VAULTPILOT_TABLE_AUDIT: 'vp-audit',
  VAULTPILOT_TABLE_CREDENTIALS: 'vp-credentials',
  VAULTPILOT_TABLE_ROTATIONS: 'vp-rotations',
  VAULTPILOT_KEYRING: 'kms',
  VAULTPILOT_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/0b6c4a3e-1111-2222-3333-444455556666',
  VAULTPILOT_AUDIT_SIGNER: 'kms',
  VAULTPILOT_AUDIT_SIGNING_KEY_ID:
    'arn:aws:kms:eu-west-1:123456789012:key/0b6c4a3e-1111-2222-3333-777788889999',
  VAULTPILOT_EVENT_BUS_NAME: 'vaultpilot-dev',
  VAULTPILOT_ROTATION_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/rotations',
  VAULTPILOT_ROTATION_WORKER_FUNCTION: 'VaultPilot-dev-RotationWorker',
  VAULTPILOT_NOTIFY_FROM: 'VaultPilot <alerts@example.com>',
  VAULTPILOT_DASHBOARD_URL: 'https://dashboard.example.com',
  // As deployed (lib/vaultpilot-function.ts): the source map is read at cold start.
  NODE_OPTIONS: LAMBDA_BUNDLE.nodeOptions,
  // No config file, quiet Powertools, no SDK version warning.
  VAULTPILOT_CONFIG_FILE: '',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface BuiltBundle {
  readonly file: string;
  /** Bytes of the minified JavaScript (no source map). */
  readonly bytes: number;
  readonly metafile: Metafile;
}

/** Bundles `entry` (absolute) to `outfile` with the Lambda options. */
export async function bundle(entry: string, outfile: string): Promise<BuiltBundle> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: LAMBDA_BUNDLE.format,
    target: LAMBDA_BUNDLE.target,
    platform: LAMBDA_BUNDLE.platform,
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    banner: { js: LAMBDA_BUNDLE.banner },
    minify: LAMBDA_BUNDLE.minify,
    sourcemap: LAMBDA_BUNDLE.sourcemap,
    sourcesContent: LAMBDA_BUNDLE.sourcesContent,
    keepNames: LAMBDA_BUNDLE.keepNames,
    define: { ...LAMBDA_BUNDLE.define },
    metafile: true,
    logLevel: 'silent',
    // The bare bundles' entries are written outside the repository; packages come from its node_modules.
    nodePaths: [join(REPO_ROOT, 'node_modules')],
  });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.mjs'));
  if (output === undefined) throw new Error(`esbuild wrote no bundle for ${entry}`);
  return { file: outfile, bytes: output[1].bytes, metafile: result.metafile };
}

/** The bundle of one function, as CDK deploys it. */
export function bundleFunction(id: FunctionId, outdir: string): Promise<BuiltBundle> {
  const { name } = MANIFESTS[id];
  return bundle(join(REPO_ROOT, 'lambdas', 'functions', name, 'handler.ts'), join(outdir, `${name}.mjs`));
}

/** The client class of every SDK package a manifest may list (the bare bundles create one each). */
export const CLIENT_CLASSES: Readonly<Record<string, string>> = {
  '@aws-sdk/client-dynamodb': 'DynamoDBClient',
  '@aws-sdk/client-kms': 'KMSClient',
  '@aws-sdk/client-secrets-manager': 'SecretsManagerClient',
  '@aws-sdk/client-eventbridge': 'EventBridgeClient',
  '@aws-sdk/client-sqs': 'SQSClient',
  '@aws-sdk/client-lambda': 'LambdaClient',
  '@aws-sdk/client-iam': 'IAMClient',
  '@aws-sdk/client-sts': 'STSClient',
  '@aws-sdk/client-ssm': 'SSMClient',
  '@aws-sdk/client-ses': 'SESClient',
  '@aws-sdk/client-sns': 'SNSClient',
};

/**
 * The source of a bare bundle of exactly the SDK clients a function uses, each created once at
 * module scope (as a function does at cold start); the document client wraps the DynamoDB client.
 */
export function bareClientsSource(id: FunctionId): string {
  const sdkClients: readonly string[] = MANIFESTS[id].sdkClients;
  const lines: string[] = [];
  const created: string[] = [];
  const documents = sdkClients.includes('@aws-sdk/lib-dynamodb');
  for (const pkg of sdkClients) {
    if (pkg === '@aws-sdk/lib-dynamodb' && sdkClients.includes('@aws-sdk/client-dynamodb')) continue;
    if (pkg === '@aws-sdk/lib-dynamodb' || (pkg === '@aws-sdk/client-dynamodb' && documents)) {
      // A function's one DynamoDB client, wrapped by its document client.
      lines.push("import { DynamoDBClient } from '@aws-sdk/client-dynamodb';");
      lines.push("import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';");
      created.push('DynamoDBDocumentClient.from(new DynamoDBClient({ region: process.env.AWS_REGION }))');
      continue;
    }
    const className = CLIENT_CLASSES[pkg];
    if (className === undefined) throw new Error(`No client class known for ${pkg}`);
    lines.push(`import { ${className} } from '${pkg}';`);
    created.push(`new ${className}({ region: process.env.AWS_REGION })`);
  }
  lines.push(`export const clients = [${created.join(', ')}];`);
  lines.push('export const handler = async () => clients.length;');
  return `${lines.join('\n')}\n`;
}

/** A bare bundle of a function's SDK clients: the floor its size and init time are measured against. */
export async function bundleBareClients(id: FunctionId, outdir: string): Promise<BuiltBundle> {
  const { name } = MANIFESTS[id];
  mkdirSync(join(outdir, 'bare-src'), { recursive: true });
  const entry = join(outdir, 'bare-src', `${name}.mjs`);
  writeFileSync(entry, bareClientsSource(id));
  return bundle(entry, join(outdir, `${name}.bare.mjs`));
}

/** The zod entry point a floor bundle imports: the classic API, as the functions do, or `zod/mini`. */
export type FloorZod = 'zod' | 'zod/mini';

/**
 * A config-sized object schema in either zod flavour, parsed once without zod's compiled fast
 * path, as lambdas/shared/config.ts parses the environment.
 */
const FLOOR_CONFIG: Readonly<Record<FloorZod, string>> = {
  zod: [
    'const Config = z.object({',
    '  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\\d$/),',
    '  VAULTPILOT_STAGE: z.string().regex(/^[a-z0-9-]{1,20}$/),',
    '  VAULTPILOT_TABLE_SECRETS: z.string().min(3).max(255).regex(/^[a-zA-Z0-9_.-]+$/).optional(),',
    "  POWERTOOLS_LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),",
    '});',
  ].join('\n'),
  'zod/mini': [
    'const Config = z.object({',
    '  AWS_REGION: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\\d$/)),',
    '  VAULTPILOT_STAGE: z.string().check(z.regex(/^[a-z0-9-]{1,20}$/)),',
    '  VAULTPILOT_TABLE_SECRETS: z.optional(z.string().check(z.minLength(3), z.maxLength(255), z.regex(/^[a-zA-Z0-9_.-]+$/))),',
    "  POWERTOOLS_LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']), 'INFO'),",
    '});',
  ].join('\n'),
};

/**
 * The source of a floor bundle: the bare bundle of a function's SDK clients plus what every
 * function of this design loads at init whatever its own code: the Powertools logger and metrics
 * built as lambdas/shared/observability.ts builds them, middy with `injectLambdaContext`, and zod
 * (`zod` or `zod/mini`) with one config-sized object schema parsed. No VaultPilot code.
 */
export function floorSource(id: FunctionId, zod: FloorZod): string {
  const clients = bareClientsSource(id).replace(/^export const handler = .*$/m, '');
  return [
    clients,
    "import { Logger } from '@aws-lambda-powertools/logger';",
    "import { Metrics } from '@aws-lambda-powertools/metrics';",
    "import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';",
    "import middy from '@middy/core';",
    `import * as z from '${zod}';`,
    "const logger = new Logger({ serviceName: 'vaultpilot' });",
    "const metrics = new Metrics({ namespace: 'VaultPilot', serviceName: 'vaultpilot', logger });",
    FLOOR_CONFIG[zod],
    'export const config = Config.parse(process.env, { jitless: true });',
    'export const handler = middy()',
    '  .use(injectLambdaContext(logger, { resetKeys: true }))',
    '  .handler(async () => ({ clients: clients.length, stage: config.VAULTPILOT_STAGE, metrics: typeof metrics }));',
    '',
  ].join('\n');
}

/** A floor bundle (see `floorSource`) of a function's SDK clients, with classic zod or `zod/mini`. */
export async function bundleFloor(id: FunctionId, zod: FloorZod, outdir: string): Promise<BuiltBundle> {
  const { name } = MANIFESTS[id];
  const suffix = zod === 'zod' ? 'floor' : 'floor-mini';
  mkdirSync(join(outdir, 'bare-src'), { recursive: true });
  const entry = join(outdir, 'bare-src', `${name}.${suffix}.mjs`);
  writeFileSync(entry, floorSource(id, zod));
  return bundle(entry, join(outdir, `${name}.${suffix}.mjs`));
}

export interface LoadResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds the `import()` of the bundle took in the child (module init), when it loaded. */
  readonly initMs: number | undefined;
  /**
   * CPU milliseconds (user + system) the child spent in that `import()`: the same work, less
   * sensitive than wall time to other processes sharing the machine.
   */
  readonly initCpuMs: number | undefined;
}

/** Loads a bundle in a fresh Node process with exactly `env` (plus PATH), as a cold start would. */
export function loadBundle(file: string, env: Readonly<Record<string, string>>): Promise<LoadResult> {
  const script = [
    'const started = performance.now();',
    'const cpu = process.cpuUsage();',
    `await import(${JSON.stringify(pathToFileURL(file).href)});`,
    'const used = process.cpuUsage(cpu);',
    "process.stdout.write('\\ninit-ms=' + (performance.now() - started).toFixed(3) + '\\n');",
    "process.stdout.write('init-cpu-ms=' + ((used.user + used.system) / 1000).toFixed(3) + '\\n');",
  ].join('\n');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (status) => {
      const match = /init-ms=([\d.]+)/.exec(stdout);
      const cpu = /init-cpu-ms=([\d.]+)/.exec(stdout);
      done({
        status,
        stdout,
        stderr,
        initMs: match?.[1] === undefined ? undefined : Number(match[1]),
        initCpuMs: cpu?.[1] === undefined ? undefined : Number(cpu[1]),
      });
    });
  });
}
