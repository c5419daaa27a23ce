/**
 * The audit chain on dynalite with the real audit table spec: 50 concurrent sequencers (as 50
 * Lambda instances would be) build one gap-free, fork-free chain that verifies; conditional puts
 * keep digests and markers single; the tenant index finds tenants without a scan; queries page
 * newest first through the indexes and a forged cursor cannot leave the caller's tenant; the
 * stream handler chains what the stream delivers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditChainStore } from '../../lambdas/adapters/aws/dynamodb-audit-chain-store.js';
import {
  DynamoDbAuditEventQuery,
  encodeCursor,
} from '../../lambdas/adapters/aws/dynamodb-audit-event-query.js';
import { DynamoDbAuditSettings } from '../../lambdas/adapters/aws/dynamodb-audit-settings.js';
import { auditEventItem, DynamoDbAuditSink } from '../../lambdas/adapters/aws/dynamodb-audit-sink.js';
import { type ChainEntry, eventSortKey, expandChainEntry } from '../../lambdas/core/audit/audit-chain.js';
import { AuditDigestService } from '../../lambdas/core/audit/audit-digests.js';
import { AuditSequencer } from '../../lambdas/core/audit/audit-sequencer.js';
import type { RecordedAuditEvent } from '../../lambdas/core/audit/audit-store.js';
import { verifyAuditChain } from '../../lambdas/core/audit/chain-verifier.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import { auditEvent, ed25519Signer } from '../support/audit-chain.js';
import { testContext } from '../support/events.js';

const TABLE = localTableName('audit');
let dynamo: LocalDynamo;
let client: DynamoDBDocumentClient;
let store: DynamoDbAuditChainStore;
let sink: DynamoDbAuditSink;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  store = new DynamoDbAuditChainStore(client, TABLE);
  sink = new DynamoDbAuditSink(client, TABLE);
});

afterAll(async () => {
  client.destroy();
  await dynamo.close().catch((error: unknown) => {
    if (error !== null) throw error;
  });
});

/** The entries as stored (format 2), for the verifier. */
async function storedEntries(tenant: string): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  for await (const entry of store.entries(tenant)) all.push(entry);
  return all;
}

/** The entries with their fields read from the stored bytes. */
async function entries(tenant: string): Promise<ChainEntry[]> {
  const all: ChainEntry[] = [];
  for await (const entry of store.entries(tenant)) all.push(expandChainEntry(entry) as unknown as ChainEntry);
  return all;
}

describe('audit chain on dynalite', () => {
  it('builds one gap-free, fork-free chain from 50 concurrent sequencers', async () => {
    // Prepare: 50 requests record their events, then 50 sequencers chain them at once; each gets
    // its own event plus its neighbour's (a retried or overlapping batch).
    const tenant = 'concurrent';
    const events = Array.from({ length: 50 }, (_, n) => auditEvent(tenant, n + 1));
    const expiries = await Promise.all(events.map((event) => sink.recordWithExpiry(event)));
    const recorded = events.map((event, n) => ({ event, expiresAt: expiries[n] ?? 0 }));

    // Act
    await Promise.all(
      recorded.map((one, n) =>
        new AuditSequencer(store, undefined).chain(tenant, [one, recorded[(n + 1) % 50] ?? one]),
      ),
    );

    // Assess
    const chain = await entries(tenant);
    expect(chain.map((entry) => entry.seq)).toEqual(Array.from({ length: 50 }, (_, n) => n + 1));
    expect(new Set(chain.map((entry) => entry.event.eventId)).size).toBe(50);
    expect(verifyAuditChain(chain, { tenant, digests: [], publicKey: undefined, now: 0 })).toMatchObject({
      ok: true,
      checked: 50,
    });
    const markers = await store.chainedSeqs(tenant, events.map(eventSortKey));
    expect([...markers.values()].sort((a, b) => a - b)).toEqual(chain.map((entry) => entry.seq));
  });

  it('keeps concurrent appends of 50 sequencers with one event each gap-free', async () => {
    const tenant = 'single-events';
    const events = Array.from({ length: 50 }, (_, n) => auditEvent(tenant, n + 1));
    await Promise.all(
      events.map(async (event) => {
        const expiresAt = await sink.recordWithExpiry(event);
        await new AuditSequencer(store, undefined).chain(tenant, [{ event, expiresAt }]);
      }),
    );
    const chain = await entries(tenant);
    expect(chain.map((entry) => entry.seq)).toEqual(Array.from({ length: 50 }, (_, n) => n + 1));
    expect(verifyAuditChain(chain, { tenant, digests: [], publicKey: undefined, now: 0 }).ok).toBe(true);
  });

  it('signs, stores and finds digests; a second digest for the same range loses', async () => {
    // Prepare
    const tenant = 'digests';
    const signer = ed25519Signer();
    const sequencer = new AuditSequencer(store, undefined);
    const digests = new AuditDigestService(store, sequencer, signer, { now: () => new Date() }, undefined);
    const recorded = [];
    for (let n = 1; n <= 5; n += 1) {
      const event = auditEvent(tenant, n);
      recorded.push({ event, expiresAt: await sink.recordWithExpiry(event) });
    }
    await sequencer.chain(tenant, recorded.slice(0, 3));

    // Act: the digest run catches up the two events no sequencer chained.
    const run = await digests.run(tenant);
    const again = await store.putDigest({ ...(run.digest ?? ({} as never)), toSeq: 4 });

    // Assess
    expect(run).toMatchObject({ caughtUp: 2, digest: { fromSeq: 1, toSeq: 5 } });
    expect(again).toBe(false);
    expect(await store.latestDigest(tenant)).toEqual(run.digest);
    const stored: unknown[] = [];
    for await (const digest of store.digests(tenant)) stored.push(digest);
    const result = verifyAuditChain(await storedEntries(tenant), {
      tenant,
      digests: stored,
      publicKey: signer.publicKey,
      now: Math.floor(Date.now() / 1000),
    });
    expect(result).toMatchObject({ ok: true, checked: 5, digestsVerified: 1 });
  });

  it('catches up in sort-key order: only events without a marker are looked up by key', async () => {
    // Prepare: 1,200 events (three pages of events), four to a timestamp so that their UUIDs
    // decide the order, all but five chained, the five spread over the pages.
    const tenant = 'catch-up';
    const events: RecordedAuditEvent[] = [];
    for (let n = 0; n < 1_200; n += 1) {
      const event = auditEvent(tenant, n + 1, {
        time: new Date(Date.UTC(2025, 2, 1) + Math.floor(n / 4) * 1000).toISOString(),
      });
      events.push({ event, expiresAt: await sink.recordWithExpiry(event) });
    }
    const lost = new Set([3, 499, 500, 777, 1_199]);
    const sequencer = new AuditSequencer(store, undefined);
    const chained = events.filter((_, n) => !lost.has(n));
    for (let from = 0; from < chained.length; from += 100) {
      await sequencer.chain(tenant, chained.slice(from, from + 100));
    }
    const counting = new DynamoDbAuditChainStore(client, TABLE);
    const lookedUp: string[] = [];
    const chainedSeqs = counting.chainedSeqs.bind(counting);
    counting.chainedSeqs = async (of, keys) => {
      lookedUp.push(...keys);
      return chainedSeqs(of, keys);
    };
    const signer = ed25519Signer();
    const digests = new AuditDigestService(
      counting,
      new AuditSequencer(counting, undefined),
      signer,
      { now: () => new Date() },
      undefined,
    );

    // Act
    const run = await digests.run(tenant);

    // Assess
    const lostKeys = [...lost].map((n) => eventSortKey(events[n]!.event));
    expect(run).toMatchObject({ caughtUp: 5, digest: { fromSeq: 1, toSeq: 1_200 } });
    expect(lookedUp.filter((key) => !lostKeys.includes(key))).toEqual([]);
    expect(new Set(lookedUp)).toEqual(new Set(lostKeys));
    const result = verifyAuditChain(await storedEntries(tenant), {
      tenant,
      digests: [run.digest],
      publicKey: signer.publicKey,
      now: Math.floor(Date.now() / 1000),
    });
    expect(result).toMatchObject({ ok: true, checked: 1_200, digestsVerified: 1 });
  });

  it('lists every tenant with events through the sparse tenant index', async () => {
    const tenants: string[] = [];
    for await (const tenant of store.tenants()) tenants.push(tenant);
    expect(tenants).toEqual(expect.arrayContaining(['concurrent', 'single-events', 'digests']));
    expect(new Set(tenants).size).toBe(tenants.length);
  });

  it('queries newest first through the indexes, pages with a cursor, and never crosses tenants', async () => {
    // Prepare
    const query = new DynamoDbAuditEventQuery(client, TABLE);
    for (let n = 1; n <= 7; n += 1) {
      await sink.record(auditEvent('query-a', n, { actor: { kind: 'user', id: 'alice' } }));
      await sink.record(auditEvent('query-b', n, { actor: { kind: 'user', id: 'alice' } }));
    }

    // Act
    const first = await query.query('query-a', { actor: 'alice' }, { limit: 4 });
    const second = await query.query('query-a', { actor: 'alice' }, { limit: 4, cursor: first.cursor });
    const windowed = await query.query(
      'query-a',
      { from: '2025-03-01T00:00:03.000Z', to: '2025-03-01T00:00:05.000Z' },
      { limit: 100 },
    );
    const combined = await query.query('query-a', { actor: 'alice', action: 'secret.write' }, { limit: 100 });
    // A cursor naming tenant B's last key, used by tenant A: it only positions within A.
    const [lastOfB] = (await query.query('query-b', {}, { limit: 1 })).events;
    const forged = await query.query(
      'query-a',
      {},
      { limit: 100, cursor: encodeCursor(eventSortKey(lastOfB ?? auditEvent('query-b', 99))) },
    );

    // Assess
    expect(first.events.map((event) => event.requestId)).toEqual(['req-7', 'req-6', 'req-5', 'req-4']);
    expect(second.events.map((event) => event.requestId)).toEqual(['req-3', 'req-2', 'req-1']);
    expect(second.cursor).toBeUndefined();
    expect(windowed.events.map((event) => event.requestId)).toEqual(['req-5', 'req-4', 'req-3']);
    expect(combined.events.every((event) => event.action === 'secret.write')).toBe(true);
    expect(combined.events.length).toBeGreaterThan(0);
    expect(forged.events.every((event) => event.tenant === 'query-a')).toBe(true);
    await expect(query.query('query-a', {}, { limit: 1, cursor: 'x' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('keeps per-tenant retention and the HMAC key in the settings table', async () => {
    const settings = new DynamoDbAuditSettings(client, localTableName('settings'), {
      defaultRetentionDays: 365,
    });
    expect(await settings.get('ret')).toEqual({ retentionDays: 365 });
    await settings.put('ret', { retentionDays: 7 });
    expect(await settings.get('ret')).toEqual({ retentionDays: 7 });
    const retained = new DynamoDbAuditSink(client, TABLE, { settings });
    const event = auditEvent('ret', 1);
    expect(await retained.recordWithExpiry(event)).toBe(auditEventItem(event, 7).expiresAt);
    const key = { wrapped: Buffer.from('wrapped'), keyId: 'kek-1' };
    expect(await settings.putKeyIfAbsent('ret', key)).toBe(true);
    expect(await settings.putKeyIfAbsent('ret', { ...key, keyId: 'kek-2' })).toBe(false);
    expect(await settings.getKey('ret')).toEqual(key);
  });

  it('chains what the stream delivers, per tenant, and reports a failing tenant for retry', async () => {
    // Prepare: the stream handler builds its sequencer from the container, as in AWS.
    const events = [
      auditEvent('stream-a', 1),
      auditEvent('stream-b', 1),
      auditEvent('stream-bad', 1),
      auditEvent('stream-a', 2),
    ];
    for (const event of events) await sink.record(event);
    // A chain whose head was destroyed cannot be continued: its records must be retried.
    await client.send(
      new PutCommand({ TableName: TABLE, Item: { pk: 'stream-bad#chain', sk: '000000000001', seq: 'x' } }),
    );
    Object.assign(process.env, {
      VAULTPILOT_RUNTIME: 'local',
      VAULTPILOT_DYNAMODB_ENDPOINT: dynamo.endpoint,
      VAULTPILOT_TABLE_AUDIT: TABLE,
      VAULTPILOT_AUDIT_SIGNER: 'local',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const { resetFunctions } = await import('../../lambdas/platform/cold-start.js');
    resetFunctions();
    const { handler } = await import('../../lambdas/functions/audit-sequencer/handler.js');
    const record = (item: Record<string, unknown>, sequence: string) => ({
      eventName: 'INSERT' as const,
      dynamodb: {
        SequenceNumber: sequence,
        NewImage: marshall(item, { removeUndefinedValues: true }) as never,
      },
    });
    const stream = {
      Records: [
        ...events.map((event, n) => record(auditEventItem(event, 365), String(100 + n))),
        // A chain entry (not an event) and garbage are ignored.
        record({ pk: 'stream-a#chain', sk: '000000000001', seq: 1 }, '200'),
        record({ pk: 'stream-c#events', sk: 'x', bogus: true }, '201'),
      ],
    } as DynamoDBStreamEvent;

    // Act
    const result = await handler(stream, testContext());
    const again = await handler(stream, testContext());

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '102' }] });
    expect(again).toEqual({ batchItemFailures: [{ itemIdentifier: '102' }] });
    expect((await entries('stream-a')).map((entry) => entry.event.requestId)).toEqual(['req-1', 'req-2']);
    expect((await entries('stream-b')).map((entry) => entry.event.eventId)).toEqual([events[1]?.eventId]);
    resetFunctions();
  });
});
