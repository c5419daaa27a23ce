/**
 * `npm run bench -- cli`: the wall time of `vaultpilot kv get -field` next to `curl` of the same
 * read, each a fresh process against the same in-memory local runtime, in the same run (goal: at
 * most 2x curl). Also, for reading the figures: `node -e 0` (Node's own start-up, the floor of
 * any Node CLI), the same read with bare node:http in a few lines (the floor of any Node HTTP
 * client: what the CLI adds on top is its own cost), the client through tsx instead of its bundle (why bin/cli-bundle.cjs exists), and
 * the client with a signed-in profile instead of VAULTPILOT_TOKEN (reading and checking the 0600
 * files). Runs are sequential (a person or a script runs one command at a time) and bounded in
 * count; medians and p90 are reported, and no value is printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_BIN, REPOSITORY_ROOT } from '../support/cli-client.js';
import { signInLocal, startInMemoryRuntime } from '../support/local-api.js';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 20);
const WARM_UP = 2;
const PASSWORD = 'bench-password-0123456789';
const PATH = 'bench/cli';
/** The read with nothing but node:http: the token from the environment, the body to stdout. */
const RAW_NODE_READ = `require('node:http').get(
  process.env.VAULTPILOT_ADDR + '/secrets/data/${PATH}',
  { headers: { authorization: 'Bearer ' + process.env.VAULTPILOT_TOKEN } },
  (response) => (response.statusCode === 200 ? response.pipe(process.stdout) : process.exit(1)),
);`;

interface Command {
  readonly label: string;
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
}

function runOnce(command: Command): Promise<number> {
  const [program, ...args] = command.argv;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(program ?? 'false', args, {
      cwd: REPOSITORY_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...command.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      const elapsed = performance.now() - started;
      // A failed read would measure an error path; the output itself stays unprinted.
      if (code !== 0 || stdout.length === 0)
        reject(new Error(`${command.label} exited ${code}: ${stderr.split('\n', 1)[0] ?? ''}`));
      else resolve(elapsed);
    });
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}

export async function runCliBench(): Promise<void> {
  const runtime = await startInMemoryRuntime({ adminPassword: PASSWORD });
  try {
    const token = await signInLocal(runtime.url, 'admin', PASSWORD);
    const write = await fetch(`${runtime.url}/secrets/data/${PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { value: 'x'.repeat(1024) } }),
    });
    if (write.status !== 200) throw new Error(`writing ${PATH} answered ${write.status}`);

    const scratch = mkdtempSync(join(tmpdir(), 'vp-bench-cli-'));
    // curl reads the header from a file, so the token is not in its argv either.
    const headerFile = join(scratch, 'auth-header');
    writeFileSync(headerFile, `Authorization: Bearer ${token}\n`, { mode: 0o600 });
    const configDir = join(scratch, 'config');
    await saveProfile(configDir, runtime.url, token);
    const tokenEnv = { VAULTPILOT_ADDR: runtime.url, VAULTPILOT_TOKEN: token };
    const kvGet = [process.execPath, CLI_BIN, 'kv', 'get', '-field=value', PATH];
    const commands: Command[] = [
      {
        label: 'curl (baseline)',
        argv: ['curl', '-sf', '-H', `@${headerFile}`, `${runtime.url}/secrets/data/${PATH}`],
        env: {},
      },
      {
        label: 'node -e 0 (Node start-up)',
        argv: [process.execPath, '-e', 'process.stdout.write("x")'],
        env: {},
      },
      {
        label: 'node:http GET (any Node client)',
        argv: [process.execPath, '-e', RAW_NODE_READ],
        env: tokenEnv,
      },
      { label: 'vaultpilot kv get (VAULTPILOT_TOKEN)', argv: kvGet, env: tokenEnv },
      {
        label: 'vaultpilot kv get (through tsx)',
        argv: kvGet,
        env: { ...tokenEnv, VAULTPILOT_CLI_TSX: '1' },
      },
      {
        label: 'vaultpilot kv get (signed-in profile)',
        argv: kvGet,
        env: { VAULTPILOT_CONFIG_DIR: configDir },
      },
    ];

    const loadBefore = loadavg()[0] ?? 0;
    const results = new Map<string, number[]>();
    for (const command of commands) for (let i = 0; i < WARM_UP; i += 1) await runOnce(command);
    // Interleaved, so a burst of load on the machine hits every command alike.
    for (let run = 0; run < RUNS; run += 1) {
      for (const command of commands) {
        const elapsed = await runOnce(command);
        results.set(command.label, [...(results.get(command.label) ?? []), elapsed]);
      }
    }
    const median = (label: string): number =>
      percentile(
        [...(results.get(label) ?? [])].sort((a, b) => a - b),
        0.5,
      );
    const baseline = median('curl (baseline)');
    console.log(`\ncli: wall time of one read of a 1 KiB secret, ${RUNS} sequential runs each (interleaved)`);
    // Fresh processes on a shared machine: the load says how far the absolute figures are inflated.
    console.log(
      `  load average (1 min): ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after`,
    );
    for (const command of commands) {
      const sorted = [...(results.get(command.label) ?? [])].sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      console.log(
        `  ${command.label.padEnd(40)} p50 ${p50.toFixed(1).padStart(7)} ms  p90 ${percentile(sorted, 0.9).toFixed(1).padStart(7)} ms  ${(p50 / baseline).toFixed(2)}x curl`,
      );
    }
    const ratio = median('vaultpilot kv get (VAULTPILOT_TOKEN)') / baseline;
    console.log(`  goal: kv get <= 2x curl: ${ratio <= 2 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x)`);
    const floor = median('node:http GET (any Node client)');
    console.log(
      `  kv get vs bare node:http GET: ${(median('vaultpilot kv get (VAULTPILOT_TOKEN)') / floor).toFixed(2)}x (VAULTPILOT_TOKEN), ${(median('vaultpilot kv get (signed-in profile)') / floor).toFixed(2)}x (profile); bare node:http GET vs curl: ${(floor / baseline).toFixed(2)}x`,
    );
  } finally {
    await runtime.stop();
  }
}

/** A profile as `vaultpilot login -username` leaves it, holding the bench's token. */
async function saveProfile(configDir: string, apiUrl: string, token: string): Promise<void> {
  const { ProfileStore } = await import('../../lambdas/cli/profiles.js');
  const store = new ProfileStore(configDir);
  await store.saveProfile('default', {
    apiUrl,
    auth: { kind: 'password', username: 'admin', signInEndpoint: `${apiUrl}/auth/token` },
  });
  await store.saveTokens('default', { accessToken: token, expiresAt: Date.now() + 3_000_000 });
}
