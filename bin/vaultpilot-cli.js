#!/usr/bin/env node
// The `vaultpilot` command (package.json "bin"; `npx vaultpilot --help`). It runs the TypeScript
// sources through tsx, as `npm start` does, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../lambdas/local/cli.ts');
process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
