/**
 * `npm run bench [-- api|secrets|envelope|audit|discovery|rotation|dashboard|lambda|cli|memory|inventory|notify] [--requests N] [--scheduler]`: runs the named suites (all by default).
 *
 * api: throughput of the local API against a baseline measured in the same run.
 *
 * Baseline: a bare node:http server answering a constant JSON body. Measured: /health (the
 * full middleware chain, no auth) and /me (plus RS256 verification with aws-jwt-verify). The
 * figures are reported as ratios to the baseline, since absolute numbers depend on the machine.
 * Traffic stays on loopback; every loop is bounded in count.
 *
 * envelope: envelope encryption alone (envelope.ts), with the local file keyring's per-use key check.
 *
 * secrets: envelope encryption next to raw AES-256-GCM (envelope.ts), then the secrets API next
 * to raw DynamoDB GetItem/PutItem and keyring calls per 1,000 hot reads, and reads through Vault's
 * `/v1/secret/data` next to `/secrets/data` (secrets-api.ts), with a CEILING: a bare node:http
 * server making the same DynamoDB calls per request (secrets-ceiling.ts).
 *
 * audit: chain verification next to raw SHA-256, durable event writes and single-chain appends
 * next to raw PutItem on dynalite, and NDJSON export (audit.ts).
 *
 * discovery: an IAM account of 10,000 users and 20,000 keys behind a rate-limited, throttling,
 * 30 ms-per-call simulated IAM; total time next to the rate limit's lower bound (discovery.ts).
 *
 * rotation: 1,000 vault secrets and 200 PostgreSQL roles rotated through the in-process queue
 * (rotations/s, p50/p99 per rotation), and the due-finder over 100,000 items, 1% due (rotation.ts).
 *
 * dashboard: time until the overview and the credentials page are interactive in Chromium with
 * 10,000 credentials next to an empty inventory, in the same run (dashboard.ts).
 *
 * notify: events/s through the notifier to a real SMTP server and a local HTTP receiver, next to
 * raw nodemailer sends and raw HTTP POSTs to the same receivers; RSS after 10,000 events (notify.ts).
 *
 * lambda: every function's minified bundle size and module-init time next to a bare bundle of
 * exactly the SDK clients it uses, built and timed in the same run, and a floor per bare bundle:
 * those clients plus Powertools logger and metrics, middy and zod (or zod/mini) (lambda.ts).
 *
 * cli: `vaultpilot kv get` wall time next to curl of the same read, fresh processes, same run (cli.ts).
 *
 * inventory: p50 of one page of GET /credentials with 10,000 credentials next to 100 (inventory.ts).
 *
 * memory: `npm start`'s RSS after 100,000 mixed API requests next to its RSS after 10,000, in
 * one run (memory.ts); `--requests N` scales the run, `--scheduler` runs the scheduled engines too.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The handlers' Powertools logger and metrics are built when their module loads, which can be
// before the local runtime sets its environment; so the lambdas/ modules are imported only
// after this, and the benchmarks stay quiet (no logs, no EMF metrics on the console).
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
// Suites that start the local runtime may run after suites that called DynamoDB in this process:
// the runtime's invoke store is made before the SDK's first call would make a one-at-a-time one
// (lambdas/local/invocation.ts), as Lambda's runtime makes it before it loads a handler.
import '../../lambdas/local/invocation.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
// A secrets API request costs 5 to 15 DynamoDB calls, so its loops default to fewer requests.
const SECRETS_READS = Number(process.env.BENCH_SECRETS_READS ?? process.env.BENCH_REQUESTS ?? 500);
const SECRETS_WRITES = Number(process.env.BENCH_SECRETS_WRITES ?? process.env.BENCH_REQUESTS ?? 300);

async function measure(url: string, headers: Record<string, string> = {}): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < REQUESTS) {
      next += 1;
      const response = await fetch(url, { headers });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    }
  };
  // Warm up (JIT, JWKS cache, handler modules), then measure.
  for (let i = 0; i < 50; i += 1) await (await fetch(url, { headers })).arrayBuffer();
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return REQUESTS / ((performance.now() - started) / 1000);
}

async function apiBench(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const baseline = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => baseline.listen(0, '127.0.0.1', resolve));
  const baselineUrl = `http://127.0.0.1:${(baseline.address() as AddressInfo).port}/`;

  const password = 'bench-password-0123456789';
  const { parseLocalRuntimeConfig } = await import('../../lambdas/shared/config.js');
  const { startLocalRuntime } = await import('../../lambdas/local/runtime.js');
  const { parseLocalLimits } = await import('../../lambdas/local/local-limits.js');
  const runtime = await startLocalRuntime(
    parseLocalRuntimeConfig({
      PORT: '0',
      VAULTPILOT_IN_MEMORY: 'true',
      VAULTPILOT_SCHEDULER: 'false',
      VAULTPILOT_ADMIN_PASSWORD: password,
    }),
    { info: () => undefined, error: (message) => console.error(message) },
    // Limits so high they never refuse: the bench measures the limiter's cost, not its 429s.
    parseLocalLimits({
      VAULTPILOT_RATE_LIMIT_CLIENT_RPS: '100000',
      VAULTPILOT_RATE_LIMIT_CLIENT_BURST: '100000',
      VAULTPILOT_RATE_LIMIT_TENANT_RPS: '100000',
      VAULTPILOT_RATE_LIMIT_TENANT_BURST: '100000',
    }),
  );
  try {
    const login = (await (
      await fetch(`${runtime.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      })
    ).json()) as { accessToken: string };
    const auth = { authorization: `Bearer ${login.accessToken}` };

    const base = await measure(baselineUrl);
    const health = await measure(`${runtime.url}/health`);
    const me = await measure(`${runtime.url}/me`, auth);

    const rows = [
      ['baseline (bare node:http)', base],
      ['GET /health (middleware chain)', health],
      ['GET /me (chain + RS256 verify)', me],
    ] as const;
    console.log(`local API throughput, ${REQUESTS} requests, concurrency ${CONCURRENCY}`);
    for (const [name, rate] of rows) {
      console.log(
        `  ${name.padEnd(34)} ${rate.toFixed(0).padStart(7)} req/s   ratio ${(rate / base).toFixed(3)}`,
      );
    }
  } finally {
    await runtime.stop();
    baseline.close();
  }
}

const SUITES: Readonly<Record<string, () => Promise<void>>> = {
  api: apiBench,
  secrets: async () => {
    await (await import('./envelope.js')).runEnvelopeBench();
    const { runSecretsApiBench } = await import('./secrets-api.js');
    await runSecretsApiBench({ reads: SECRETS_READS, writes: SECRETS_WRITES, concurrency: CONCURRENCY });
    const { runVaultReadBench } = await import('./secrets-api.js');
    await runVaultReadBench({ reads: SECRETS_READS, concurrency: CONCURRENCY });
  },
  envelope: async () => (await import('./envelope.js')).runEnvelopeBench(),
  audit: async () => (await import('./audit.js')).runAuditBench(),
  discovery: async () => (await import('./discovery.js')).runDiscoveryBench(),
  rotation: async () => (await import('./rotation.js')).runRotationBench(),
  dashboard: async () => (await import('./dashboard.js')).runDashboardBench(),
  lambda: async () => (await import('./lambda.js')).runLambdaBench(),
  cli: async () => (await import('./cli.js')).runCliBench(),
  memory: async () =>
    (await import('./memory.js')).runMemoryBench(MEMORY_REQUESTS, { scheduler: flags.scheduler === true }),
  inventory: async () => (await import('./inventory.js')).runInventoryBench(),
  notify: async () => (await import('./notify.js')).runNotifyBench(),
};

const { values: flags, positionals: wanted } = parseArgs({
  options: { requests: { type: 'string' }, scheduler: { type: 'boolean' } },
  allowPositionals: true,
});
// The memory run's length; a full run is slow on a shared machine, so it can be scaled down.
const MEMORY_REQUESTS = Number(flags.requests ?? 100_000);
const unknown = wanted.filter((name) => !(name in SUITES));
if (!Number.isInteger(MEMORY_REQUESTS) || MEMORY_REQUESTS < 100) {
  unknown.push(`--requests ${flags.requests} (expected a whole number ≥ 100)`);
}
if (unknown.length > 0) {
  console.error(`Unknown benchmark suite: ${unknown.join(', ')} (known: ${Object.keys(SUITES).join(', ')})`);
  process.exitCode = 2;
} else {
  for (const name of wanted.length === 0 ? Object.keys(SUITES) : wanted) {
    console.log(`\n== ${name} ==`);
    await SUITES[name]?.();
  }
}
