#!/usr/bin/env node
// @ts-check
'use strict';
// The `vaultpilot` command (package.json "bin"; `npx vaultpilot --help`). Two halves:
// - the data-directory commands (users, clients, rewrap, audit public-key, audit verify/export
//   with --file/--tenant/--data-dir) run lambdas/local/cli.ts through tsx, as `npm start` does;
// - everything else is the client of a deployment (lambdas/cli/main.ts). It starts often (in
//   scripts, `$(vaultpilot kv get -field …)`), so it runs from a plain-JS bundle that is built on
//   first use and rebuilt when a source changes (bin/cli-bundle.cjs), not through tsx.
// CommonJS, as the bundle is: a `kv get` then never starts Node's ES module loader (docs/cli.md).
const LOCAL_WORDS = new Set(['users', 'clients', 'rewrap']);
const LOCAL_TARGET = /^--?(file|tenant|data-dir|public-key)(=|$)/;

/** @param {readonly string[]} argv */
function isLocalCommand(argv) {
  const [first, second] = argv;
  if (first === 'help' || first === '--help' || first === '-h')
    return argv.length > 1 && isLocalCommand(argv.slice(1));
  if (first !== undefined && LOCAL_WORDS.has(first)) return true;
  if (first !== 'audit') return false;
  if (second === 'public-key') return true;
  return (second === 'verify' || second === 'export') && argv.slice(2).some((arg) => LOCAL_TARGET.test(arg));
}

async function main() {
  const argv = process.argv.slice(2);
  // Getters: Node builds process.stdin (and stderr) on first access, which costs a `kv get` that
  // reads no stdin (and prints nothing on stderr) a millisecond for nothing.
  const io = {
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    get stderr() {
      return process.stderr;
    },
    env: process.env,
    cwd: process.cwd(),
  };
  if (isLocalCommand(argv)) {
    const { register } = await import('tsx/esm/api');
    register();
    const { runCli } = await import('../lambdas/local/cli.ts');
    process.exitCode = await runCli(argv, io);
  } else {
    const { runClient } = await require('./cli-bundle.cjs').loadClient();
    process.exitCode = await runClient(argv, io);
  }
}

main().catch((error) => {
  // runClient and runCli answer every expected failure themselves; this is the last resort, one line.
  process.stderr.write(`vaultpilot: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
