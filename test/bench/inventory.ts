/**
 * `npm run bench -- inventory`: the latency of one page of `GET /credentials?limit=50` with 100
 * credentials in the tenant's inventory, then with 10,000, in the same run against the same
 * local runtime. Goal (issue 13): p50 at 10,000 ≤ 1.5 × p50 at 100.
 *
 * The inventory is written straight through the credential store (the API's own writer, with its
 * index keys and counters), because registering 10,000 credentials through the API would take
 * minutes on a shared machine and is not what is measured; each credential gets the findings and
 * status the rules give it (expiries spread over a year, 20 days of them past). Requests are
 * sequential, so each sample is one request's latency; a filtered page (one type) and the
 * overview's "expiring within 7 days" question (two expiry findings by expiry date, 5 items) are
 * measured alongside.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadavg } from 'node:os';
import {
  deriveStatus,
  DEFAULT_THRESHOLDS,
  evaluateFindings,
} from '../../lambdas/core/credentials/findings.js';
import { credential } from '../support/credentials.js';

const SMALL = 100;
const LARGE = Number(process.env.BENCH_INVENTORY_CREDENTIALS ?? 10_000);
const SAMPLES = Number(process.env.BENCH_INVENTORY_SAMPLES ?? 200);
const SEED_CONCURRENCY = 16;
const PASSWORD = 'bench-inventory-password-1';
const TYPES = ['api-token', 'github-token', 'webhook-token', 'vault-secret'] as const;
const DAY = 86_400_000;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function latencies(url: string, auth: Record<string, string>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 20; i += 1) await (await fetch(url, { headers: auth })).arrayBuffer();
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i += 1) {
    const started = performance.now();
    const response = await fetch(url, { headers: auth });
    await response.arrayBuffer();
    samples.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

export async function runInventoryBench(): Promise<void> {
  const { parseLocalRuntimeConfig } = await import('../../lambdas/shared/config.js');
  const { startLocalRuntime } = await import('../../lambdas/local/runtime.js');
  const { parseLocalLimits } = await import('../../lambdas/local/local-limits.js');
  const { DynamoDbCredentialStore } = await import('../../lambdas/adapters/aws/dynamodb-credential-store.js');
  const { localTableName } = await import('../../lambdas/shared/tables.js');
  const runtime = await startLocalRuntime(
    parseLocalRuntimeConfig({
      PORT: '0',
      VAULTPILOT_IN_MEMORY: 'true',
      VAULTPILOT_SCHEDULER: 'false',
      VAULTPILOT_ADMIN_PASSWORD: PASSWORD,
    }),
    { info: () => undefined, error: (message) => console.error(message) },
    parseLocalLimits({
      VAULTPILOT_RATE_LIMIT_CLIENT_RPS: '100000',
      VAULTPILOT_RATE_LIMIT_CLIENT_BURST: '100000',
      VAULTPILOT_RATE_LIMIT_TENANT_RPS: '100000',
      VAULTPILOT_RATE_LIMIT_TENANT_BURST: '100000',
    }),
  );
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: runtime.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const store = new DynamoDbCredentialStore(documents, localTableName('credentials'));
  const now = new Date();
  const seed = async (from: number, to: number): Promise<void> => {
    let next = from;
    const worker = async (): Promise<void> => {
      while (next < to) {
        const i = next;
        next += 1;
        const base = credential({
          id: `cr_${i.toString(16).padStart(24, '0')}`,
          tenant: 'default',
          name: `bench token ${String((i * 7919) % 100_000).padStart(5, '0')}`,
          type: TYPES[i % TYPES.length],
          owner: `team-${i % 40}`,
          expiresAt: new Date(now.getTime() + (((i * 37) % 365) - 20) * DAY).toISOString(),
        });
        const findings = evaluateFindings(base, { now, thresholds: DEFAULT_THRESHOLDS });
        await store.create({ ...base, findings, status: deriveStatus(base, findings) });
      }
    };
    await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  };
  try {
    const login = await fetch(`${runtime.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`Sign-in answered ${login.status}`);
    const auth = { authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` };
    const page = `${runtime.url}/credentials?limit=50`;
    const filtered = `${runtime.url}/credentials?limit=50&type=github-token`;
    const expiring = `${runtime.url}/credentials?limit=5&sort=expiresAt&finding=credential-expiring-imminent,credential-expiring-soon`;

    await seed(0, SMALL);
    const small = await latencies(page, auth);
    const smallFiltered = await latencies(filtered, auth);
    const smallExpiring = await latencies(expiring, auth);
    await seed(SMALL, LARGE);
    const large = await latencies(page, auth);
    const largeFiltered = await latencies(filtered, auth);
    const largeExpiring = await latencies(expiring, auth);

    console.log(
      `GET /credentials?limit=50, ${SAMPLES} sequential requests each, load average ${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
    );
    const row = (name: string, figures: { p50: number; p99: number }): void =>
      console.log(
        `  ${name.padEnd(40)} p50 ${figures.p50.toFixed(2).padStart(7)} ms   p99 ${figures.p99.toFixed(2).padStart(7)} ms`,
      );
    row(`${SMALL} credentials`, small);
    row(`${LARGE} credentials`, large);
    row(`${SMALL} credentials, type=github-token`, smallFiltered);
    row(`${LARGE} credentials, type=github-token`, largeFiltered);
    row(`${SMALL} credentials, expiring within 7 days`, smallExpiring);
    row(`${LARGE} credentials, expiring within 7 days`, largeExpiring);
    const ratio = large.p50 / small.p50;
    console.log(
      `  p50 at ${LARGE} / p50 at ${SMALL}: ${ratio.toFixed(2)} (goal ≤ 1.5) ${ratio <= 1.5 ? 'met' : 'NOT met'}; filtered ${(largeFiltered.p50 / smallFiltered.p50).toFixed(2)}; expiring ${(largeExpiring.p50 / smallExpiring.p50).toFixed(2)}`,
    );
  } finally {
    documents.destroy();
    await runtime.stop();
  }
}
