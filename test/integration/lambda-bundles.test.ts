/**
 * The functions as they deploy: each built with the Lambda bundle options (lib/lambda-bundle.ts)
 * and loaded in a fresh Node process, as a cold start. A function without a variable its manifest
 * requires, or with a malformed one, stops while loading and names it; error classes keep their
 * names; no local adapter and no zod locale is bundled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionId, MANIFESTS } from '../../lambdas/functions/index.js';
import { requiredVariables } from '../../lambdas/shared/function-manifest.js';
import {
  AWS_FUNCTION_ENV,
  bareClientsSource,
  bundle,
  bundleBareClients,
  type BuiltBundle,
  bundleFloor,
  bundleFunction,
  loadBundle,
  REPO_ROOT,
} from '../support/lambda-bundles.js';

const IDS = Object.keys(MANIFESTS) as FunctionId[];
/** The one function that runs rotation steps, and so bundles the rotators' provider code. */
const RUNS_ROTATION_STEPS: readonly FunctionId[] = ['rotationWorker'];
/**
 * The rotators' modules that call providers (SDK clients, the PostgreSQL driver, SMTP). The IAM
 * key copies' module is not among them: settings checks use its naming rule, and the Secrets
 * Manager client it calls is checked for by name below.
 */
const ROTATOR_PROVIDER_CODE =
  /lambdas\/rotators\/(aws-iam-access-key|postgres-password|ses-smtp|smtp-auth|secrets-manager-secret)\.ts$/;

let outdir: string;
const bundles = new Map<FunctionId, BuiltBundle>();

function inputsOf(built: BuiltBundle): string[] {
  return Object.values(built.metafile.outputs).flatMap((output) => Object.keys(output.inputs));
}

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'vaultpilot-bundles-'));
  for (const id of IDS) bundles.set(id, await bundleFunction(id, outdir));
}, 240_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

function built(id: FunctionId): BuiltBundle {
  const found = bundles.get(id);
  if (found === undefined) throw new Error(`No bundle of ${id}`);
  return found;
}

describe('each function bundle', () => {
  it.each(IDS)('%s loads with the variables CDK gives it', async (id) => {
    // Act
    const loaded = await loadBundle(built(id).file, AWS_FUNCTION_ENV);

    // Assess
    expect(loaded.stderr).toBe('');
    expect(loaded.status).toBe(0);
    expect(loaded.initMs).toBeGreaterThan(0);
  });

  it.each(IDS)(
    '%s stops at cold start without a variable it needs, or with a malformed one, naming it',
    async (id) => {
      // Prepare: the first variable its manifest requires in AWS; a malformed stage when it requires none.
      const manifest = MANIFESTS[id];
      const [required] = requiredVariables(manifest, {
        runtime: 'aws',
        authMode: 'cognito',
        secretBackend: 'dynamodb',
      });
      const env =
        required === undefined
          ? { ...AWS_FUNCTION_ENV, VAULTPILOT_STAGE: 'Not A Stage' }
          : Object.fromEntries(
              Object.entries(AWS_FUNCTION_ENV).filter(([name]) => name !== required.variable),
            );
      const variable = required?.variable ?? 'VAULTPILOT_STAGE';

      // Act
      const loaded = await loadBundle(built(id).file, env);

      // Assess
      expect(loaded.status).not.toBe(0);
      expect(loaded.initMs).toBeUndefined();
      expect(loaded.stderr).toContain('ConfigError');
      expect(loaded.stderr).toContain(`${variable}:`);
      if (required !== undefined)
        expect(loaded.stderr).toContain(`Invalid configuration of function ${manifest.name}`);
    },
  );

  it.each(IDS)('%s holds no local adapter, no local runtime code and no zod locale', (id) => {
    const inputs = inputsOf(built(id));

    expect(inputs.filter((path) => /lambdas\/(adapters\/local|platform\/local|local)\//.test(path))).toEqual(
      [],
    );
    expect(inputs.filter((path) => /zod\/.*locales\/(?!en\.)/.test(path))).toEqual([]);
    expect(inputs.some((path) => path.includes('lambdas/functions/'))).toBe(true);
  });

  it.each(IDS.filter((id) => !RUNS_ROTATION_STEPS.includes(id)))(
    '%s bundles no PostgreSQL driver, no SMTP client and no rotator provider code',
    (id) => {
      const inputs = inputsOf(built(id));

      expect(inputs.filter((path) => /node_modules\/pg(-[a-z-]+)?\//.test(path))).toEqual([]);
      expect(inputs.filter((path) => path.includes('node_modules/nodemailer/'))).toEqual([]);
      expect(inputs.filter((path) => ROTATOR_PROVIDER_CODE.test(path))).toEqual([]);
    },
  );

  it.each(['credentials', 'rotations'] as const)(
    '%s checks rotation settings without the IAM, STS or Secrets Manager client',
    (id) => {
      const inputs = inputsOf(built(id));

      expect(
        inputs.filter((path) => /node_modules\/@aws-sdk\/client-(iam|sts|secrets-manager)\//.test(path)),
      ).toEqual([]);
      // The settings checks themselves are there.
      expect(inputs.some((path) => path.endsWith('lambdas/rotators/postgres-password-settings.ts'))).toBe(
        true,
      );
    },
  );

  it.each(IDS)('%s bundles only the SDK clients its manifest lists', (id) => {
    const listed: readonly string[] = MANIFESTS[id].sdkClients;
    const bundled = new Set(
      inputsOf(built(id)).flatMap((path) => {
        const match = /node_modules\/(@aws-sdk\/(?:client-[a-z-]+|lib-dynamodb))\//.exec(path);
        return match?.[1] === undefined ? [] : [match[1]];
      }),
    );

    expect([...bundled].filter((pkg) => !listed.includes(pkg)).sort()).toEqual([]);
  });

  it('the rotation worker bundles the rotators with their providers', () => {
    const inputs = inputsOf(built('rotationWorker'));

    expect(inputs.some((path) => path.includes('node_modules/pg/'))).toBe(true);
    expect(inputs.some((path) => path.includes('node_modules/nodemailer/'))).toBe(true);
    expect(inputs.some((path) => path.includes('node_modules/@aws-sdk/client-iam/'))).toBe(true);
  });

  it('bundles only the contracts of its own routes', () => {
    const contractsOf = (id: FunctionId) =>
      inputsOf(built(id))
        .filter((path) => path.includes('lambdas/shared/contracts/'))
        .map((path) => path.replace(/^.*contracts\//, ''))
        .sort();

    // /secrets and Vault's /v1 (docs/vault-api.md) are routes of the one secrets function.
    expect(contractsOf('secrets')).toEqual(['secrets.ts', 'vault.ts']);
    expect(contractsOf('health')).toEqual(['identity.ts']);
    expect(contractsOf('auditSequencer')).toEqual([]);
  });
});

describe('the bare bundles the benchmark measures against', () => {
  it.each(IDS)('%s: the bare bundle imports every SDK package its manifest lists', (id) => {
    // Act
    const source = bareClientsSource(id);

    // Assess
    const imported = [...source.matchAll(/from '(@aws-sdk\/[a-z-]+)'/g)].map((match) => match[1]);
    expect([...new Set(imported)].sort()).toEqual([...MANIFESTS[id].sdkClients].sort());
  });

  it("the notification API's bare bundle (SES and SNS among its clients) builds and loads", async () => {
    // Prepare
    const bare = await bundleBareClients('notifications', outdir);

    // Act
    const loaded = await loadBundle(bare.file, AWS_FUNCTION_ENV);

    // Assess
    expect(loaded.stderr).toBe('');
    expect(loaded.status).toBe(0);
    const inputs = inputsOf(bare);
    expect(inputs.some((path) => path.includes('node_modules/@aws-sdk/client-ses/'))).toBe(true);
    expect(inputs.some((path) => path.includes('node_modules/@aws-sdk/client-sns/'))).toBe(true);
  });
});

describe('the floor bundles the benchmark measures', () => {
  it.each(['zod', 'zod/mini'] as const)(
    'with %s: the bare clients plus logger, metrics, middy and that zod, no VaultPilot code, load',
    async (zod) => {
      // Prepare
      const floor = await bundleFloor('policies', zod, outdir);

      // Act
      const loaded = await loadBundle(floor.file, AWS_FUNCTION_ENV);

      // Assess
      expect(loaded.stderr).toBe('');
      expect(loaded.status).toBe(0);
      const inputs = inputsOf(floor);
      for (const pkg of [
        '@aws-sdk/client-dynamodb/',
        '@aws-sdk/lib-dynamodb/',
        '@aws-lambda-powertools/logger/',
        '@aws-lambda-powertools/metrics/',
        '@middy/core/',
        'zod/v4/core/',
      ]) {
        expect(inputs.some((path) => path.includes(`node_modules/${pkg}`))).toBe(true);
      }
      expect(inputs.some((path) => path.includes('node_modules/zod/v4/classic/'))).toBe(zod === 'zod');
      expect(inputs.some((path) => path.includes('node_modules/zod/v4/mini/'))).toBe(zod === 'zod/mini');
      expect(inputs.filter((path) => path.startsWith('lambdas/') || path.includes('/lambdas/'))).toEqual([]);
    },
  );
});

describe('error names in a built bundle', () => {
  it('logs a thrown ConflictError as ConflictError, not as a minified name', async () => {
    // Prepare: an entry that throws the domain error and logs it with the functions' logger.
    const entry = join(outdir, 'conflict-entry.ts');
    writeFileSync(
      entry,
      [
        `import { ConflictError } from '${join(REPO_ROOT, 'lambdas/core/errors.js')}';`,
        `import { logger } from '${join(REPO_ROOT, 'lambdas/shared/observability.js')}';`,
        'try {',
        "  throw new ConflictError('The secret changed since you read it');",
        '} catch (error) {',
        "  logger.error('Request failed', { error });",
        '}',
      ].join('\n'),
    );
    const conflict = await bundle(entry, join(outdir, 'conflict.mjs'));

    // Act
    const loaded = await loadBundle(conflict.file, { ...AWS_FUNCTION_ENV, POWERTOOLS_LOG_LEVEL: 'INFO' });

    // Assess
    // Powertools writes errors to stderr.
    const line = loaded.stderr.split('\n').find((text) => text.includes('Request failed'));
    expect(line).toBeDefined();
    const logged = JSON.parse(line ?? '{}') as { error?: { name?: string; message?: string } };
    expect(logged.error?.name).toBe('ConflictError');
    expect(logged.error?.message).toBe('The secret changed since you read it');
  });
});
