/**
 * `npm run bench -- discovery`: one account of 10,000 IAM users with 20,000 access keys, behind a
 * simulated IAM that answers each call after 30 ms and throttles (`Throttling`, as IAM does)
 * above its rate limit. Prints the scan's total time next to the lower bound the rate limit
 * allows (successful calls / limit), the ratio of the two, the throttling it met, and the peak
 * memory of the process; then the in-memory reconciliation of the result.
 *
 * Sizes and limits: BENCH_DISCOVERY_USERS (10000), BENCH_DISCOVERY_KEYS_PER_USER (2),
 * BENCH_DISCOVERY_RATE (IAM's limit, 1000 requests/s), BENCH_DISCOVERY_LATENCY_MS (30).
 */
import {
  GetAccessKeyLastUsedCommand,
  GetAccountSummaryCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { AwsAccountSource } from '../../lambdas/adapters/aws/aws-account-source.js';
import { DEFAULT_THRESHOLDS } from '../../lambdas/core/credentials/findings.js';
import { reconcile } from '../../lambdas/core/discovery/reconcile.js';

const USERS = Number(process.env.BENCH_DISCOVERY_USERS ?? 10_000);
const KEYS_PER_USER = Number(process.env.BENCH_DISCOVERY_KEYS_PER_USER ?? 2);
const LIMIT = Number(process.env.BENCH_DISCOVERY_RATE ?? 1000);
const LATENCY_MS = Number(process.env.BENCH_DISCOVERY_LATENCY_MS ?? 30);
const ACCOUNT = '111122223333';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** IAM's side: a token bucket of one second's worth of requests, refilled continuously. */
class SimulatedIam {
  private tokens = LIMIT;
  private last = performance.now();
  successes = 0;
  throttled = 0;

  private admit(): boolean {
    const now = performance.now();
    this.tokens = Math.min(LIMIT, this.tokens + ((now - this.last) / 1000) * LIMIT);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  async send(command: unknown): Promise<unknown> {
    const admitted = this.admit();
    await sleep(LATENCY_MS);
    if (!admitted) {
      this.throttled += 1;
      throw Object.assign(new Error('Rate exceeded'), {
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    this.successes += 1;
    const created = new Date('2025-01-01T00:00:00Z');
    if (command instanceof GetAccountSummaryCommand)
      return { SummaryMap: { AccountAccessKeysPresent: 0, Users: USERS } };
    if (command instanceof ListUsersCommand) {
      const start = Number(command.input.Marker ?? '0');
      const end = Math.min(USERS, start + (command.input.MaxItems ?? 100));
      return {
        Users: Array.from({ length: end - start }, (_, i) => ({
          UserName: `user-${start + i}`,
          UserId: `AIDA${String(start + i).padStart(17, '0')}`,
          Arn: `arn:aws:iam::${ACCOUNT}:user/user-${start + i}`,
          Path: '/',
          CreateDate: created,
        })),
        IsTruncated: end < USERS,
        ...(end < USERS ? { Marker: String(end) } : {}),
      };
    }
    if (command instanceof ListAccessKeysCommand) {
      const user = command.input.UserName ?? '';
      const n = Number(user.slice('user-'.length));
      return {
        AccessKeyMetadata: Array.from({ length: KEYS_PER_USER }, (_, k) => ({
          UserName: user,
          AccessKeyId: `AKIA${String(n * KEYS_PER_USER + k).padStart(16, '0')}`,
          Status: 'Active',
          CreateDate: created,
        })),
        IsTruncated: false,
      };
    }
    if (command instanceof GetAccessKeyLastUsedCommand) {
      return {
        UserName: 'x',
        AccessKeyLastUsed: { LastUsedDate: new Date(), ServiceName: 's3', Region: 'us-east-1' },
      };
    }
    throw new Error('unexpected command');
  }
}

const emptyRegional = { send: async () => ({}) };

export async function runDiscoveryBench(): Promise<void> {
  const iam = new SimulatedIam();
  // Enough calls in flight to fill the limit at this latency, with some headroom.
  const concurrency = Math.ceil(((LIMIT * LATENCY_MS) / 1000) * 1.5);
  const source = new AwsAccountSource(
    'bench account',
    undefined,
    async () => ({
      account: ACCOUNT,
      clients: {
        iam: iam as unknown as IAMClient,
        secretsManager: () => emptyRegional as unknown as SecretsManagerClient,
        ssm: () => emptyRegional as unknown as SSMClient,
      },
    }),
    // The pacer's ceiling is above the real limit on purpose: it has to find the limit itself.
    { regions: [], iamRatePerSecond: LIMIT * 1.2, regionalRatePerSecond: 20, concurrency },
  );

  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const startHeap = peakHeap;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 50);

  const started = performance.now();
  const scan = await source.scan({ deadline: new Date(Date.now() + 3_600_000) });
  const seconds = (performance.now() - started) / 1000;

  const reconcileStarted = performance.now();
  const plan = reconcile({
    tenant: 'bench',
    now: new Date(),
    existing: [],
    reported: scan.credentials,
    completeScopes: new Set(scan.completeScopes),
    thresholds: DEFAULT_THRESHOLDS,
    disabledRules: new Set(),
  });
  const reconcileSeconds = (performance.now() - reconcileStarted) / 1000;
  clearInterval(sampler);

  const lowerBound = iam.successes / LIMIT;
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  console.log(
    `discovery scan: ${USERS} users, ${USERS * KEYS_PER_USER} keys; IAM ${LIMIT} req/s limit, ${LATENCY_MS} ms per call; ${concurrency} calls in flight at most`,
  );
  console.log(
    `  credentials found          ${scan.credentials.length} (errors: ${scan.errors.length}, complete scopes: ${scan.completeScopes.length})`,
  );
  console.log(`  successful IAM calls       ${iam.successes}`);
  console.log(
    `  throttled calls            ${iam.throttled} (${((100 * iam.throttled) / (iam.successes + iam.throttled)).toFixed(1)} %)`,
  );
  console.log(`  total time                 ${seconds.toFixed(1)} s`);
  console.log(`  lower bound (calls/limit)  ${lowerBound.toFixed(1)} s`);
  console.log(`  ratio                      ${(seconds / lowerBound).toFixed(3)}`);
  console.log(
    `  reconcile (in memory)      ${reconcileSeconds.toFixed(2)} s, ${plan.changes.length} changes`,
  );
  console.log(`  peak memory                rss ${mb(peakRss)}, heap +${mb(peakHeap - startHeap)}`);
}
