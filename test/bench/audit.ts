/**
 * The audit chain's costs (ADR 0004), each next to a baseline measured in the same run:
 * - verification: entries/s of the verifier over an in-memory chain in the stored form (format 2:
 *   each entry keeps the bytes that were hashed), next to raw SHA-256 of the same stored bytes
 *   (the floor any verifier pays); goal ≥ 0.7. Two raw baselines: a Hash object per entry fed
 *   `bytes(prevHash)` then the body (this bench's baseline until the verifier hashed in one call)
 *   and one `crypto.hash` call per entry over the same bytes assembled in a reused buffer (what
 *   the verifier now does; the faster, so the goal is judged against it). Entries written before
 *   format 2 are measured too, and the same chain with format-1 digests (each signature checked,
 *   as before format-2 digests; format 2 checks one per run of linked digests);
 * - writes on dynalite, one tenant: raw PutItem of event-sized items (baseline), the durable,
 *   contention-free event write of the request path, and appends to the tenant's one chain:
 *   per event by 1 and by 16 concurrent sequencers (every append contends for the head), and in
 *   batches by one sequencer (what the stream and the in-process sequencer do), and the first
 *   digest of that chain (the hourly engine's work for a tenant: every event of the range and its
 *   marker read, every entry checked);
 * - export: NDJSON entries/s of a stored chain.
 * Every loop is bounded in count.
 */
import { createHash, hash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbAuditChainStore } from '../../lambdas/adapters/aws/dynamodb-audit-chain-store.js';
import { auditEventItem, DynamoDbAuditSink } from '../../lambdas/adapters/aws/dynamodb-audit-sink.js';
import { AuditDigestService } from '../../lambdas/core/audit/audit-digests.js';
import { AuditLog } from '../../lambdas/core/audit/audit-log.js';
import type { RecordedAuditEvent } from '../../lambdas/core/audit/audit-store.js';
import { AuditSequencer } from '../../lambdas/core/audit/audit-sequencer.js';
import { verifyAuditChain } from '../../lambdas/core/audit/chain-verifier.js';
import { ensureTables, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import { asRecords, asStoredRecords, auditEvent, buildChain, ed25519Signer } from '../support/audit-chain.js';

const VERIFY_ENTRIES = Number(process.env.BENCH_AUDIT_VERIFY ?? 20_000);
const VERIFY_ROUNDS = Number(process.env.BENCH_AUDIT_VERIFY_ROUNDS ?? 7);
const WRITES = Number(process.env.BENCH_AUDIT_WRITES ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TABLE = localTableName('audit');

function line(name: string, rate: number, base: number, unit: string): void {
  console.log(
    `  ${name.padEnd(52)} ${rate.toFixed(0).padStart(8)} ${unit}   ratio ${(rate / base).toFixed(3)}`,
  );
}

/** Runs `count` tasks with `concurrency` workers; answers tasks per second. */
async function throughput(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next;
        next += 1;
        await task(i);
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** Entries/s of `run` over `count` entries, in CPU time (the machine is shared; the work is synchronous). */
function cpuRate(count: number, run: () => void): number {
  const started = process.cpuUsage();
  run();
  const used = process.cpuUsage(started);
  return count / ((used.user + used.system) / 1e6);
}

async function verificationBench(): Promise<void> {
  const signer = ed25519Signer();
  const { entries, digests } = await buildChain({
    tenant: 'bench',
    count: VERIFY_ENTRIES,
    digestEvery: 1000,
    signer,
  });
  // As a verifier receives them: parsed from stored JSON (DynamoDB's responses, export lines),
  // so its strings are flat, not the ropes the chain builder concatenated.
  const asRead = (records: Record<string, unknown>[]) =>
    JSON.parse(JSON.stringify(records)) as Record<string, unknown>[];
  // The same length of chain with digests as signed before format 2 (every signature checked).
  const format1 = await buildChain({
    tenant: 'bench',
    count: VERIFY_ENTRIES,
    digestEvery: 1000,
    signer,
    legacyDigests: VERIFY_ENTRIES,
  });
  const records = asRead(asStoredRecords(entries));
  const format1Records = asRead(asStoredRecords(format1.entries));
  const legacyRecords = asRead(asRecords(entries));
  const inputs = records.map((entry) => ({
    prev: Buffer.from(String(entry.prevHash), 'hex'),
    payload: String(entry.body),
    hash: String(entry.hash),
  }));
  const scratch = Buffer.alloc(16_384);
  const options = { tenant: 'bench', digests, publicKey: signer.publicKey, now: 0 };
  verifyAuditChain(records.slice(0, 2000), { ...options, digests: [] }); // warm-up (JIT)

  // Best of several rounds each, alternating, so no side gets the JIT's, the GC's or the shared
  // machine's bad luck. Both baselines compare the digest with the stored hash, as a verifier must.
  let streaming = 0;
  let oneCall = 0;
  let keptViews = 0;
  let verify = 0;
  let undigested = 0;
  let digestsAlone = 0;
  let legacy = 0;
  let format1Digests = 0;
  let mismatches = 0;
  // Breakdown only (not a baseline): the one-call hash with the buffer's views kept by length, as
  // the verifier keeps them, and the verifier with and without its digests.
  const views = new Map<number, Buffer>();
  const noDigests = { ...options, digests: [] };
  for (let round = 0; round < VERIFY_ROUNDS; round += 1) {
    streaming = Math.max(
      streaming,
      cpuRate(VERIFY_ENTRIES, () => {
        for (const input of inputs) {
          const digest = createHash('sha256').update(input.prev).update(input.payload, 'utf8').digest('hex');
          if (digest !== input.hash) mismatches += 1;
        }
      }),
    );
    oneCall = Math.max(
      oneCall,
      cpuRate(VERIFY_ENTRIES, () => {
        for (const input of inputs) {
          input.prev.copy(scratch, 0);
          const length = 32 + scratch.write(input.payload, 32, 'utf8');
          if (hash('sha256', scratch.subarray(0, length), 'hex') !== input.hash) mismatches += 1;
        }
      }),
    );
    keptViews = Math.max(
      keptViews,
      cpuRate(VERIFY_ENTRIES, () => {
        for (const input of inputs) {
          input.prev.copy(scratch, 0);
          const length = 32 + scratch.write(input.payload, 32, 'utf8');
          let view = views.get(length);
          if (view === undefined) {
            view = scratch.subarray(0, length);
            views.set(length, view);
          }
          if (hash('sha256', view, 'hex') !== input.hash) mismatches += 1;
        }
      }),
    );
    verify = Math.max(
      verify,
      cpuRate(VERIFY_ENTRIES, () => {
        if (!verifyAuditChain(records, options).ok) throw new Error('the benchmark chain does not verify');
      }),
    );
    undigested = Math.max(
      undigested,
      cpuRate(VERIFY_ENTRIES, () => {
        if (!verifyAuditChain(records, noDigests).ok) throw new Error('the benchmark chain does not verify');
      }),
    );
    // The digests alone: what checking them adds per entry of this chain (their entries absent,
    // so the result is a truncation, not checked here).
    digestsAlone = Math.max(
      digestsAlone,
      cpuRate(VERIFY_ENTRIES, () => {
        verifyAuditChain([], options);
      }),
    );
    format1Digests = Math.max(
      format1Digests,
      cpuRate(VERIFY_ENTRIES, () => {
        const format1Options = { ...options, digests: format1.digests };
        if (!verifyAuditChain(format1Records, format1Options).ok) {
          throw new Error('the benchmark chain does not verify with format-1 digests');
        }
      }),
    );
    legacy = Math.max(
      legacy,
      cpuRate(VERIFY_ENTRIES, () => {
        if (!verifyAuditChain(legacyRecords, options).ok) {
          throw new Error('the benchmark chain does not verify in the old form');
        }
      }),
    );
  }
  if (mismatches > 0) throw new Error('a baseline digest differs from the stored hash');
  const raw = Math.max(streaming, oneCall);
  const checks = verifyAuditChain(records, options).digestSignaturesChecked;
  const format1Checks = verifyAuditChain(format1Records, {
    ...options,
    digests: format1.digests,
  }).digestSignaturesChecked;

  console.log(
    `verification, ${VERIFY_ENTRIES} entries, ${digests.length} Ed25519 digests, best of ${VERIFY_ROUNDS} rounds (CPU time)`,
  );
  console.log(
    `  digest signatures checked per verification: ${checks} (format-2 digests), ${format1Checks} (format 1)`,
  );
  line('raw SHA-256 of the stored bytes, one call (baseline)', oneCall, raw, 'entries/s');
  line('raw SHA-256, a Hash object per entry (former)', streaming, raw, 'entries/s');
  line('raw SHA-256, one call, views kept (breakdown)', keptViews, raw, 'entries/s');
  line('verifier, stored bytes (hash, frame, link, digests)', verify, raw, 'entries/s');
  line('verifier, stored bytes, without digests (breakdown)', undigested, raw, 'entries/s');
  line('verifier, stored bytes, format-1 digests (breakdown)', format1Digests, raw, 'entries/s');
  console.log(
    `  ${'per entry: verifier / without digests / digests alone'.padEnd(52)} ` +
      `${(1e6 / verify).toFixed(3)} / ${(1e6 / undigested).toFixed(3)} / ${(1e6 / digestsAlone).toFixed(3)} µs ` +
      `(raw ${(1e6 / raw).toFixed(3)} µs)`,
  );
  line('verifier, entries from before format 2', legacy, raw, 'entries/s');
  console.log(
    `  goal: stored-bytes verifier ≥ 0.7 × baseline: ${verify / raw >= 0.7 ? 'met' : 'NOT met'} ` +
      `(${(verify / raw).toFixed(3)}; ${(verify / streaming).toFixed(3)} against the former baseline)`,
  );
}

async function writeBench(): Promise<void> {
  const dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  try {
    const sink = new DynamoDbAuditSink(client, TABLE);
    const store = new DynamoDbAuditChainStore(client, TABLE);
    const eventsOf = (tenant: string) => Array.from({ length: WRITES }, (_, n) => auditEvent(tenant, n + 1));

    // Warm-up: the table, the SDK's connections, the JIT.
    await throughput(200, CONCURRENCY, (i) => sink.record(auditEvent('warm-up', i)));

    const rawEvents = eventsOf('raw');
    const raw = await throughput(WRITES, CONCURRENCY, (i) =>
      client.send(new PutCommand({ TableName: TABLE, Item: auditEventItem(rawEvents[i]!, 365) })),
    );
    const durableEvents = eventsOf('durable');
    const durable = await throughput(WRITES, CONCURRENCY, (i) => sink.record(durableEvents[i]!));

    const recordAll = async (tenant: string): Promise<RecordedAuditEvent[]> => {
      const events = eventsOf(tenant);
      const expiries: number[] = [];
      await throughput(WRITES, CONCURRENCY, async (i) => {
        expiries[i] = await sink.recordWithExpiry(events[i]!);
      });
      return events.map((event, n) => ({ event, expiresAt: expiries[n] ?? 0 }));
    };
    const one = await recordAll('chain-1');
    const single = await throughput(WRITES, 1, (i) =>
      new AuditSequencer(store, undefined).chain('chain-1', [one[i]!]),
    );
    const many = await recordAll('chain-16');
    const contended = await throughput(WRITES, CONCURRENCY, (i) =>
      new AuditSequencer(store, undefined, { maxAttempts: 1_000 }).chain('chain-16', [many[i]!]),
    );
    const batched = await recordAll('chain-batch');
    const batchSequencer = new AuditSequencer(store, undefined);
    const batches = Math.ceil(WRITES / 100);
    const batchRate =
      (await throughput(batches, 1, (i) =>
        batchSequencer.chain('chain-batch', batched.slice(i * 100, i * 100 + 100)),
      )) * 100;

    // The first digest of that chain: catch-up (every event of the range and its marker read),
    // the chain check over every entry, one signature.
    const digestSigner = ed25519Signer();
    const digestStarted = performance.now();
    const firstDigest = await new AuditDigestService(
      store,
      batchSequencer,
      digestSigner,
      { now: () => new Date(Date.now() + 3_600_000) },
      undefined,
    ).run('chain-batch');
    const digestRate = WRITES / ((performance.now() - digestStarted) / 1000);
    if (firstDigest.digest?.toSeq !== WRITES) throw new Error('the first digest does not cover the chain');

    console.log(`writes on dynalite, ${WRITES} events of one tenant each`);
    line(`raw PutItem, ${CONCURRENCY} writers (baseline)`, raw, raw, 'items/s');
    line(`durable event write, ${CONCURRENCY} writers`, durable, raw, 'events/s');
    line('chain append per event, 1 sequencer', single, raw, 'events/s');
    line(`chain append per event, ${CONCURRENCY} sequencers`, contended, raw, 'events/s');
    line('chain append in batches of 100, 1 sequencer', batchRate, raw, 'events/s');
    line('first digest of that chain (catch-up, check, sign)', digestRate, raw, 'entries/s');

    // Export: the chain of 1,000 entries as NDJSON, with a digest.
    const signer = ed25519Signer();
    const unused = (): never => {
      throw new Error('unused');
    };
    const clock = { now: () => new Date() };
    const log = new AuditLog({
      chain: store,
      signer,
      clock,
      events: { query: unused },
      settings: { get: unused, put: unused },
      hasher: { hmac: unused } as never,
      digests: new AuditDigestService(store, new AuditSequencer(store, undefined), signer, clock, undefined),
      sink,
    });
    await log.exportChain('chain-1', { format: 'ndjson' });
    const started = performance.now();
    const rounds = 5;
    let bytes = 0;
    for (let i = 0; i < rounds; i += 1)
      bytes += (await log.exportChain('chain-1', { format: 'ndjson' })).body.length;
    const seconds = (performance.now() - started) / 1000;
    const exportRate = (rounds * WRITES) / seconds;
    console.log(`export of a ${WRITES}-entry chain from dynalite, ${rounds} rounds`);
    line('NDJSON export', exportRate, raw, 'entries/s');
    console.log(
      `  ${'NDJSON export volume'.padEnd(52)} ${(bytes / seconds / 1e6).toFixed(1).padStart(8)} MB/s`,
    );
  } finally {
    client.destroy();
    await dynamo.close().catch((error: unknown) => {
      if (error !== null) throw error;
    });
  }
}

export async function runAuditBench(): Promise<void> {
  await verificationBench();
  await writeBench();
}
