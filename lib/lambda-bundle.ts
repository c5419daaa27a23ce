/**
 * How every Lambda function is bundled, in one place: CDK (lib/vaultpilot-function.ts) maps it
 * onto NodejsFunction's bundling, and the bundle tests and `npm run bench -- lambda` onto
 * esbuild's API, so what they measure is what deploys.
 */
export const LAMBDA_BUNDLE = {
  format: 'esm',
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  /**
   * esbuild emits ESM (smaller, top-level await, what the sources are), but some bundled CommonJS
   * dependencies still call `require()` for Node built-ins, which ESM lacks; this banner defines it.
   */
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  minify: true,
  sourcemap: true,
  // Source maps map stack traces to file and line; the sources themselves need not ship.
  sourcesContent: false,
  // Error classes keep their names in logs (`ConflictError`, not a minified letter).
  keepNames: true,
  // Resolves lambdas/platform/index.ts to the AWS platform: no local adapter is bundled.
  define: { 'process.env.VAULTPILOT_PLATFORM': '"aws"' },
  /**
   * The functions' NODE_OPTIONS: stack traces through the source maps. Node then reads each
   * bundle's map while the module loads, so the benchmark and the bundle tests load with it too.
   */
  nodeOptions: '--enable-source-maps',
} as const;
