/**
 * The `npm start` entry point as a user meets it: a separate process, its start-up output, its
 * exit codes and messages for the failures a user can fix, and a clean stop on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

interface Run {
  readonly child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exit(): Promise<number | null>;
}

function startCli(args: string[], env: Record<string, string> = {}): Run {
  // Building the dashboard is tested in dashboard-serving.test.ts; here it would only add minutes.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bin/local.ts', '--no-dashboard-build', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exit: () => exited,
    waitFor: async (pattern, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const match = pattern.exec(output);
        if (match !== null) return match;
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`Timed out waiting for ${String(pattern)}; output:\n${output}`);
    },
  };
}

describe('npm start', () => {
  it('prints its URL and the one-time admin password, serves, and stops cleanly on SIGTERM', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'vp-start-'));

    // Act
    const run = startCli(['--port', '0', '--data-dir', dataDir, '--no-scheduler']);
    const [, url] = await run.waitFor(/API\s+(http:\/\/127\.0\.0\.1:\d+)/);
    const [, password] = await run.waitFor(/one-time password, shown only now:\n\s+(\S+)/);
    const health = await fetch(`${url}/health`);
    const login = await fetch(`${url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    run.child.kill('SIGTERM');
    const code = await run.exit();

    // Assess
    expect(health.status).toBe(200);
    expect(login.status).toBe(200);
    expect(run.output()).toContain(`Data         ${dataDir}`);
    expect(run.output()).toMatch(/DynamoDB\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(run.output()).toContain('Stopped; all data is on disk');
    // Locally metrics stay off the console (they are CloudWatch EMF lines in AWS).
    expect(run.output()).not.toContain('"_aws"');
    expect(code).toBe(0);
  });

  it('exits non-zero with a clear message when the port is in use', async () => {
    // Prepare
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;

    // Act
    const run = startCli(['--port', String(port), '--in-memory', '--no-scheduler']);
    const code = await run.exit();
    blocker.close();

    // Assess
    expect(code).toBe(1);
    expect(run.output()).toContain(`Port ${port} is already in use`);
    expect(run.output()).not.toMatch(/\n\s+at /);
  });

  it('exits non-zero with a clear message for a data dir that cannot be used', async () => {
    // Prepare: a regular file where the directory should be (root ignores permission bits).
    const parent = mkdtempSync(join(tmpdir(), 'vp-start-'));
    const notADir = join(parent, 'file');
    writeFileSync(notADir, 'x');

    // Act
    const run = startCli(['--port', '0', '--data-dir', join(notADir, 'data'), '--no-scheduler']);
    const code = await run.exit();

    // Assess
    expect(code).toBe(1);
    expect(run.output()).toMatch(/data directory .* cannot be used/);
    expect(run.output()).not.toMatch(/\n\s+at /);
  });

  it('exits non-zero with a clear message for a corrupt signing key', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'vp-start-'));
    mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'keys', 'idp-signing-key.pem'), 'not a key', { mode: 0o600 });

    // Act
    const run = startCli(['--port', '0', '--data-dir', dataDir, '--no-scheduler']);
    const code = await run.exit();

    // Assess
    expect(code).toBe(1);
    expect(run.output()).toContain('idp-signing-key.pem');
    expect(run.output()).not.toMatch(/\n\s+at /);
  });

  it('names a bad variable and exits non-zero', async () => {
    const run = startCli([], { PORT: 'eighty' });
    expect(await run.exit()).toBe(1);
    expect(run.output()).toContain('PORT: expected a port number');
  });

  it('refuses to start, naming the key id and the folder, when keys/ is gone but the key ledger names a key', async () => {
    // Prepare: what a data directory looks like after its keys/ folder was deleted.
    const dataDir = mkdtempSync(join(tmpdir(), 'vp-start-'));
    writeFileSync(
      join(dataDir, 'keyring-ids.json'),
      JSON.stringify({ version: 1, keys: ['kek-0123456789abcdef'] }),
    );

    // Act
    const run = startCli(['--port', '0', '--data-dir', dataDir, '--no-scheduler']);
    const code = await run.exit();

    // Assess
    expect(code).toBe(1);
    expect(run.output()).toContain('kek-0123456789abcdef');
    expect(run.output()).toContain(join(dataDir, 'keys'));
    expect(run.output()).not.toMatch(/\n\s+at /);
  });

  it('names a bad local limit variable and exits non-zero', async () => {
    const run = startCli(['--in-memory'], { VAULTPILOT_RATE_LIMIT_CLIENT_RPS: 'fast' });
    expect(await run.exit()).toBe(1);
    expect(run.output()).toContain('VAULTPILOT_RATE_LIMIT_CLIENT_RPS: expected requests per second');
  });
});
