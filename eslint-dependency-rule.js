// @ts-check
/**
 * The `vaultpilot` ESLint plugin: one rule, `vaultpilot/layers`, that enforces the dependency rule of
 * DESIGN.md. Every module specifier (import, export … from, import(), require(), import x = require(),
 * and `import('…')` types) is resolved relative to the importing file, and both ends are classified
 * into a layer by their path inside the repository.
 *
 * Type-only imports count too: a type from another layer is a design dependency even when the
 * compiler erases it.
 */
import { builtinModules } from 'node:module';
import path from 'node:path';

/** @typedef {'core' | 'contracts' | 'shared' | 'adapters' | 'rotators' | 'platform' | 'specs' | 'functions' | 'local' | 'cli' | 'lib' | 'bin' | 'frontend' | 'test'} LayerId */

/**
 * The layers, most specific first (contracts sit inside shared; a function's manifest and routes,
 * and the index that lists them, sit inside functions). A layer is a directory, or for `specs`
 * the files a pattern names.
 * @type {ReadonlyArray<{ id: LayerId, dir: string, pattern?: RegExp }>}
 */
export const LAYERS = [
  { id: 'contracts', dir: 'lambdas/shared/contracts' },
  {
    id: 'specs',
    dir: 'lambdas/functions/*/{manifest,routes} and lambdas/functions/index',
    pattern: /^lambdas\/functions\/(index|[^/]+\/(manifest|routes))\.[jt]s$/,
  },
  { id: 'core', dir: 'lambdas/core' },
  { id: 'adapters', dir: 'lambdas/adapters' },
  { id: 'rotators', dir: 'lambdas/rotators' },
  { id: 'platform', dir: 'lambdas/platform' },
  { id: 'functions', dir: 'lambdas/functions' },
  { id: 'shared', dir: 'lambdas/shared' },
  { id: 'local', dir: 'lambdas/local' },
  { id: 'cli', dir: 'lambdas/cli' },
  { id: 'lib', dir: 'lib' },
  { id: 'bin', dir: 'bin' },
  { id: 'frontend', dir: 'frontend' },
  { id: 'test', dir: 'test' },
];

/**
 * @typedef {object} Policy
 * @property {ReadonlyArray<LayerId> | 'any'} layers  layers this layer may import ('any' also admits paths outside the layers)
 * @property {ReadonlyArray<string> | 'any'} builtins  node builtins by bare name ('crypto', 'fs', …)
 * @property {ReadonlyArray<string> | 'any'} packages  npm packages by name ('zod', '@aws-sdk/client-kms', …)
 * @property {string} why  the rule in one phrase, quoted in every message
 */

/** @type {Readonly<Record<LayerId, Policy>>} */
export const POLICY = {
  core: {
    layers: ['core'],
    builtins: ['crypto', 'util', 'buffer'],
    packages: ['zod'],
    why: 'core imports only core, zod and node:crypto-level modules (node:crypto, node:util, node:buffer)',
  },
  contracts: {
    layers: ['contracts'],
    builtins: [],
    packages: ['zod'],
    why: 'API contracts import only other contracts and zod, because the dashboard bundles them',
  },
  adapters: {
    layers: ['adapters', 'core'],
    builtins: 'any',
    packages: 'any',
    why: 'adapters import only core and their SDKs',
  },
  rotators: {
    layers: ['rotators', 'core'],
    builtins: 'any',
    packages: 'any',
    why: 'rotators import only core and their SDKs',
  },
  platform: {
    layers: ['platform', 'adapters', 'rotators', 'core', 'shared', 'contracts'],
    builtins: 'any',
    packages: 'any',
    why: 'platform imports only adapters, rotators, core and shared: it picks and assembles them',
  },
  specs: {
    layers: ['specs', 'shared', 'contracts'],
    builtins: [],
    packages: ['zod'],
    why: 'manifests and routes import only specs of lambdas/shared, because CDK reads them without bundling a function',
  },
  functions: {
    layers: ['functions', 'specs', 'platform', 'adapters', 'rotators', 'core', 'shared', 'contracts'],
    builtins: 'any',
    packages: 'any',
    why: 'functions import only core, shared, platform, adapters and rotators',
  },
  shared: {
    layers: ['shared', 'contracts', 'core'],
    builtins: 'any',
    packages: 'any',
    why: 'shared imports only core, never adapters or rotators (compositions live in lambdas/functions)',
  },
  local: {
    layers: ['local', 'functions', 'specs', 'platform', 'adapters', 'shared', 'contracts', 'core'],
    builtins: 'any',
    packages: 'any',
    why: 'the local runtime imports only functions, the platform (to reset it), adapters, shared and core',
  },
  cli: {
    layers: ['cli', 'contracts'],
    builtins: 'any',
    packages: ['zod'],
    why: 'the command-line client imports only its own modules, the API contracts and zod: it talks to a deployment over HTTP and starts without the runtime',
  },
  lib: {
    layers: ['lib', 'specs', 'shared', 'contracts'],
    builtins: 'any',
    packages: ['aws-cdk-lib', 'constructs', 'cdk-nag'],
    why: "lib imports only lambdas/shared, the functions' manifests and routes, aws-cdk-lib, constructs, cdk-nag and node builtins, never a function's code",
  },
  bin: { layers: 'any', builtins: 'any', packages: 'any', why: 'bin may import anything' },
  frontend: {
    layers: ['frontend', 'contracts'],
    builtins: 'any',
    packages: 'any',
    why: 'the dashboard imports only the API contracts in lambdas/shared/contracts and its own packages',
  },
  test: { layers: 'any', builtins: 'any', packages: 'any', why: 'tests may import anything' },
};

const BUILTINS = new Set(builtinModules);

/**
 * The layer a repository-relative path belongs to, or undefined outside the layers.
 * @param {string} relative  POSIX path relative to the repository root
 * @returns {{ id: LayerId, dir: string } | undefined}
 */
export function layerOf(relative) {
  return LAYERS.find((layer) =>
    layer.pattern !== undefined
      ? layer.pattern.test(relative)
      : relative === layer.dir || relative.startsWith(`${layer.dir}/`),
  );
}

/**
 * @typedef {{ kind: 'builtin', name: string, label: string }
 *   | { kind: 'package', name: string, label: string }
 *   | { kind: 'path', layer: LayerId | undefined, label: string }} Target
 */

/**
 * Classifies a module specifier written in `importerFile`.
 * @param {string} specifier
 * @param {string} importerFile  absolute path
 * @param {string} root  absolute path of the repository root
 * @returns {Target}
 */
export function classifyTarget(specifier, importerFile, root) {
  if (specifier.startsWith('node:')) {
    const name = specifier.slice('node:'.length).split('/')[0] ?? '';
    return { kind: 'builtin', name, label: `node:${name}` };
  }
  const isPath =
    specifier === '.' ||
    specifier === '..' ||
    specifier.startsWith('./') ||
    specifier.startsWith('../') ||
    path.isAbsolute(specifier);
  if (isPath) {
    const resolved = path.resolve(path.dirname(importerFile), specifier);
    const relative = toPosix(path.relative(root, resolved));
    if (relative.startsWith('../') || relative === '..' || path.isAbsolute(relative)) {
      return { kind: 'path', layer: undefined, label: 'a path outside the repository' };
    }
    const layer = layerOf(relative);
    return layer
      ? { kind: 'path', layer: layer.id, label: layer.dir }
      : { kind: 'path', layer: undefined, label: `${relative || '.'} (outside the layers)` };
  }
  const bare = specifier.split('/')[0] ?? '';
  if (BUILTINS.has(specifier) || BUILTINS.has(bare)) {
    return { kind: 'builtin', name: bare, label: `node:${bare}` };
  }
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : bare;
  return { kind: 'package', name, label: name };
}

/**
 * @param {Policy} policy
 * @param {Target} target
 */
export function isAllowed(policy, target) {
  switch (target.kind) {
    case 'builtin':
      return policy.builtins === 'any' || policy.builtins.includes(target.name);
    case 'package':
      return policy.packages === 'any' || policy.packages.includes(target.name);
    case 'path':
      if (policy.layers === 'any') return true;
      return target.layer !== undefined && policy.layers.includes(target.layer);
  }
}

/** @param {string} p */
function toPosix(p) {
  return p.split(path.sep).join('/');
}

/**
 * The string value of a literal specifier node, or undefined when it is computed.
 * @param {any} node
 * @returns {string | undefined}
 */
function literalValue(node) {
  if (!node) return undefined;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked;
  if (node.type === 'TSLiteralType') return literalValue(node.literal);
  return undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Enforce the layer dependency rule of DESIGN.md (lambdas/core, adapters, … frontend, test).',
    },
    schema: [
      {
        type: 'object',
        properties: { root: { type: 'string', description: 'absolute path of the repository root' } },
        additionalProperties: false,
      },
    ],
    messages: {
      forbidden: '{{importer}} must not import {{target}} ({{why}}; see DESIGN.md Dependency rule)',
      computed:
        '{{importer}} must not load a module through a computed specifier, which the dependency rule cannot check; use a string literal (see DESIGN.md Dependency rule)',
    },
  },
  create(context) {
    const options = /** @type {{ root?: string } | undefined} */ (context.options[0]);
    const root = path.resolve(options?.root ?? context.cwd);
    const file = path.resolve(root, context.physicalFilename);
    const importer = layerOf(toPosix(path.relative(root, file)));
    if (!importer) return {};
    const policy = POLICY[importer.id];
    if (policy.layers === 'any' && policy.builtins === 'any' && policy.packages === 'any') return {};

    /**
     * @param {any} node  the node to report on
     * @param {any} source  the specifier node
     */
    function check(node, source) {
      const specifier = literalValue(source);
      if (specifier === undefined) {
        context.report({ node, messageId: 'computed', data: { importer: importer?.dir ?? '' } });
        return;
      }
      const target = classifyTarget(specifier, file, root);
      if (isAllowed(policy, target)) return;
      context.report({
        node: source,
        messageId: 'forbidden',
        data: { importer: importer?.dir ?? '', target: target.label, why: policy.why },
      });
    }

    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => {
        if (node.source) check(node, node.source);
      },
      ImportExpression: (node) => check(node, node.source),
      CallExpression: (node) => {
        if (
          node.callee.type === 'Identifier' &&
          node.callee.name === 'require' &&
          node.arguments.length > 0
        ) {
          check(node, node.arguments[0]);
        }
      },
      // TypeScript-only forms: `import x = require('…')` and `typeof import('…')`.
      /** @param {any} node */
      TSImportEqualsDeclaration: (node) => {
        if (node.moduleReference.type === 'TSExternalModuleReference') {
          check(node, node.moduleReference.expression);
        }
      },
      // typescript-eslint 8 names the specifier `source`; older versions only had `argument`.
      /** @param {any} node */
      TSImportType: (node) => check(node, node.source ?? node.argument),
    };
  },
};

/** @type {import('eslint').ESLint.Plugin} */
const plugin = {
  meta: { name: 'vaultpilot' },
  rules: { layers },
};

export default plugin;
