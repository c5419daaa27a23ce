// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

import vaultpilot from './eslint-dependency-rule.js';

const root = import.meta.dirname;

const SOURCE = ['**/*.{js,mjs,cjs,ts,tsx,mts,cts}'];
const TYPESCRIPT = ['**/*.{ts,tsx,mts,cts}'];
const JAVASCRIPT = ['**/*.{js,mjs,cjs}'];
const TESTS = ['test/**/*.{js,ts,tsx}', '**/*.{test,spec}.{js,ts,tsx}'];

// The Lambda layers log through the Powertools logger, never the console.
const LOGGED_THROUGH_POWERTOOLS = ['core', 'handlers', 'shared', 'adapters', 'rotators'].map(
  (layer) => `lambdas/${layer}/**`,
);

// The Node globals plain JavaScript files here use (TypeScript files get theirs from @types/node).
const NODE_GLOBALS = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextEncoder',
    'TextDecoder',
    'AbortController',
    'AbortSignal',
    'fetch',
    'structuredClone',
    'queueMicrotask',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
  ].map((name) => [name, /** @type {const} */ ('readonly')]),
);

export default defineConfig(
  globalIgnores([
    'node_modules/',
    'cdk.out/',
    '.vaultpilot/',
    'coverage/',
    'frontend/dist/',
    '.ci/out/',
    // Lint fixtures contain deliberate violations; only the dependency-rule test lints them.
    'test/fixtures/lint/**',
  ]),

  { files: SOURCE, extends: [js.configs.recommended] },

  {
    files: JAVASCRIPT,
    languageOptions: { globals: NODE_GLOBALS },
  },

  // CommonJS files (bin/vaultpilot-cli.cjs and its bundle loader) also have their module's names.
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { __dirname: 'readonly', __filename: 'readonly' },
    },
  },

  {
    files: TYPESCRIPT,
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      // Under verbatimModuleSyntax `import { type A } from 'x'` still loads 'x' at run time; write `import type`.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // Use cases and ports return promises by contract; an async function without an await is
      // the clearest way to satisfy that, so this rule would only add noise.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'all',
          caughtErrorsIgnorePattern: '^_',
        },
      ],
    },
  },

  {
    files: SOURCE,
    plugins: { vaultpilot },
    rules: { 'vaultpilot/layers': ['error', { root }] },
  },

  {
    // The `z` object keeps every zod locale in a Lambda bundle; the namespace import lets esbuild drop them (ADR 0007).
    files: ['lambdas/**/*.ts', 'lib/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Write `import * as z from 'zod'` (see ADR 0007).",
        },
      ],
    },
  },

  {
    files: ['lambdas/core/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        {
          name: 'process',
          message: 'core must not read process or process.env; configuration reaches it through its callers.',
        },
        { name: 'fetch', message: 'core does no I/O; declare a port in lambdas/core/ports.ts.' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'globalThis',
          property: 'process',
          message: 'core must not read process or process.env; configuration reaches it through its callers.',
        },
      ],
    },
  },

  { files: LOGGED_THROUGH_POWERTOOLS, rules: { 'no-console': 'error' } },
  { files: ['bin/**', 'lambdas/local/**', 'test/**'], rules: { 'no-console': 'off' } },

  {
    // Tests read untyped JSON bodies from real HTTP responses; asserting on them is the point.
    files: TESTS,
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },

  {
    files: TESTS,
    rules: {
      // `.only` and `.skip` never land (STYLE.md). `skipIf`/`runIf` stay allowed for real preconditions.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'MemberExpression:matches([object.name=/^(describe|suite|it|test|bench)$/], [object.object.name=/^(describe|suite|it|test|bench)$/])[property.name=/^(only|skip)$/]',
          message: '.only and .skip must not land; remove it (or use skipIf with a real precondition).',
        },
      ],
    },
  },

  prettier,
);
