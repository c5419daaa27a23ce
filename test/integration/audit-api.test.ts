/**
 * The audit API through the local runtime, as auditors use it: every call recorded and chained,
 * queries served by indexes with filters and cursors, verification that finds tampering done
 * directly in the local DynamoDB, signed digests, NDJSON and CSV exports verified offline by the
 * CLI, HMAC lookups, per-tenant retention, fan-out on the bus, and tenant isolation.
 */
import { auditAppendsSettled } from '../../lambdas/platform/index.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ApiAnswer,
  apiCall,
  localDocumentClient,
  signInLocal,
  startInMemoryRuntime,
} from '../support/local-api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localEventBus } from '../../lambdas/adapters/local/in-process-event-bus.js';
import { formatSeq, hashOfStoredBytes } from '../../lambdas/core/audit/audit-chain.js';
import { DIGEST_FORMAT, digestHash } from '../../lambdas/core/audit/audit-digest.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import { expandChainEntry } from '../../lambdas/core/audit/audit-chain.js';
import type { DomainEvent } from '../../lambdas/core/events.js';
import { EXIT_FAILURE, EXIT_OK, runCli } from '../../lambdas/local/cli.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { localTableName } from '../../lambdas/shared/tables.js';

const PASSWORD = 'integration-password-123';
const TABLE = localTableName('audit');
const DAY = 86_400;
let runtime: LocalRuntime;
let db: DynamoDBDocumentClient;
let dir: string;
const tokens: Record<string, string> = {};
const subjects: Record<string, string> = {};
const chained: DomainEvent[] = [];
const integrityFailures: DomainEvent[] = [];

type Answer = ApiAnswer;

function call(who: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return apiCall(runtime.url, tokens[who], method, path, body);
}

/** The events of a `GET /audit` answer. */
function eventsOf(answer: Answer): AuditEvent[] {
  return answer.json.events as AuditEvent[];
}

async function signIn(username: string): Promise<void> {
  tokens[username] = await signInLocal(runtime.url, username, PASSWORD);
  subjects[username] = (await call(username, 'GET', '/me')).json.subject;
}

async function chainItem(tenant: string, seq: number): Promise<Record<string, any>> {
  // Requests answer once their event is durable; the chain append follows off the request path.
  await auditAppendsSettled();
  const { Item } = await db.send(
    new GetCommand({
      TableName: TABLE,
      Key: { pk: `${tenant}#chain`, sk: formatSeq(seq) },
      ConsistentRead: true,
    }),
  );
  if (Item === undefined) throw new Error(`no entry ${seq}`);
  return Item;
}

async function headSeq(tenant: string): Promise<number> {
  await auditAppendsSettled();
  const { Items } = await db.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `${tenant}#chain` },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  return Number(Items?.[0]?.seq ?? 0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vaultpilot-audit-'));
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD, logLevel: 'ERROR' });
  db = localDocumentClient(runtime);
  const users: [string, string, string[]][] = [
    ['aud', 'default', ['auditor']],
    ['vic', 'default', ['viewer']],
    ['bob', 'other', ['auditor']],
    ['tam', 'tamper', ['admin']],
    ['tail', 'tail', ['admin']],
    ['dig', 'digests', ['admin']],
  ];
  for (const [username, tenant, groups] of users) {
    await runtime.identity.addUser({ username, password: PASSWORD, tenant, groups });
  }
  for (const name of ['admin', ...users.map(([username]) => username)]) await signIn(name);
  localEventBus.subscribe('audit.event.chained', (event) => {
    chained.push(event);
  });
  localEventBus.subscribe('audit.integrity.failed', (event) => {
    integrityFailures.push(event);
  });
});

afterAll(async () => {
  db.destroy();
  await runtime.stop();
});

describe('audit API', () => {
  it('records every call as an event, chained right away, and answers newest first', async () => {
    // Prepare
    await call('admin', 'POST', '/secrets/data/app/one', { data: { v: '1' } });
    await call('admin', 'POST', '/secrets/data/app/two', { data: { v: '2' } });
    await call('vic', 'GET', '/secrets/data/app/one');

    // Act
    const listed = await call('aud', 'GET', '/audit?limit=10');
    const verified = await call('aud', 'GET', '/audit/verify');

    // Assess
    expect(listed.status).toBe(200);
    const events = eventsOf(listed);
    // Each write is an `attempted` event then its outcome (ADR 0004); both may share a millisecond,
    // so the pair is compared as a set.
    const outcomes = events.filter((event) => event.outcome !== 'attempted');
    expect(outcomes.slice(0, 3).map((event) => [event.action, event.outcome, event.target.path])).toEqual([
      ['secret.read', 'denied', 'app/one'],
      ['secret.write', 'allowed', 'app/two'],
      ['secret.write', 'allowed', 'app/one'],
    ]);
    for (const written of outcomes.slice(1, 3)) {
      expect(
        events
          .filter((event) => event.requestId === written.requestId)
          .map((event) => event.outcome)
          .sort(),
      ).toEqual(['allowed', 'attempted']);
    }
    const times = events.map((event) => event.time);
    expect([...times].sort().reverse()).toEqual(times);
    expect(events[0]).not.toHaveProperty('data');
    // Everything up to the verification itself, whose own event is chained right after it.
    const verifiedHead = (await headSeq('default')) - 1;
    expect(verified.json).toEqual({
      ok: true,
      checked: verifiedHead,
      firstSeq: 1,
      lastSeq: verifiedHead,
      digestsVerified: 0,
      firstBad: null,
    });
    expect(verified.json.checked).toBeGreaterThanOrEqual(4);
  });

  it('records requests refused before any use case ran (invalid body, bad query), and the chain still verifies', async () => {
    // Act: a body the route's schema refuses, and an invalid query.
    const badBody = await call('admin', 'POST', '/secrets/data/app/refused', {
      data: { v: '1' },
      extra: true,
    });
    const badQuery = await call('aud', 'GET', '/audit?limit=0');

    // Assess
    expect(badBody.status).toBe(400);
    expect(badQuery.status).toBe(400);
    const refused = eventsOf(await call('aud', 'GET', '/audit?action=api.refused&limit=10'));
    expect(refused.map((event) => [event.outcome, event.reason])).toEqual([
      ['failed', 'listAuditEvents: ValidationError'],
      ['failed', 'writeSecret: ValidationError'],
    ]);
    expect(JSON.stringify(refused)).not.toContain('"v"');
    expect((await call('aud', 'GET', '/audit/verify')).json.ok).toBe(true);
  });

  it('chains 50 concurrent requests gap-free, each event exactly once, and verifies', async () => {
    // Act
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call('admin', 'POST', `/secrets/data/burst/s${i}`, { data: { v: String(i) } }),
      ),
    );
    const verified = await call('aud', 'GET', '/audit/verify');
    await auditAppendsSettled();

    // Assess
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const { Items = [] } = await db.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'default#chain' },
        ConsistentRead: true,
      }),
    );
    const seqs = Items.map((item) => Number(item.seq));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const stored = Items.map((item) => expandChainEntry(item));
    const ids = stored.map((item) => String((item.event as { eventId: string }).eventId));
    expect(new Set(ids).size).toBe(ids.length);
    const burst = stored.filter((item) =>
      String((item.event as AuditEvent).target.path).startsWith('burst/'),
    );
    // Each write is chained twice: its `attempted` event and its outcome.
    expect(burst).toHaveLength(100);
    expect(burst.filter((item) => (item.event as AuditEvent).outcome === 'attempted')).toHaveLength(50);
    expect(verified.json).toMatchObject({ ok: true, firstBad: null });
  });

  it('filters by actor, action, target, outcome and time, and pages with an opaque cursor', async () => {
    // Prepare
    const start = new Date().toISOString();
    for (let i = 0; i < 5; i += 1)
      await call('admin', 'POST', '/secrets/data/page/item', { data: { i: String(i) } });
    await call('vic', 'GET', '/secrets/data/page/item');
    const end = new Date().toISOString();

    // Act
    const byTarget = await call('aud', 'GET', '/audit?target=page/item&limit=100');
    const byActor = await call('aud', 'GET', `/audit?actor=${subjects.vic}&outcome=denied`);
    const byAction = await call('aud', 'GET', `/audit?action=secret.write&from=${start}&to=${end}`);
    const pages: AuditEvent[] = [];
    let cursor: string | null = null;
    do {
      const page: Answer = await call(
        'aud',
        'GET',
        `/audit?target=page/item&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(page.status).toBe(200);
      pages.push(...eventsOf(page));
      cursor = page.json.nextCursor;
    } while (cursor !== null);

    // Assess
    // Five writes (attempted + allowed each) and one denied read.
    expect(byTarget.json.events).toHaveLength(11);
    expect(eventsOf(byActor).map((event) => event.action)).toEqual(['secret.read', 'secret.read']);
    expect(eventsOf(byActor).every((event) => event.actor.id === subjects.vic)).toBe(true);
    // A user's events name the username too, for people reading them; the subject stays the id.
    expect(eventsOf(byActor).every((event) => event.actor.name === 'vic')).toBe(true);
    expect(byAction.json.events).toHaveLength(10);
    expect(eventsOf(byAction).every((event) => event.time >= start && event.time <= end)).toBe(true);
    expect(pages.map((event) => event.eventId)).toEqual(eventsOf(byTarget).map((event) => event.eventId));
  });

  it.each([
    ['limit=0'],
    ['limit=1001'],
    ['limit=ten'],
    ['outcome=maybe'],
    ['action=secret.peek'],
    ['from=yesterday'],
    ['from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z'],
    ['cursor=not-a-cursor'],
    ['unknown=1'],
    ['tenant=Bad_Tenant'],
  ])('answers 400 to invalid query parameters (%s)', async (query) => {
    const answer = await call('aud', 'GET', `/audit?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('ValidationError');
  });

  it('keeps tenants apart: another tenant sees nothing, and naming a foreign tenant is 404', async () => {
    // Act
    const own = await call('bob', 'GET', '/audit?limit=1000');
    const foreign = await Promise.all([
      call('bob', 'GET', '/audit?tenant=default'),
      call('bob', 'GET', '/audit/verify?tenant=default'),
      call('bob', 'GET', '/audit/export?tenant=default'),
      call('bob', 'GET', '/audit/digests?tenant=default'),
    ]);
    const byTarget = await call('bob', 'GET', '/audit?target=app/one');
    const ownTenant = await call('aud', 'GET', '/audit/verify?tenant=default');

    // Assess
    expect(own.status).toBe(200);
    expect(eventsOf(own).every((event) => event.tenant === 'other')).toBe(true);
    expect(foreign.map((answer) => answer.status)).toEqual([404, 404, 404, 404]);
    expect(byTarget.json.events).toEqual([]);
    expect(ownTenant.status).toBe(200);
  });

  it('lets only auditors and admins read the audit log, and only admins change its settings', async () => {
    expect((await call('vic', 'GET', '/audit')).status).toBe(403);
    expect((await call('vic', 'GET', '/audit/verify')).status).toBe(403);
    expect((await call('vic', 'GET', '/audit/export')).status).toBe(403);
    expect((await call('aud', 'PUT', '/audit/settings', { retentionDays: 30 })).status).toBe(403);
    // The public key is for everyone who verifies exports.
    const key = await call('vic', 'GET', '/audit/public-key');
    expect(key.status).toBe(200);
    expect(key.headers.get('content-type')).toContain('application/x-pem-file');
    expect(key.text).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    // The refusals are audited too.
    const denied = await call('aud', 'GET', `/audit?actor=${subjects.vic}&action=audit.query`);
    expect(denied.json.events[0]).toMatchObject({ outcome: 'denied', reason: 'Forbidden' });
  });

  it('answers the tenant HMAC of a value and records only the HMAC', async () => {
    // Act
    const first = await call('aud', 'POST', '/audit/hash', { value: 'AKIAIOSFODNN7EXAMPLE' });
    const again = await call('aud', 'POST', '/audit/hash', { value: 'AKIAIOSFODNN7EXAMPLE' });
    const otherTenant = await call('bob', 'POST', '/audit/hash', { value: 'AKIAIOSFODNN7EXAMPLE' });
    const recorded = await call('aud', 'GET', `/audit?target=${encodeURIComponent(first.json.hmac)}`);
    const exported = await call('aud', 'GET', '/audit/export?format=ndjson');

    // Assess
    expect(first.json.hmac).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(again.json.hmac).toBe(first.json.hmac);
    expect(otherTenant.json.hmac).not.toBe(first.json.hmac);
    expect(recorded.json.events[0]).toMatchObject({
      action: 'audit.hash',
      target: { hashed: { value: first.json.hmac } },
    });
    expect(exported.text).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect((await call('aud', 'POST', '/audit/hash', { value: '' })).status).toBe(400);
  });

  it('signs digests on demand that chain, and verifies with them', async () => {
    // Prepare: the tenant's digests so far (an NDJSON export above sealed its head with one).
    const before = (await call('aud', 'GET', '/audit/digests')).json.digests as { toSeq: number }[];

    // Act
    const first = await call('aud', 'POST', '/audit/digests');
    await call('admin', 'POST', '/secrets/data/app/three', { data: { v: '3' } });
    const second = await call('aud', 'POST', '/audit/digests');
    const listed = await call('aud', 'GET', '/audit/digests');
    const verified = await call('aud', 'GET', '/audit/verify');

    // Assess
    expect(before[0]).toMatchObject({ fromSeq: 1, prevSignature: '' });
    expect(first.json).toMatchObject({ complete: true });
    expect(first.json.digest).toMatchObject({
      fromSeq: (before.at(-1)?.toSeq ?? 0) + 1,
      algorithm: 'ED25519',
    });
    expect(second.json.digest).toMatchObject({
      format: DIGEST_FORMAT,
      fromSeq: first.json.digest.toSeq + 1,
      prevSignature: first.json.digest.signature,
      prevDigestHash: digestHash(first.json.digest),
    });
    // The list carries the field too (the API's schema keeps it).
    expect((listed.json.digests as { prevDigestHash?: string }[]).at(-1)?.prevDigestHash).toBe(
      second.json.digest.prevDigestHash,
    );
    // The digest covers the event of its own signing.
    const own = await call('aud', 'GET', '/audit?action=audit.digest&limit=1');
    const lastSigned = await chainItem('default', second.json.digest.toSeq);
    expect(expandChainEntry(lastSigned).event).toMatchObject({ eventId: eventsOf(own)[0]?.eventId });
    expect((listed.json.digests as { toSeq: number }[]).map((digest) => digest.toSeq)).toEqual([
      ...before.map((digest) => digest.toSeq),
      first.json.digest.toSeq,
      second.json.digest.toSeq,
    ]);
    // Every digest listed is verified, and the chain is intact up to the entry before the
    // verification's own event.
    expect(verified.json).toMatchObject({
      ok: true,
      firstSeq: 1,
      digestsVerified: before.length + 2,
      firstBad: null,
    });
    expect(verified.json.lastSeq).toBeGreaterThanOrEqual(second.json.digest.toSeq);
  });

  it('exports NDJSON that the CLI verifies offline, and finds a tampered line', async () => {
    // Prepare
    await call('aud', 'POST', '/audit/digests');
    const exported = await call('aud', 'GET', '/audit/export?format=ndjson');
    const key = await call('aud', 'GET', '/audit/public-key');
    const file = join(dir, 'export.ndjson');
    const keyFile = join(dir, 'key.pem');
    await writeFile(file, exported.text);
    await writeFile(keyFile, key.text);
    const out: string[] = [];
    const io = {
      stdin: (async function* () {})(),
      stdout: { write: (chunk: string) => out.push(chunk) },
      stderr: { write: (chunk: string) => out.push(chunk) },
      env: {},
      cwd: dir,
    };

    // Act
    const intact = await runCli(['audit', 'verify', '--file', file, '--public-key', keyFile], io);
    const lines = exported.text.trimEnd().split('\n');
    const entryIndex = lines.findIndex((line) => JSON.parse(line).seq === 3);
    const entry = JSON.parse(lines[entryIndex] ?? '{}');
    // The stored bytes of entry 3 name another actor.
    expect(entry.body).toMatch(/"actor":\{[^}]*"id":"[^"]+"/);
    entry.body = String(entry.body).replace(/("actor":\{[^}]*"id":")[^"]+"/, '$1mallory"');
    lines[entryIndex] = JSON.stringify(entry);
    await writeFile(join(dir, 'tampered.ndjson'), `${lines.join('\n')}\n`);
    const tamperedOut = out.length;
    const tampered = await runCli(['audit', 'verify', '--file', 'tampered.ndjson', '--json'], io);
    // The export sealed its head with a digest, so even its last entry cannot be cut off unseen.
    const original = exported.text.trimEnd().split('\n');
    const lastEntry = original.map((line) => String(JSON.parse(line).type)).lastIndexOf('entry');
    const lastSeq = JSON.parse(original[lastEntry] ?? '{}').seq as number;
    await writeFile(
      join(dir, 'cut.ndjson'),
      `${original.filter((_line, i) => i !== lastEntry).join('\n')}\n`,
    );
    const cutOut = out.length;
    const cut = await runCli(['audit', 'verify', '--file', 'cut.ndjson', '--json'], io);

    // Assess
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    expect(intact).toBe(EXIT_OK);
    expect(out.slice(0, tamperedOut).join('')).toMatch(/^INTACT: \d+ entries/);
    expect(tampered).toBe(EXIT_FAILURE);
    expect(JSON.parse(out.slice(tamperedOut, cutOut).join(''))).toEqual({
      ok: false,
      checked: 2,
      firstSeq: 1,
      lastSeq: 2,
      // Every digest of the export is checked on its own, wherever the entries break.
      digestsVerified: lines.filter((line) => JSON.parse(line).type === 'digest').length,
      firstBad: { seq: 3, reason: 'modified' },
    });
    expect(cut).toBe(EXIT_FAILURE);
    expect(JSON.parse(out.slice(cutOut).join('')).firstBad).toEqual({ seq: lastSeq, reason: 'truncated' });
  });

  it('exports CSV, one row per chain entry', async () => {
    const exported = await call('aud', 'GET', '/audit/export?format=csv');
    const rows = exported.text.trimEnd().split('\r\n');
    expect(exported.headers.get('content-type')).toContain('text/csv');
    expect(rows[0]).toMatch(/^seq,time,eventId,actorKind,actorId,actorName,sourceIp,/);
    expect(rows[1]).toMatch(/^1,/);
    expect(rows.some((row) => row.includes(`,user,${subjects.admin},admin,`))).toBe(true);
    expect(rows.length - 1).toBeGreaterThanOrEqual((await headSeq('default')) - 1);
  });

  it('applies the tenant retention to the expiry of every new item', async () => {
    // Act
    const updated = await call('admin', 'PUT', '/audit/settings', { retentionDays: 30 });
    await call('admin', 'POST', '/secrets/data/app/retained', { data: { v: 'r' } });
    const read = await call('aud', 'GET', '/audit/settings');

    // Assess
    expect(updated.json).toEqual({ retentionDays: 30 });
    expect(read.json).toEqual({ retentionDays: 30 });
    const head = await chainItem('default', await headSeq('default'));
    const written = await call('aud', 'GET', '/audit?target=app/retained');
    const [event] = eventsOf(written);
    if (event === undefined) throw new Error('no event');
    const { Item } = await db.send(
      new GetCommand({
        TableName: TABLE,
        Key: { pk: 'default#events', sk: `${event.time}#${event.eventId}` },
      }),
    );
    expect(Item?.expiresAt).toBe(Math.floor(Date.parse(event.time) / 1000) + 30 * DAY);
    // Chain entries never expire before their predecessors, so older ones keep the longer expiry.
    expect(head.expiresAt).toBeGreaterThanOrEqual(Math.floor(Date.parse(event.time) / 1000) + 30 * DAY);
    expect((await call('admin', 'PUT', '/audit/settings', { retentionDays: 0 })).status).toBe(400);
    await call('admin', 'PUT', '/audit/settings', { retentionDays: 365 });
  });

  it('publishes every chained event on the bus', async () => {
    await call('admin', 'POST', '/secrets/data/app/fanout', { data: { v: 'f' } });
    await auditAppendsSettled();
    await localEventBus.drain();
    const published = chained.find(
      (event) =>
        event.detail.action === 'secret.write' && (event.detail.target as any)?.path === 'app/fanout',
    );
    expect(published).toMatchObject({ type: 'audit.event.chained', tenant: 'default' });
    expect(published?.detail.seq).toEqual(expect.any(Number));
  });
});

describe('audit verification of a tampered table', () => {
  async function verify(): Promise<any> {
    return (await call('tam', 'GET', '/audit/verify')).json;
  }

  beforeAll(async () => {
    for (let i = 0; i < 12; i += 1)
      await call('tam', 'POST', '/secrets/data/t/x', { data: { i: String(i) } });
  });

  it('reports an edited field of a stored entry at its seq', async () => {
    // Prepare: the stored bytes of entry 5 say another outcome.
    const original = await chainItem('tamper', 5);
    const body = String(original.body);
    const edited = body.replace(/"outcome":"([a-z-]+)"/, (_match, outcome: string) =>
      outcome === 'denied' ? '"outcome":"allowed"' : '"outcome":"denied"',
    );
    expect(edited).not.toBe(body);
    await db.send(new PutCommand({ TableName: TABLE, Item: { ...original, body: edited } }));

    // Act
    const result = await verify();
    await db.send(new PutCommand({ TableName: TABLE, Item: original }));

    // Assess
    expect(result).toEqual({
      ok: false,
      checked: 4,
      firstSeq: 1,
      lastSeq: 4,
      digestsVerified: 0,
      firstBad: { seq: 5, reason: 'modified' },
    });
    expect((await verify()).ok).toBe(true);
  });

  it('reports a body whose frame and hash are right but whose event is not JSON at its seq', async () => {
    // Prepare: entry 6 re-hashed over an event that does not parse (its successor's link breaks,
    // at seq 7, so only reading the event finds seq 6).
    const original = await chainItem('tamper', 6);
    const body = String(original.body);
    const edited = body.replace('"outcome":', '"outcome" ');
    expect(edited).not.toBe(body);
    const hash = hashOfStoredBytes(String(original.prevHash), edited);
    await db.send(new PutCommand({ TableName: TABLE, Item: { ...original, body: edited, hash } }));

    // Act
    const result = await verify();
    await db.send(new PutCommand({ TableName: TABLE, Item: original }));

    // Assess
    expect(result).toMatchObject({
      ok: false,
      checked: 5,
      lastSeq: 5,
      firstBad: { seq: 6, reason: 'modified' },
    });
    expect((await verify()).ok).toBe(true);
  });

  it('reports a recorded event changed or deleted behind the chain at the seq of its entry', async () => {
    // Prepare: the event items are what GET /audit answers from.
    const { event } = expandChainEntry(await chainItem('tamper', 6)) as { event: AuditEvent };
    const key = { pk: 'tamper#events', sk: `${event.time}#${event.eventId}` };
    const { Item: original } = await db.send(new GetCommand({ TableName: TABLE, Key: key }));
    await db.send(new PutCommand({ TableName: TABLE, Item: { ...original, outcome: 'denied' } }));
    const changed = await verify();
    await db.send(
      new PutCommand({ TableName: TABLE, Item: { ...original, actorKey: 'tamper#someone-else' } }),
    );
    const reindexed = await verify();
    await db.send(new DeleteCommand({ TableName: TABLE, Key: key }));

    // Act
    const deleted = await verify();
    await db.send(new PutCommand({ TableName: TABLE, Item: original }));

    // Assess
    expect(changed).toMatchObject({
      ok: false,
      checked: 5,
      lastSeq: 5,
      firstBad: { seq: 6, reason: 'modified' },
    });
    expect(reindexed.firstBad).toEqual({ seq: 6, reason: 'modified' });
    expect(deleted.firstBad).toEqual({ seq: 6, reason: 'missing' });
    expect((await verify()).ok).toBe(true);
  });

  it('reports a deleted entry as missing, and swapped entries as reordered', async () => {
    // Prepare
    const seven = await chainItem('tamper', 7);
    const eight = await chainItem('tamper', 8);
    await db.send(new DeleteCommand({ TableName: TABLE, Key: { pk: seven.pk, sk: seven.sk } }));
    const missing = await verify();
    await db.send(new PutCommand({ TableName: TABLE, Item: { ...eight, sk: seven.sk } }));
    await db.send(new PutCommand({ TableName: TABLE, Item: { ...seven, sk: eight.sk } }));

    // Act
    const reordered = await verify();
    await db.send(new PutCommand({ TableName: TABLE, Item: seven }));
    await db.send(new PutCommand({ TableName: TABLE, Item: eight }));

    // Assess
    expect(missing.firstBad).toEqual({ seq: 7, reason: 'missing' });
    expect(reordered.firstBad).toEqual({ seq: 7, reason: 'reordered' });
    expect((await verify()).ok).toBe(true);
  });

  it('finds the newest entry gone, or replaced, before any digest covers it', async () => {
    // Prepare: a tenant of its own, since the chain stays damaged.
    for (let i = 0; i < 5; i += 1)
      await call('tail', 'POST', '/secrets/data/t/y', { data: { i: String(i) } });
    const head = await headSeq('tail');
    await db.send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'tail#chain', sk: formatSeq(head) } }));

    // Act
    const truncated = (await call('tail', 'GET', '/audit/verify')).json;
    // That verification's own event is chained after the head the sequencer appended (it knows
    // it, so it does not read it back): the lost entry is now a hole below the new head. A
    // sequencer that has to read the head (another process) would put the event in the hole's
    // place instead, which the verifier reports as `modified` at the same seq.
    const holed = (await call('tail', 'GET', '/audit/verify')).json;

    // Assess
    expect(truncated).toEqual({
      ok: false,
      checked: head - 1,
      firstSeq: 1,
      lastSeq: head - 1,
      digestsVerified: 0,
      firstBad: { seq: head, reason: 'truncated' },
    });
    expect(holed.firstBad).toEqual({ seq: head, reason: 'missing' });
  });

  it('reports a forged digest signature, and truncation after a digest', async () => {
    // Prepare
    const signed = (await call('tam', 'POST', '/audit/digests')).json.digest;
    const key = { pk: 'tamper#digests', sk: formatSeq(signed.fromSeq) };
    const { Item: digest } = await db.send(new GetCommand({ TableName: TABLE, Key: key }));
    const signature = Buffer.from(signed.signature, 'base64');
    signature[0] = (signature[0] ?? 0) ^ 1;
    await db.send(
      new PutCommand({ TableName: TABLE, Item: { ...digest, signature: signature.toString('base64') } }),
    );
    const forged = await verify();
    await db.send(new PutCommand({ TableName: TABLE, Item: digest }));
    // Truncation: the tail from the digest's head on (the verification above appended its event).
    const head = await headSeq('tamper');
    for (let seq = signed.toSeq; seq <= head; seq += 1) {
      await db.send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'tamper#chain', sk: formatSeq(seq) } }));
    }

    // Act
    const truncated = await verify();

    // Assess
    expect(forged.firstBad).toEqual({ seq: signed.fromSeq, reason: 'bad-signature' });
    expect(truncated.firstBad).toEqual({ seq: signed.toSeq, reason: 'truncated' });
    // The chain no longer continues the signed head: the next digest is refused (409).
    const refused = await call('tam', 'POST', '/audit/digests');
    expect(refused.status).toBe(409);
  });

  it('refuses to sign after the stored digest was altered (409, audit.integrity.failed), and signs once it is put back', async () => {
    // Prepare: a digest whose stored record is then altered (its signature no longer verifies).
    await call('dig', 'GET', '/audit?limit=1');
    const signed = (await call('dig', 'POST', '/audit/digests')).json.digest;
    const key = { pk: 'digests#digests', sk: formatSeq(signed.fromSeq) };
    const { Item: digest } = await db.send(new GetCommand({ TableName: TABLE, Key: key }));
    await db.send(
      new PutCommand({ TableName: TABLE, Item: { ...digest, createdAt: '2025-03-01T00:00:00.000Z' } }),
    );

    // Act
    const refused = await call('dig', 'POST', '/audit/digests');
    await db.send(new PutCommand({ TableName: TABLE, Item: digest }));
    const resumed = await call('dig', 'POST', '/audit/digests');

    // Assess
    expect(refused.status).toBe(409);
    expect(refused.json.error.details).toEqual({
      firstBad: { seq: signed.fromSeq, reason: 'bad-signature' },
    });
    expect(
      integrityFailures.filter((event) => event.tenant === 'digests').map((event) => event.detail),
    ).toEqual([{ seq: signed.fromSeq, reason: 'bad-signature' }]);
    expect(resumed.status).toBe(200);
    expect(resumed.json.digest).toMatchObject({ fromSeq: signed.toSeq + 1, prevSignature: signed.signature });
    expect(resumed.json.digest.prevDigestHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
