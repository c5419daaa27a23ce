import path from 'node:path';

import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

// The plugin is plain JavaScript (ESLint loads it without a build step) and tsconfig.json has no
// allowJs, so it is loaded by URL and given its type here.
const pluginUrl = new URL('../../eslint-dependency-rule.js', import.meta.url).href;
const { default: vaultpilot } = (await import(pluginUrl)) as { default: ESLint.Plugin };

/** Lints `code` as if it lived at `file` (repository-relative) with only the `vaultpilot/layers` rule. */
function layerMessages(file: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat', cwd: root });
  const config: Linter.Config[] = [
    {
      files: ['**/*.{js,ts,tsx}'],
      languageOptions: { parser: tseslint.parser },
      plugins: { vaultpilot },
      rules: { 'vaultpilot/layers': ['error', { root }] },
    },
  ];
  const messages = linter.verify(code, config, { filename: path.join(root, file) });
  const fatal = messages.filter((message) => message.fatal);
  expect(fatal, 'the probe must parse').toEqual([]);
  return messages.map((message) => message.message);
}

/** A specifier from `from` (a file) to `to` (a file), both repository-relative, as a developer writes it. */
function relativeSpecifier(from: string, to: string): string {
  const specifier = path.posix.relative(path.posix.dirname(from), to);
  return specifier.startsWith('.') ? specifier : `./${specifier}`;
}

/** The layer label the rule's messages use, by layer. */
const DIRS = {
  core: 'lambdas/core',
  contracts: 'lambdas/shared/contracts',
  shared: 'lambdas/shared',
  adapters: 'lambdas/adapters',
  rotators: 'lambdas/rotators',
  platform: 'lambdas/platform',
  specs: 'lambdas/functions/*/{manifest,routes} and lambdas/functions/index',
  functions: 'lambdas/functions',
  local: 'lambdas/local',
  cli: 'lambdas/cli',
  lib: 'lib',
  bin: 'bin',
  frontend: 'frontend',
  test: 'test',
} as const;
type Layer = keyof typeof DIRS;
const LAYER_NAMES = Object.keys(DIRS) as Layer[];

/** An importer two folders deep in each layer (so resolution has to walk up), and a module to import. */
const PROBES: Record<Layer, { readonly from: string; readonly to: string }> = {
  ...(Object.fromEntries(
    LAYER_NAMES.map((layer) => [
      layer,
      { from: `${DIRS[layer]}/area/probe.ts`, to: `${DIRS[layer]}/module.js` },
    ]),
  ) as Record<Layer, { from: string; to: string }>),
  specs: { from: 'lambdas/functions/probe/manifest.ts', to: 'lambdas/functions/other/routes.js' },
  functions: { from: 'lambdas/functions/probe/compose.ts', to: 'lambdas/functions/other/handler.js' },
};

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The dependency rule of DESIGN.md, written out by hand: one row per importing layer, one column per
// imported layer (in DIRS order). Y = may import, . = must not.
//                                       co ct sh ad ro pl sp fu lo cl li bi fe te
const MATRIX: Record<Layer, string> = {
  core: /*                           */ 'Y  .  .  .  .  .  .  .  .  .  .  .  .  .',
  contracts: /*                      */ '.  Y  .  .  .  .  .  .  .  .  .  .  .  .',
  shared: /*                         */ 'Y  Y  Y  .  .  .  .  .  .  .  .  .  .  .',
  adapters: /*                       */ 'Y  .  .  Y  .  .  .  .  .  .  .  .  .  .',
  rotators: /*                       */ 'Y  .  .  .  Y  .  .  .  .  .  .  .  .  .',
  platform: /*                       */ 'Y  Y  Y  Y  Y  Y  .  .  .  .  .  .  .  .',
  specs: /*                          */ '.  Y  Y  .  .  .  Y  .  .  .  .  .  .  .',
  functions: /*                      */ 'Y  Y  Y  Y  Y  Y  Y  Y  .  .  .  .  .  .',
  local: /*                          */ 'Y  Y  Y  Y  .  Y  Y  Y  Y  .  .  .  .  .',
  cli: /*                            */ '.  Y  .  .  .  .  .  .  .  Y  .  .  .  .',
  lib: /*                            */ '.  Y  Y  .  .  .  Y  .  .  .  Y  .  .  .',
  bin: /*                            */ 'Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y',
  frontend: /*                       */ '.  Y  .  .  .  .  .  .  .  .  .  .  Y  .',
  test: /*                           */ 'Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y',
};

const EDGES = LAYER_NAMES.flatMap((importer) => {
  const cells = MATRIX[importer].split(/\s+/);
  expect(cells).toHaveLength(LAYER_NAMES.length);
  return LAYER_NAMES.map((target, column) => ({ importer, target, allowed: cells[column] === 'Y' }));
});

describe('vaultpilot/layers: every layer-to-layer edge', () => {
  const allowed = EDGES.filter((edge) => edge.allowed);
  const forbidden = EDGES.filter((edge) => !edge.allowed);

  it.each(allowed)('$importer may import $target', ({ importer, target }) => {
    // Prepare
    const from = PROBES[importer].from;
    const to = PROBES[target].to;

    // Act
    const messages = layerMessages(
      from,
      `import { thing } from '${relativeSpecifier(from, to)}';\nvoid thing;\n`,
    );

    // Assess
    expect(messages).toEqual([]);
  });

  it.each(forbidden)('$importer must not import $target', ({ importer, target }) => {
    const from = PROBES[importer].from;
    const to = PROBES[target].to;

    const messages = layerMessages(
      from,
      `import { thing } from '${relativeSpecifier(from, to)}';\nvoid thing;\n`,
    );

    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(
      new RegExp(
        `^${escaped(DIRS[importer])} must not import ${escaped(DIRS[target])} \\(.+; see DESIGN\\.md Dependency rule\\)$`,
      ),
    );
  });

  it('names both layers and the rule in the message', () => {
    const messages = layerMessages(
      'lambdas/core/secrets.ts',
      "import { KmsKeyring } from '../adapters/aws/kms.js';",
    );

    expect(messages).toEqual([
      'lambdas/core must not import lambdas/adapters (core imports only core, zod and node:crypto-level modules ' +
        '(node:crypto, node:util, node:buffer); see DESIGN.md Dependency rule)',
    ]);
  });
});

describe('vaultpilot/layers: standard modules and packages', () => {
  const cases: Array<{ file: string; specifier: string; allowed: boolean }> = [
    { file: 'lambdas/core/audit.ts', specifier: 'node:crypto', allowed: true },
    { file: 'lambdas/core/audit.ts', specifier: 'crypto', allowed: true },
    { file: 'lambdas/core/audit.ts', specifier: 'node:util', allowed: true },
    { file: 'lambdas/core/audit.ts', specifier: 'node:buffer', allowed: true },
    { file: 'lambdas/core/audit.ts', specifier: 'zod', allowed: true },
    { file: 'lambdas/core/audit.ts', specifier: 'node:http', allowed: false },
    { file: 'lambdas/core/audit.ts', specifier: 'node:fs', allowed: false },
    { file: 'lambdas/core/audit.ts', specifier: 'fs/promises', allowed: false },
    { file: 'lambdas/core/audit.ts', specifier: 'node:process', allowed: false },
    { file: 'lambdas/core/audit.ts', specifier: 'node:child_process', allowed: false },
    { file: 'lambdas/core/audit.ts', specifier: '@aws-sdk/client-kms', allowed: false },
    { file: 'lambdas/core/audit.ts', specifier: '@middy/core', allowed: false },
    { file: 'lambdas/core/audit.ts', specifier: '@aws-lambda-powertools/logger', allowed: false },
    { file: 'lambdas/core/audit.ts', specifier: 'zod-extra', allowed: false },
    { file: 'lambdas/shared/contracts/secrets.ts', specifier: 'zod', allowed: true },
    { file: 'lambdas/shared/contracts/secrets.ts', specifier: 'node:crypto', allowed: false },
    { file: 'lambdas/shared/contracts/secrets.ts', specifier: '@aws-sdk/client-dynamodb', allowed: false },
    { file: 'lambdas/adapters/aws/kms.ts', specifier: '@aws-sdk/client-kms', allowed: true },
    { file: 'lambdas/adapters/local/keyring.ts', specifier: 'node:fs/promises', allowed: true },
    { file: 'lambdas/rotators/iam-access-key.ts', specifier: '@aws-sdk/client-iam', allowed: true },
    { file: 'lambdas/functions/secrets/handler.ts', specifier: '@middy/core', allowed: true },
    { file: 'lambdas/platform/aws.ts', specifier: '@aws-sdk/client-kms', allowed: true },
    { file: 'lambdas/functions/secrets/manifest.ts', specifier: '@aws-sdk/client-kms', allowed: false },
    { file: 'lambdas/functions/secrets/routes.ts', specifier: 'zod', allowed: true },
    { file: 'lambdas/local/server.ts', specifier: 'node:http', allowed: true },
    { file: 'lib/data-stack.ts', specifier: 'aws-cdk-lib', allowed: true },
    { file: 'lib/data-stack.ts', specifier: 'aws-cdk-lib/aws-dynamodb', allowed: true },
    { file: 'lib/data-stack.ts', specifier: 'constructs', allowed: true },
    { file: 'lib/data-stack.ts', specifier: 'cdk-nag', allowed: true },
    { file: 'lib/data-stack.ts', specifier: 'node:path', allowed: true },
    { file: 'lib/data-stack.ts', specifier: '@aws-sdk/client-dynamodb', allowed: false },
    { file: 'lib/data-stack.ts', specifier: 'zod', allowed: false },
    { file: 'frontend/src/App.tsx', specifier: 'react', allowed: true },
    { file: 'bin/vaultpilot.ts', specifier: 'source-map-support', allowed: true },
    { file: 'test/unit/x.test.ts', specifier: 'node:child_process', allowed: true },
  ];

  it.each(cases.filter((c) => c.allowed))('$file may import $specifier', ({ file, specifier }) => {
    expect(layerMessages(file, `import '${specifier}';`)).toEqual([]);
  });

  it.each(cases.filter((c) => !c.allowed))('$file must not import $specifier', ({ file, specifier }) => {
    const messages = layerMessages(file, `import '${specifier}';`);

    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(' must not import ');
    expect(messages[0]).toContain('see DESIGN.md Dependency rule');
  });

  it('reports a builtin under its node: name and a package under its package name', () => {
    expect(layerMessages('lambdas/core/a.ts', "import { readFile } from 'fs/promises';")[0]).toMatch(
      /^lambdas\/core must not import node:fs \(/,
    );
    expect(layerMessages('lambdas/core/a.ts', "import { KMSClient } from '@aws-sdk/client-kms';")[0]).toMatch(
      /^lambdas\/core must not import @aws-sdk\/client-kms \(/,
    );
  });
});

describe('vaultpilot/layers: every way of naming a module', () => {
  const core = 'lambdas/core/rotation/plan.ts';
  const adapter = '../../adapters/aws/kms.js';

  it.each([
    ['import', `import { KmsKeyring } from '${adapter}';`],
    ['import type', `import type { KmsKeyring } from '${adapter}';`],
    ['inline type import', `import { type KmsKeyring } from '${adapter}';`],
    ['side-effect import', `import '${adapter}';`],
    ['export * from', `export * from '${adapter}';`],
    ['export { } from', `export { KmsKeyring } from '${adapter}';`],
    ['export type { } from', `export type { KmsKeyring } from '${adapter}';`],
    ['dynamic import()', `export const load = () => import('${adapter}');`],
    ['dynamic import() of a plain template', `export const load = () => import(\`${adapter}\`);`],
    ['import() type', `export type K = typeof import('${adapter}');`],
    ['import = require()', `import kms = require('${adapter}');\nvoid kms;`],
    ['require()', `export const kms: unknown = require('${adapter}');`],
  ])('checks %s', (_form, code) => {
    const messages = layerMessages(core, code);

    expect(messages).toEqual([expect.stringMatching(/^lambdas\/core must not import lambdas\/adapters \(/)]);
  });

  it('rejects a computed import() specifier in a layer it cannot check', () => {
    const messages = layerMessages(
      core,
      'export const load = (name: string) => import(`../../adapters/${name}.js`);',
    );

    expect(messages).toEqual([
      expect.stringMatching(/^lambdas\/core must not load a module through a computed/),
    ]);
  });

  it('lets bin and test compute import() specifiers', () => {
    const code = 'export const load = (name: string) => import(name);';

    expect(layerMessages('bin/local.ts', code)).toEqual([]);
    expect(layerMessages('test/support/load.ts', code)).toEqual([]);
  });
});

describe('vaultpilot/layers: resolution relative to the importing file', () => {
  it('normalizes paths that wander through another layer', () => {
    const messages = layerMessages(
      'lambdas/shared/area/probe.ts',
      "import '../../core/../adapters/aws/kms.js';",
    );

    expect(messages).toEqual([
      expect.stringMatching(/^lambdas\/shared must not import lambdas\/adapters \(/),
    ]);
  });

  it('allows a path that leaves and re-enters the same layer', () => {
    expect(layerMessages('lambdas/core/audit/chain.ts', "import '../../core/errors.js';")).toEqual([]);
    expect(layerMessages('lambdas/core/audit/chain.ts', "import '../errors.js';")).toEqual([]);
    expect(layerMessages('lambdas/core/audit/chain.ts', "import '.';")).toEqual([]);
  });

  it('does not take a sibling folder with a common prefix for the layer', () => {
    const messages = layerMessages('lambdas/core/a.ts', "import '../core-extras/b.js';");

    expect(messages).toEqual([
      expect.stringMatching(
        /^lambdas\/core must not import lambdas\/core-extras\/b\.js \(outside the layers\)/,
      ),
    ]);
  });

  it('rejects paths outside the layers and outside the repository for layered code', () => {
    expect(layerMessages('lambdas/shared/version.ts', "import pkg from '../../package.json';")).toEqual([
      expect.stringMatching(/^lambdas\/shared must not import package\.json \(outside the layers\)/),
    ]);
    expect(layerMessages('lambdas/core/a.ts', "import '../../../elsewhere/x.js';")).toEqual([
      expect.stringMatching(/^lambdas\/core must not import a path outside the repository/),
    ]);
  });

  it('classifies by the resolved target, not by how the specifier looks', () => {
    // From lib/, '../lambdas/shared/tables.js' is shared; the same text from lambdas/core is nonsense but harmless.
    expect(
      layerMessages('lib/data-stack.ts', "import { TABLE_SPECS } from '../lambdas/shared/tables.js';"),
    ).toEqual([]);
    expect(layerMessages('lib/api-stack.ts', "import '../lambdas/functions/me/handler.js';")).toEqual([
      expect.stringMatching(/^lib must not import lambdas\/functions \(/),
    ]);
  });

  it('leaves files outside the layers unconstrained', () => {
    expect(layerMessages('vitest.config.ts', "import './lambdas/adapters/aws/kms.js';")).toEqual([]);
  });
});

describe('eslint.config.js wiring', () => {
  let eslint: ESLint;

  beforeAll(() => {
    // Type information needs a file on disk inside tsconfig.json; these probes are virtual, so they
    // run with the type-aware rules off. calculateConfigForFile below checks those rules are on.
    eslint = new ESLint({ cwd: root, overrideConfig: tseslint.configs.disableTypeChecked });
  });

  async function lint(file: string, code: string): Promise<Array<string | null>> {
    const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
    return (result?.messages ?? []).map((message) => message.ruleId);
  }

  it('runs vaultpilot/layers on the repository', async () => {
    expect(await lint('lambdas/core/a.ts', "export * from '../adapters/aws/kms.js';\n")).toEqual([
      'vaultpilot/layers',
    ]);
  });

  it('forbids process in core, and only in core', async () => {
    const code = 'export const region = process.env.AWS_REGION;\nexport const p = globalThis.process;\n';

    expect(await lint('lambdas/core/config.ts', code)).toEqual([
      'no-restricted-globals',
      'no-restricted-properties',
    ]);
    expect(await lint('lambdas/shared/config.ts', code)).toEqual([]);
  });

  it('forbids the console where the Powertools logger is the way to log', async () => {
    const code = "console.log('hello');\n";

    for (const layer of ['core', 'handlers', 'shared', 'adapters', 'rotators']) {
      expect(await lint(`lambdas/${layer}/a.ts`, code), layer).toEqual(['no-console']);
    }
    for (const file of ['bin/local.ts', 'lambdas/local/server.ts', 'test/unit/a.test.ts']) {
      expect(await lint(file, code), file).toEqual([]);
    }
  });

  it('bans .only and .skip in tests but keeps skipIf', async () => {
    // Fixture lines are assembled, so no focused or skipped test appears literally in this file.
    const call = (callee: string, name: string): string => `${callee}('${name}', () => {});`;
    const code = [
      "import { describe, it, test } from 'vitest';",
      call(['it', 'only'].join('.'), 'a'),
      call(['describe', 'only'].join('.'), 'b'),
      call(['test', 'only'].join('.'), 'c'),
      call(['it', 'skip'].join('.'), 'd'),
      call(['describe', 'skip'].join('.'), 'e'),
      call(['test', 'concurrent', 'only'].join('.'), 'f'),
      "it.skipIf(process.platform === 'win32')('g', () => {});",
      '',
    ].join('\n');

    expect(await lint('test/unit/a.test.ts', code)).toEqual(Array(6).fill('no-restricted-syntax'));
  });

  it('turns the promise and type-import rules on for TypeScript', async () => {
    const config = (await eslint.calculateConfigForFile(
      path.join(root, 'lambdas/functions/me/handler.ts'),
    )) as Linter.Config;
    const plain = new ESLint({ cwd: root });
    const typed = (await plain.calculateConfigForFile(
      path.join(root, 'lambdas/functions/me/handler.ts'),
    )) as Linter.Config;

    expect(config.rules?.['@typescript-eslint/consistent-type-imports']).toEqual(expect.arrayContaining([2]));
    expect(typed.rules?.['@typescript-eslint/no-floating-promises']).toEqual([2]);
    expect(typed.rules?.['@typescript-eslint/no-misused-promises']).toEqual([2]);
  });

  it('ignores the lint fixtures and build output', async () => {
    const plain = new ESLint({ cwd: root });

    expect(await plain.isPathIgnored(path.join(root, 'test/fixtures/lint/lambdas/core/bad.ts'))).toBe(true);
    expect(await plain.isPathIgnored(path.join(root, 'cdk.out/asset/index.js'))).toBe(true);
    expect(await plain.isPathIgnored(path.join(root, 'lambdas/core/errors.ts'))).toBe(false);
  });
});
