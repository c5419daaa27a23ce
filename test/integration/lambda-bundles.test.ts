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
  bundle,
  type BuiltBundle,
  bundleFunction,
  loadBundle,
  REPO_ROOT,
} from '../support/lambda-bundles.js';

const IDS = Object.keys(MANIFESTS) as FunctionId[];
/** The functions that run rotators (which check settings or drive PostgreSQL). */
const RUN_ROTATORS: readonly FunctionId[] = ['credentials', 'rotations', 'rotationWorker'];

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

  it.each(IDS.filter((id) => !RUN_ROTATORS.includes(id)))('%s bundles no PostgreSQL driver', (id) => {
    expect(inputsOf(built(id)).filter((path) => /node_modules\/pg(-[a-z-]+)?\//.test(path))).toEqual([]);
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
