/**
 * The sequencer and the digest service on the in-memory store: gap-free, fork-free, exactly once
 * under retries, crashes and concurrent sequencers; digests that chain; catch-up of stragglers;
 * no signature over a tampered chain.
 */
import type { KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ChainEntry, eventSortKey, expandChainEntry } from '../../lambdas/core/audit/audit-chain.js';
import { DIGEST_FORMAT, digestHash } from '../../lambdas/core/audit/audit-digest.js';
import { AUDIT_INTEGRITY_FAILED, AuditDigestService } from '../../lambdas/core/audit/audit-digests.js';
import { AUDIT_EVENT_CHAINED, AuditSequencer } from '../../lambdas/core/audit/audit-sequencer.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import { ChainingAuditSink } from '../../lambdas/core/audit/chaining-sink.js';
import { type VerificationResult, verifyAuditChain } from '../../lambdas/core/audit/chain-verifier.js';
import type { DomainEvent, EventPublisher } from '../../lambdas/core/events.js';
import { auditEvent, ed25519Signer, MemoryAuditChainStore, recorded } from '../support/audit-chain.js';

const TENANT = 'acme';
const noSleep = async (): Promise<void> => undefined;

class FakePublisher implements EventPublisher {
  readonly published: DomainEvent[] = [];
  async publish(events: readonly DomainEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

async function entriesOf(store: MemoryAuditChainStore, tenant = TENANT): Promise<ChainEntry[]> {
  const entries: ChainEntry[] = [];
  for await (const entry of store.entries(tenant))
    entries.push(expandChainEntry(entry) as unknown as ChainEntry);
  return entries;
}

/** Verifies the tenant's chain as stored, with every digest the store holds for it. */
async function verifyStored(store: MemoryAuditChainStore, publicKey: KeyObject): Promise<VerificationResult> {
  const digests: unknown[] = [];
  for await (const digest of store.digests(TENANT)) digests.push(digest);
  return verifyAuditChain(await entriesOf(store), { tenant: TENANT, digests, publicKey, now: 0 });
}

const clock = { now: () => new Date(Date.UTC(2025, 2, 2)) };

describe('audit sequencer', () => {
  it('chains events in time order, gap-free, and publishes each one', async () => {
    // Prepare
    const store = new MemoryAuditChainStore();
    const publisher = new FakePublisher();
    const sequencer = new AuditSequencer(store, publisher, { sleep: noSleep });
    const events = [3, 1, 2].map((n) => recorded(auditEvent(TENANT, n)));

    // Act
    const chained = await sequencer.chain(TENANT, events);

    // Assess
    const entries = await entriesOf(store);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    expect(entries.map((entry) => entry.event.requestId)).toEqual(['req-1', 'req-2', 'req-3']);
    expect(chained.every((event) => event.appended)).toBe(true);
    expect(publisher.published.map((event) => [event.type, event.detail.seq])).toEqual([
      [AUDIT_EVENT_CHAINED, 1],
      [AUDIT_EVENT_CHAINED, 2],
      [AUDIT_EVENT_CHAINED, 3],
    ]);
    expect(publisher.published[0]?.detail).not.toHaveProperty('actor.sourceIp');
  });

  it('chains an event exactly once when the same batch is retried', async () => {
    const store = new MemoryAuditChainStore();
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    const events = [1, 2, 3].map((n) => recorded(auditEvent(TENANT, n)));
    await sequencer.chain(TENANT, events);

    // Act
    const again = await sequencer.chain(TENANT, [...events, recorded(auditEvent(TENANT, 4))]);

    // Assess
    expect((await entriesOf(store)).map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
    expect(again.map((event) => [event.seq, event.appended])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
  });

  it('does not chain twice an event whose marker was lost in a crash', async () => {
    // Prepare: the first run appends entry 1 and "crashes" before its marker.
    const store = new MemoryAuditChainStore();
    const markChained = store.markChained.bind(store);
    let crash = true;
    store.markChained = async (...args) => {
      if (crash) {
        crash = false;
        throw new Error('crash');
      }
      return markChained(...args);
    };
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    const event = recorded(auditEvent(TENANT, 1));
    await expect(sequencer.chain(TENANT, [event])).rejects.toThrow('crash');

    // Act
    await sequencer.chain(TENANT, [event, recorded(auditEvent(TENANT, 2))]);

    // Assess
    expect((await entriesOf(store)).map((entry) => entry.event.requestId)).toEqual(['req-1', 'req-2']);
    expect(store.markers.get(TENANT)?.get(eventSortKey(event.event))).toBe(1);
  });

  it('keeps one gap-free chain under 50 concurrent sequencers with overlapping batches', async () => {
    // Prepare
    const store = new MemoryAuditChainStore();
    const events = Array.from({ length: 200 }, (_, n) => recorded(auditEvent(TENANT, n + 1)));

    // Act: each sequencer gets a window of events overlapping its neighbours'.
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        new AuditSequencer(store, undefined, {
          sleep: async () => new Promise((r) => setImmediate(r)),
        }).chain(TENANT, events.slice(i * 4, i * 4 + 12)),
      ),
    );

    // Assess
    const entries = await entriesOf(store);
    expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(entries.map((entry) => entry.event.eventId)).size).toBe(200);
    const result = verifyAuditChain(entries, { tenant: TENANT, digests: [], publicKey: undefined, now: 0 });
    expect(result).toMatchObject({ ok: true, checked: 200 });
  });

  it('continues from the head it appended last without reading the head again', async () => {
    // Prepare
    const store = new MemoryAuditChainStore();
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    await sequencer.chain(
      TENANT,
      [1, 2].map((n) => recorded(auditEvent(TENANT, n))),
    );
    const head = store.head.bind(store);
    let headReads = 0;
    store.head = async (tenant) => {
      headReads += 1;
      return head(tenant);
    };

    // Act
    await sequencer.chain(TENANT, [recorded(auditEvent(TENANT, 3))]);
    await sequencer.chain(TENANT, [recorded(auditEvent(TENANT, 4))]);

    // Assess
    expect(headReads).toBe(0);
    const entries = await entriesOf(store);
    expect(entries.map((entry) => [entry.seq, entry.event.requestId])).toEqual([
      [1, 'req-1'],
      [2, 'req-2'],
      [3, 'req-3'],
      [4, 'req-4'],
    ]);
    const result = verifyAuditChain(entries, { tenant: TENANT, digests: [], publicKey: undefined, now: 0 });
    expect(result).toMatchObject({ ok: true, checked: 4 });
  });

  it('starts over from the stored head when another sequencer appended after the head it knew', async () => {
    // Prepare: `ours` knows head 1; `other` then chains 2 and 3, and "crashes" before the marker
    // of 3, so only a consistent read of the head can tell that event 3 is chained.
    const store = new MemoryAuditChainStore();
    const ours = new AuditSequencer(store, undefined, { sleep: noSleep });
    const other = new AuditSequencer(store, undefined, { sleep: noSleep });
    const events = [1, 2, 3, 4].map((n) => recorded(auditEvent(TENANT, n)));
    await ours.chain(TENANT, [events[0]!]);
    const markChained = store.markChained.bind(store);
    store.markChained = async (tenant, key, seq) => {
      if (seq === 3) throw new Error('crash');
      return markChained(tenant, key, seq);
    };
    await expect(other.chain(TENANT, [events[1]!, events[2]!])).rejects.toThrow('crash');
    store.markChained = markChained;

    // Act: a retried batch holding the event chained without a marker, and a new one.
    const chained = await ours.chain(TENANT, [events[2]!, events[3]!]);

    // Assess: no fork, no event twice, no gap.
    const entries = await entriesOf(store);
    expect(entries.map((entry) => [entry.seq, entry.event.requestId])).toEqual([
      [1, 'req-1'],
      [2, 'req-2'],
      [3, 'req-3'],
      [4, 'req-4'],
    ]);
    expect(chained.map((event) => [event.seq, event.appended])).toEqual([
      [3, false],
      [4, true],
    ]);
    const result = verifyAuditChain(entries, { tenant: TENANT, digests: [], publicKey: undefined, now: 0 });
    expect(result).toMatchObject({ ok: true, checked: 4 });
  });

  it('ignores events of other tenants', async () => {
    const store = new MemoryAuditChainStore();
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    await sequencer.chain(TENANT, [recorded(auditEvent('other', 1))]);
    expect(await entriesOf(store)).toEqual([]);
  });
});

describe('audit digests', () => {
  function service(store: MemoryAuditChainStore, publisher = new FakePublisher(), serviceClock = clock) {
    const signer = ed25519Signer();
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    return {
      signer,
      sequencer,
      digests: new AuditDigestService(store, sequencer, signer, serviceClock, publisher),
    };
  }

  /**
   * A clock that stands still until the store has handed out `after` chain entries, then jumps
   * past `deadline`: the deadline comes while the next entry is read.
   */
  function deadlineAfterEntries(store: MemoryAuditChainStore, after: number) {
    const start = clock.now();
    const deadline = new Date(start.getTime() + 60_000);
    let now = start;
    const entries = store.entries.bind(store);
    store.entries = async function* (tenant, range) {
      let handed = 0;
      for await (const entry of entries(tenant, range)) {
        if (handed === after) now = new Date(deadline.getTime() + 1);
        handed += 1;
        yield entry;
      }
    };
    return { deadline, clock: { now: () => now }, reset: () => (now = start) };
  }

  it('stops at its deadline and signs the prefix it checked; the next run signs the rest', async () => {
    // Prepare: ten chained events; the deadline comes while the fifth entry is read.
    const store = new MemoryAuditChainStore();
    const publisher = new FakePublisher();
    const timing = deadlineAfterEntries(store, 4);
    const { signer, sequencer, digests } = service(store, publisher, timing.clock);
    await sequencer.chain(
      TENANT,
      Array.from({ length: 10 }, (_, n) => recorded(auditEvent(TENANT, n + 1))),
    );

    // Act
    const first = await digests.run(TENANT, { deadline: timing.deadline });
    timing.reset();
    const rest = await digests.run(TENANT);

    // Assess: two digests, 1..4 then 5..10, linked; the chain verifies with both.
    expect(first).toMatchObject({ complete: false, integrityProblem: undefined });
    expect(first.digest).toMatchObject({ fromSeq: 1, toSeq: 4 });
    const fourth = expandChainEntry((await store.entryAt(TENANT, 4)) as Record<string, unknown>);
    expect(first.digest).toMatchObject({ headHash: fourth.hash, expiresAt: fourth.expiresAt });
    expect(rest).toMatchObject({ complete: true });
    expect(rest.digest).toMatchObject({ fromSeq: 5, toSeq: 10, prevDigestHash: digestHash(first.digest!) });
    expect(publisher.published.filter((event) => event.type === 'audit.digest.signed')).toHaveLength(2);
    expect(await verifyStored(store, signer.publicKey)).toMatchObject({
      ok: true,
      checked: 10,
      digestsVerified: 2,
    });
  });

  it('reports a problem it reads before its deadline, and signs nothing', async () => {
    // Prepare: entry 3 of ten altered; the deadline comes at the sixth.
    const store = new MemoryAuditChainStore();
    const publisher = new FakePublisher();
    const timing = deadlineAfterEntries(store, 5);
    const { sequencer, digests } = service(store, publisher, timing.clock);
    await sequencer.chain(
      TENANT,
      Array.from({ length: 10 }, (_, n) => recorded(auditEvent(TENANT, n + 1))),
    );
    const third = (await store.entryAt(TENANT, 3)) as Record<string, unknown>;
    third.body = String(third.body).replace(/("actor":\{[^}]*"id":")[^"]+"/, '$1mallory"');

    // Act
    const run = await digests.run(TENANT, { deadline: timing.deadline });

    // Assess
    expect(run.digest).toBeUndefined();
    expect(run.integrityProblem).toMatchObject({ seq: 3, reason: 'modified' });
    expect(store.digestItems.get(TENANT)?.size ?? 0).toBe(0);
    expect(publisher.published.map((event) => event.type)).toEqual([AUDIT_INTEGRITY_FAILED]);
  });

  it('claims the catch-up only as far as the deadline let it read; the next run resumes there', async () => {
    // Prepare: 100 events recorded (25 to a page), three never chained; the catch-up's half of
    // the time runs out while its third page is read, the check has time to read to the head.
    const store = new MemoryAuditChainStore();
    const start = clock.now();
    const deadline = new Date(start.getTime() + 60_000);
    let now = start;
    const { sequencer, digests } = service(store, new FakePublisher(), { now: () => now });
    const events = Array.from({ length: 100 }, (_, n) => recorded(auditEvent(TENANT, n + 1)));
    for (const event of events) store.record(event);
    const lost = new Set([9, 59, 89]);
    await sequencer.chain(
      TENANT,
      events.filter((_, n) => !lost.has(n)),
    );
    const froms: string[] = [];
    const recordedEvents = store.recordedEvents.bind(store);
    store.recordedEvents = async function* (tenant, from, to) {
      froms.push(from);
      let pages = 0;
      for await (const page of recordedEvents(tenant, from, to)) {
        if (pages === 2 && froms.length === 1) now = new Date(start.getTime() + 31_000);
        pages += 1;
        yield page;
      }
    };

    // Act
    const cut = await digests.run(TENANT, { deadline });
    now = new Date(start.getTime() + 120_000);
    const next = await digests.run(TENANT);

    // Assess: the first run chained the one lost event of its two pages and signed the head,
    // claiming reconciliation up to the first event it did not read (the 51st); the next run
    // resumed five minutes (the recording grace) before that and chained the other two.
    expect(cut).toMatchObject({ complete: true, caughtUp: 1 });
    expect(cut.digest).toMatchObject({ fromSeq: 1, toSeq: 98, reconciledThrough: events[50]!.event.time });
    expect(froms[1]).toBe(new Date(Date.parse(events[50]!.event.time) - 5 * 60_000).toISOString());
    expect(next).toMatchObject({ complete: true, caughtUp: 2 });
    expect(next.digest).toMatchObject({ fromSeq: 99, toSeq: 100 });
    expect(next.digest?.reconciledThrough).toBe(new Date(now.getTime() - 5 * 60_000).toISOString());
  });

  it('signs nothing when its deadline comes before the catch-up is done; the next run catches up and signs', async () => {
    // Prepare: five events recorded, none chained; the deadline has passed when the run starts.
    const store = new MemoryAuditChainStore();
    let now = clock.now();
    const { sequencer, digests } = service(store, new FakePublisher(), { now: () => now });
    const events = [1, 2, 3, 4, 5].map((n) => recorded(auditEvent(TENANT, n)));
    for (const event of events) store.record(event);
    await sequencer.chain(TENANT, events.slice(0, 2));
    const deadline = new Date(now.getTime() - 1);

    // Act
    const late = await digests.run(TENANT, { deadline });
    const digestsAfterLate = store.digestItems.get(TENANT)?.size ?? 0;
    now = new Date(now.getTime() + 1_000);
    const next = await digests.run(TENANT);

    // Assess: nothing signed and nothing caught up, then the next run does both.
    expect(late).toMatchObject({ complete: false, caughtUp: 0, digest: undefined });
    expect(digestsAfterLate).toBe(0);
    expect(next).toMatchObject({ complete: true, caughtUp: 3 });
    expect(next.digest).toMatchObject({ fromSeq: 1, toSeq: 5 });
  });

  it('signs digests that cover the chain and sign their predecessor, and none when nothing is new', async () => {
    // Prepare
    const store = new MemoryAuditChainStore();
    const { signer, sequencer, digests } = service(store);
    await sequencer.chain(
      TENANT,
      [1, 2, 3].map((n) => recorded(auditEvent(TENANT, n))),
    );

    // Act
    const first = await digests.run(TENANT);
    const idle = await digests.run(TENANT);
    await sequencer.chain(TENANT, [recorded(auditEvent(TENANT, 4))]);
    const second = await digests.run(TENANT);

    // Assess
    expect(first.digest).toMatchObject({ fromSeq: 1, toSeq: 3, prevSignature: '', algorithm: 'ED25519' });
    expect(idle.digest).toBeUndefined();
    expect(second.digest).toMatchObject({ fromSeq: 4, toSeq: 4, prevSignature: first.digest?.signature });
    const result = await verifyStored(store, signer.publicKey);
    expect(result).toMatchObject({ ok: true, checked: 4, digestsVerified: 2 });
  });

  it('writes format-2 digests naming their predecessor’s hash: one signature check verifies them', async () => {
    // Prepare
    const store = new MemoryAuditChainStore();
    const { signer, sequencer, digests } = service(store);
    const signed = [];
    for (let n = 1; n <= 4; n += 1) {
      await sequencer.chain(TENANT, [recorded(auditEvent(TENANT, n))]);
      signed.push((await digests.run(TENANT)).digest);
    }

    // Act
    const result = await verifyStored(store, signer.publicKey);

    // Assess
    const [first, second, third, fourth] = signed;
    expect(first).toMatchObject({ format: DIGEST_FORMAT, prevDigestHash: '' });
    expect(second).toMatchObject({ prevDigestHash: digestHash(first!) });
    expect(third).toMatchObject({ prevDigestHash: digestHash(second!) });
    expect(fourth).toMatchObject({ prevDigestHash: digestHash(third!) });
    expect(result).toMatchObject({ ok: true, checked: 4, digestsVerified: 4, digestSignaturesChecked: 1 });
  });

  it('refuses to sign after its own last digest was altered, and says so, even with nothing new', async () => {
    // Prepare: a stored digest altered where the chain check does not look (its signature, by
    // this same key, no longer verifies).
    const store = new MemoryAuditChainStore();
    const publisher = new FakePublisher();
    const { signer, sequencer, digests } = service(store, publisher);
    await sequencer.chain(TENANT, [recorded(auditEvent(TENANT, 1))]);
    await digests.run(TENANT);
    const [stored] = [...(store.digestItems.get(TENANT)?.values() ?? [])];
    stored!.createdAt = '2025-03-01T00:00:00.000Z';

    // Act: once with nothing new, once after a new event.
    const idle = await digests.run(TENANT);
    await sequencer.chain(TENANT, [recorded(auditEvent(TENANT, 2))]);
    const withNew = await digests.run(TENANT);

    // Assess: nothing signed after it; each run reports it at the digest's first seq.
    for (const run of [idle, withNew]) {
      expect(run.digest).toBeUndefined();
      expect(run.integrityProblem).toMatchObject({ seq: 1, reason: 'bad-signature' });
    }
    const failures = publisher.published.filter((event) => event.type === AUDIT_INTEGRITY_FAILED);
    expect(failures.map((event) => event.detail)).toEqual([
      { seq: 1, reason: 'bad-signature' },
      { seq: 1, reason: 'bad-signature' },
    ]);
    expect(store.digestItems.get(TENANT)?.size).toBe(1);
    expect((await verifyStored(store, signer.publicKey)).firstBad).toMatchObject({
      seq: 1,
      reason: 'bad-signature',
    });
  });

  it('signs after a digest of a key since replaced, vouching for nothing before it', async () => {
    // Prepare: a tenant whose last digest was signed with a key since replaced (README, "Backup
    // and restore": a lost signing key).
    const store = new MemoryAuditChainStore();
    const publisher = new FakePublisher();
    const { signer, sequencer, digests } = service(store, publisher);
    const oldKey = service(store).digests;
    await sequencer.chain(TENANT, [recorded(auditEvent(TENANT, 1))]);
    await oldKey.run(TENANT);
    await sequencer.chain(TENANT, [recorded(auditEvent(TENANT, 2))]);

    // Act
    const afterNewKey = await digests.run(TENANT);

    // Assess: signed, naming no predecessor's hash, so a verifier checks the old digest's own
    // signature (bad with the new key, as before format 2); no integrity failure published.
    expect(afterNewKey.integrityProblem).toBeUndefined();
    expect(afterNewKey.digest).toMatchObject({ fromSeq: 2, prevDigestHash: '' });
    expect(publisher.published.filter((event) => event.type === AUDIT_INTEGRITY_FAILED)).toEqual([]);
    const result = await verifyStored(store, signer.publicKey);
    expect(result.firstBad).toMatchObject({ seq: 1, reason: 'bad-signature' });
    expect(result.digestSignaturesChecked).toBe(2);
  });

  it('chains recorded events no sequencer chained before signing', async () => {
    // Prepare: three events were recorded, only the first was chained.
    const store = new MemoryAuditChainStore();
    const { sequencer, digests } = service(store);
    const events = [1, 2, 3].map((n) => recorded(auditEvent(TENANT, n)));
    for (const event of events) store.record(event);
    await sequencer.chain(TENANT, events.slice(0, 1));

    // Act
    const run = await digests.run(TENANT);

    // Assess
    expect(run.caughtUp).toBe(2);
    expect(run.digest).toMatchObject({ fromSeq: 1, toSeq: 3 });
  });

  it('catches up reading markers by range: only events without one are looked up one by one', async () => {
    // Prepare: 250 events recorded, all but three chained (a stream batch lost them).
    const store = new MemoryAuditChainStore();
    const { sequencer, digests } = service(store);
    const events = Array.from({ length: 250 }, (_, n) => recorded(auditEvent(TENANT, n + 1)));
    for (const event of events) store.record(event);
    const lost = new Set([7, 120, 249]);
    await sequencer.chain(
      TENANT,
      events.filter((_, n) => !lost.has(n)),
    );
    const lookedUp: string[] = [];
    const chainedSeqs = store.chainedSeqs.bind(store);
    store.chainedSeqs = async (tenant, keys) => {
      lookedUp.push(...keys);
      return chainedSeqs(tenant, keys);
    };

    // Act
    const run = await digests.run(TENANT);

    // Assess: the three are chained and signed; the 247 chained ones were not looked up by key.
    expect(run.caughtUp).toBe(3);
    expect(run.digest).toMatchObject({ fromSeq: 1, toSeq: 250 });
    const lostKeys = [...lost].map((n) => eventSortKey(events[n]!.event));
    expect(lookedUp.filter((key) => !lostKeys.includes(key))).toEqual([]);
    expect(new Set(lookedUp)).toEqual(new Set(lostKeys));
  });

  it('refuses to sign a chain tampered with since the last digest, and says so', async () => {
    // Prepare
    const store = new MemoryAuditChainStore();
    const publisher = new FakePublisher();
    const { sequencer, digests } = service(store, publisher);
    await sequencer.chain(
      TENANT,
      [1, 2].map((n) => recorded(auditEvent(TENANT, n))),
    );
    await digests.run(TENANT);
    await sequencer.chain(
      TENANT,
      [3, 4].map((n) => recorded(auditEvent(TENANT, n))),
    );
    const third = (await store.entryAt(TENANT, 3)) as Record<string, unknown>;
    third.body = String(third.body).replace(/("actor":\{[^}]*"id":")[^"]+"/, '$1mallory"');

    // Act
    const run = await digests.run(TENANT);

    // Assess
    expect(run.digest).toBeUndefined();
    expect(run.integrityProblem).toMatchObject({ seq: 3, reason: 'modified' });
    expect(publisher.published.find((event) => event.type === AUDIT_INTEGRITY_FAILED)?.detail).toEqual({
      seq: 3,
      reason: 'modified',
    });
  });
});

describe('in-process chaining sink', () => {
  function durable(store: MemoryAuditChainStore) {
    return {
      recordWithExpiry: async (event: AuditEvent) => {
        store.record(recorded(event));
        return recorded(event).expiresAt;
      },
      record: async () => undefined,
    };
  }

  /** A sequencer whose appends wait until `open` is called (as a chain table that does not answer). */
  function gatedSequencer(store: MemoryAuditChainStore) {
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const chain = sequencer.chain.bind(sequencer);
    sequencer.chain = async (...args) => {
      await gate;
      return chain(...args);
    };
    return { sequencer, open: () => open() };
  }

  it('answers once the event is durable and chains it right after, off the request path', async () => {
    // Prepare: the chain append waits on a gate the test opens.
    const store = new MemoryAuditChainStore();
    const { sequencer, open } = gatedSequencer(store);
    const sink = new ChainingAuditSink(durable(store), sequencer, () => undefined);

    // Act
    await sink.record(auditEvent(TENANT, 1));
    const durableBeforeChain = store.events.get(TENANT)?.length;
    const chainedBeforeGate = (await entriesOf(store)).length;
    open();
    await sink.settled();

    // Assess
    expect(durableBeforeChain).toBe(1);
    expect(chainedBeforeGate).toBe(0);
    expect((await entriesOf(store)).map((entry) => entry.seq)).toEqual([1]);
  });

  it('chains every event in order, gap-free, coalescing concurrent ones', async () => {
    // Prepare
    const store = new MemoryAuditChainStore();
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    let runs = 0;
    const chain = sequencer.chain.bind(sequencer);
    sequencer.chain = async (...args) => {
      runs += 1;
      return chain(...args);
    };
    const sink = new ChainingAuditSink(durable(store), sequencer, () => undefined);

    // Act
    await Promise.all(Array.from({ length: 20 }, (_, n) => sink.record(auditEvent(TENANT, n + 1))));
    await sink.settled();

    // Assess
    expect((await entriesOf(store)).map((entry) => entry.seq)).toEqual(
      Array.from({ length: 20 }, (_, n) => n + 1),
    );
    expect(runs).toBeLessThan(20);
  });

  it('settles once the events recorded before the call are chained, while more keep coming', async () => {
    // Prepare: appends slower than arrivals (each run waits 5 ms), as under a sustained load.
    const store = new MemoryAuditChainStore();
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    const chain = sequencer.chain.bind(sequencer);
    sequencer.chain = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return chain(...args);
    };
    const sink = new ChainingAuditSink(durable(store), sequencer, () => undefined);
    for (let n = 1; n <= 10; n += 1) await sink.record(auditEvent(TENANT, n));
    let chainedWhenSettled: number | undefined;
    const settled = sink.settled(TENANT).then(async () => {
      chainedWhenSettled = (await entriesOf(store)).length;
    });

    // Act: one more event every millisecond, for at most two seconds.
    let recorded = 10;
    const started = Date.now();
    while (chainedWhenSettled === undefined && Date.now() - started < 2_000) {
      recorded += 1;
      await sink.record(auditEvent(TENANT, recorded));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }

    // Assess: it settled while events kept coming, with the first ten chained.
    expect(chainedWhenSettled).toBeGreaterThanOrEqual(10);
    expect(chainedWhenSettled).toBeLessThan(recorded);
    await settled;
    await sink.settled();
    expect((await entriesOf(store)).map((entry) => entry.seq)).toEqual(
      Array.from({ length: recorded }, (_, n) => n + 1),
    );
  });

  it('bounds the queue: events recorded while it is full stay durable and are chained by the catch-up', async () => {
    // Prepare: a queue of at most 5 events, and a chain append that waits on a gate, as a chain
    // table throttled for good would.
    const store = new MemoryAuditChainStore();
    const { sequencer, open } = gatedSequencer(store);
    const reports: string[] = [];
    const sink = new ChainingAuditSink(durable(store), sequencer, () => undefined, {
      maxQueued: 5,
      onLeftToCatchUp: (tenant, queued) => reports.push(`${tenant}: ${queued}`),
    });

    // Act: the first event's append starts (and waits); five more fill the queue, three more
    // find it full. Then the appends go on, and later the digest engine catches up.
    for (let n = 1; n <= 9; n += 1) await sink.record(auditEvent(TENANT, n));
    open();
    await sink.settled();
    const chainedBySink = (await entriesOf(store)).length;
    const digests = new AuditDigestService(store, sequencer, ed25519Signer(), clock, new FakePublisher());
    const run = await digests.run(TENANT);

    // Assess: every record resolved and is durable; one report for the episode; the three left
    // out are chained by the catch-up, after the six the sink chained, gap-free.
    expect(store.events.get(TENANT)).toHaveLength(9);
    expect(reports).toEqual([`${TENANT}: 5`]);
    expect(chainedBySink).toBe(6);
    expect(run.caughtUp).toBe(3);
    const entries = await entriesOf(store);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(entries.map((entry) => entry.event.eventId)).size).toBe(9);
  });

  it('makes room again once a drain takes the queue, and reports a new episode afresh', async () => {
    // Prepare: a queue of at most 2 events; each append waits on its own gate.
    const store = new MemoryAuditChainStore();
    const sequencer = new AuditSequencer(store, undefined, { sleep: noSleep });
    const gates: (() => void)[] = [];
    const chain = sequencer.chain.bind(sequencer);
    sequencer.chain = async (...args) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return chain(...args);
    };
    const reports: number[] = [];
    const sink = new ChainingAuditSink(durable(store), sequencer, () => undefined, {
      maxQueued: 2,
      onLeftToCatchUp: (_tenant, queued) => reports.push(queued),
    });
    const release = async () => {
      while (gates.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      gates.shift()?.();
    };

    // Act: 1 runs, 2 and 3 queue, 4 and 5 are left out (one report); 1 ends and the drain takes
    // 2 and 3 (room again); 6 and 7 queue, 8 is left out (a second report).
    for (let n = 1; n <= 5; n += 1) await sink.record(auditEvent(TENANT, n));
    await release();
    while (gates.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    for (let n = 6; n <= 8; n += 1) await sink.record(auditEvent(TENANT, n));
    const settled = sink.settled();
    await release();
    await release();
    await settled;

    // Assess
    expect(reports).toEqual([2, 2]);
    expect((await entriesOf(store)).map((entry) => entry.event.requestId)).toEqual([
      'req-1',
      'req-2',
      'req-3',
      'req-6',
      'req-7',
    ]);
  });

  it('reports a chaining failure without failing the durable record', async () => {
    const store = new MemoryAuditChainStore();
    store.head = async () => {
      throw new Error('chain unavailable');
    };
    const failures: string[] = [];
    const sink = new ChainingAuditSink(
      durable(store),
      new AuditSequencer(store, undefined),
      (error, tenant) => failures.push(`${tenant}: ${(error as Error).message}`),
    );
    await expect(sink.record(auditEvent(TENANT, 1))).resolves.toBeUndefined();
    await sink.settled();
    expect(failures).toEqual([`${TENANT}: chain unavailable`]);
    expect(store.events.get(TENANT)).toHaveLength(1);
  });
});
