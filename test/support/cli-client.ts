/**
 * Running the `vaultpilot` client as a user does: in-process through runClient with its own
 * streams (fast, and the server of the suite keeps running in the same process), or as a child
 * process of the real bin/vaultpilot-cli.cjs (the shim, the bundle and exit codes as a shell sees them).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runClient } from '../../lambdas/cli/main.js';

export const REPOSITORY_ROOT = join(import.meta.dirname, '..', '..');
export const CLI_BIN = join(REPOSITORY_ROOT, 'bin', 'vaultpilot-cli.cjs');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  readonly stdin?: string;
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Called with everything written to stderr so far, on each write (to follow a sign-in prompt). */
  readonly onStderr?: (text: string) => void;
}

/** A fresh, private config directory, as a new user has. */
export function freshConfigDir(): string {
  return mkdtempSync(join(tmpdir(), 'vp-config-'));
}

export async function client(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runClient(argv, {
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: {
      write: (chunk: string) => {
        stderr += chunk;
        options.onStderr?.(stderr);
      },
    },
    env: options.env ?? {},
    cwd: options.cwd ?? REPOSITORY_ROOT,
  });
  return { code, stdout, stderr };
}

/** The real executable in a child process (asynchronously: the suite's server must keep answering). */
export function clientProcess(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...argv], {
      cwd: options.cwd ?? REPOSITORY_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({ code: code ?? 128 + (signal === null ? 0 : 1), stdout, stderr }),
    );
    child.stdin.end(options.stdin ?? '');
  });
}
