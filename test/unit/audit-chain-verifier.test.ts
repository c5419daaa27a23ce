/**
 * The verifier on a 10,000-entry chain built in memory: any one edited field, deleted, inserted,
 * reordered or truncated entry is reported at its exact sequence number, and bad digests are
 * reported as bad signatures. Expired entries are not tampering.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ChainEntry,
  chainEntryHash,
  expiryOf,
  GENESIS_HASH,
  hashOfStoredBytes,
  nextChainEntry,
} from '../../lambdas/core/audit/audit-chain.js';
import { canonicalJson } from '../../lambdas/core/audit/canonical-json.js';
import type { AuditDigest } from '../../lambdas/core/audit/audit-digest.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import { verifyAuditChain, type VerificationResult } from '../../lambdas/core/audit/chain-verifier.js';
import { asRecords, asStoredRecords, auditEvent, buildChain, ed25519Signer } from '../support/audit-chain.js';

const TENANT = 'acme';
const COUNT = 10_000;
const signer = ed25519Signer();
let entries: ChainEntry[];
let digests: AuditDigest[];
const NOW = Math.floor(Date.UTC(2025, 2, 2) / 1000);

type Rec = Record<string, any>;

function verify(
  records: readonly unknown[],
  digestRecords: readonly unknown[] = digests,
  now = NOW,
): VerificationResult {
  return verifyAuditChain(records, {
    tenant: TENANT,
    digests: digestRecords,
    publicKey: signer.publicKey,
    now,
  });
}

function fresh(): Rec[] {
  return asRecords(entries);
}

beforeAll(async () => {
  ({ entries, digests } = await buildChain({ tenant: TENANT, count: COUNT, digestEvery: 1000, signer }));
});

describe('audit chain verifier', () => {
  it('verifies an intact chain of 10,000 entries and its 10 digests', () => {
    // Act
    const result = verify(fresh());

    // Assess
    expect(result).toMatchObject({ ok: true, checked: COUNT, firstBad: null, digestsVerified: 10 });
    expect(result.firstSeq).toBe(1);
    expect(result.lastSeq).toBe(COUNT);
  });

  const edits: [string, (entry: Rec) => void][] = [
    [
      'seq (up)',
      (e) => {
        e.seq += 1;
      },
    ],
    [
      'seq (down)',
      (e) => {
        e.seq -= 1;
      },
    ],
    [
      'prevHash',
      (e) => {
        e.prevHash = GENESIS_HASH.replace(/^0/, '1');
      },
    ],
    [
      'hash',
      (e) => {
        e.hash = `${String(e.hash).slice(0, -1)}${String(e.hash).endsWith('0') ? '1' : '0'}`;
      },
    ],
    [
      'expiresAt',
      (e) => {
        e.expiresAt -= 1;
      },
    ],
    [
      'prevExpiresAt',
      (e) => {
        e.prevExpiresAt += 1;
      },
    ],
    [
      'event.eventId',
      (e) => {
        e.event.eventId = '00000000-0000-4000-8000-000000000000';
      },
    ],
    [
      'event.tenant',
      (e) => {
        e.event.tenant = 'other';
      },
    ],
    [
      'event.time',
      (e) => {
        e.event.time = '2020-01-01T00:00:00.000Z';
      },
    ],
    [
      'event.actor.id',
      (e) => {
        e.event.actor.id = 'mallory';
      },
    ],
    [
      'event.actor.kind',
      (e) => {
        e.event.actor.kind = 'machine';
      },
    ],
    [
      'event.actor.sourceIp',
      (e) => {
        e.event.actor.sourceIp = '198.51.100.1';
      },
    ],
    [
      'event.action',
      (e) => {
        e.event.action = 'secret.destroy';
      },
    ],
    [
      'event.target.path',
      (e) => {
        e.event.target.path = 'prod/other';
      },
    ],
    [
      'event.target.version',
      (e) => {
        e.event.target.version += 1;
      },
    ],
    [
      'event.outcome',
      (e) => {
        e.event.outcome = e.event.outcome === 'allowed' ? 'denied' : 'allowed';
      },
    ],
    [
      'event.requestId (removed)',
      (e) => {
        delete e.event.requestId;
      },
    ],
    [
      'an added event field',
      (e) => {
        e.event.reason = 'covered up';
      },
    ],
    [
      'an added entry field',
      (e) => {
        e.note = 'x';
      },
    ],
  ];
  const positions = [1, 1000, 1001, 5_432, COUNT];

  it.each(edits)('reports an edited %s at the exact seq', (_field, edit) => {
    for (const seq of positions) {
      // Prepare
      const records = fresh();
      edit(records[seq - 1] as Rec);

      // Act
      const result = verify(records);

      // Assess
      expect(result.firstBad, `seq ${seq}`).toMatchObject({ seq, reason: 'modified' });
      expect(result.ok).toBe(false);
      expect(result.checked).toBe(seq - 1);
    }
  });

  it('reports a deleted entry as missing at its seq, and the last one as truncated', () => {
    for (const seq of [1, 2, 500, 1000, 1001, 7_777, 9_999]) {
      const records = fresh();
      records.splice(seq - 1, 1);
      expect(verify(records).firstBad, `seq ${seq}`).toMatchObject({ seq, reason: 'missing' });
    }
    const records = fresh();
    records.pop();
    expect(verify(records).firstBad).toMatchObject({ seq: COUNT, reason: 'truncated' });
  });

  it('reports several deleted entries at the first of them', () => {
    const records = fresh();
    records.splice(4_000, 3);
    expect(verify(records).firstBad).toMatchObject({ seq: 4_001, reason: 'missing' });
  });

  it('reports an inserted entry at the seq it takes or repeats', () => {
    // A forged entry claiming seq 3000, placed before the real one.
    const forgedBefore = fresh();
    const forged = structuredClone(forgedBefore[2_999]) as Rec;
    forged.event.actor.id = 'mallory';
    forgedBefore.splice(2_999, 0, forged);
    expect(verify(forgedBefore).firstBad).toMatchObject({ seq: 3_000, reason: 'inserted' });

    // The same forgery placed after the real one.
    const forgedAfter = fresh();
    forgedAfter.splice(3_000, 0, forged);
    expect(verify(forgedAfter).firstBad).toMatchObject({ seq: 3_000, reason: 'inserted' });

    // A forgery with a recomputed hash, placed before the real entry (at a digest's head, and not).
    for (const seq of [3_000, 3_500]) {
      const rehashed = fresh();
      const consistent = structuredClone(rehashed[seq - 1]) as Rec;
      consistent.event.actor.id = 'mallory';
      consistent.hash = chainEntryHash(consistent as unknown as ChainEntry);
      rehashed.splice(seq - 1, 0, consistent);
      expect(verify(rehashed).firstBad, `seq ${seq}`).toMatchObject({ seq, reason: 'inserted' });
    }

    // An exact copy of an entry, right after it, and before it.
    for (const at of [4_000, 3_999]) {
      const copy = fresh();
      copy.splice(at, 0, structuredClone(copy[3_999] as Rec));
      expect(verify(copy).firstBad, `copy at ${at}`).toMatchObject({ seq: 4_000, reason: 'inserted' });
    }

    // An old entry replayed far from its place.
    const replayed = fresh();
    replayed.splice(6_000, 0, structuredClone(replayed[2] as Rec));
    expect(verify(replayed).firstBad).toMatchObject({ seq: 6_001, reason: 'inserted' });

    // Garbage where an entry belongs.
    const garbage = fresh();
    garbage.splice(8_000, 0, { hello: 'world' } as Rec);
    expect(verify(garbage).firstBad).toMatchObject({ seq: 8_001, reason: 'inserted' });
  });

  it('reports swapped neighbours as reordered at the first seq out of place', () => {
    for (const seq of [1, 2, 999, 1000, 5_000, 9_999]) {
      const records = fresh();
      const [a, b] = [records[seq - 1], records[seq]];
      records[seq - 1] = b as Rec;
      records[seq] = a as Rec;
      expect(verify(records).firstBad, `seq ${seq}`).toMatchObject({ seq, reason: 'reordered' });
    }
  });

  it('reports an entry moved a few places later as reordered', () => {
    const records = fresh();
    const [moved] = records.splice(2_499, 1);
    records.splice(2_503, 0, moved as Rec);
    expect(verify(records).firstBad).toMatchObject({ seq: 2_500, reason: 'reordered' });
  });

  it('reports truncation after the last digest at the first entry gone', () => {
    const records = fresh().slice(0, 9_500);
    expect(verify(records).firstBad).toMatchObject({ seq: 9_501, reason: 'truncated' });
    // Nothing left at all.
    expect(verify([]).firstBad).toMatchObject({ seq: 1, reason: 'truncated' });
  });

  it('cannot see truncation past the last digest (what digests are for)', () => {
    const records = fresh().slice(0, 9_500);
    expect(verify(records, digests.slice(0, 9)).ok).toBe(true);
  });

  it('reports a digest with a bad signature, an edited digest and a forged one', () => {
    const flipped = digests.map((digest) => ({ ...digest }));
    const fifth = flipped[4] as Rec;
    const signature = Buffer.from(fifth.signature, 'base64');
    signature[10] = (signature[10] ?? 0) ^ 0xff;
    fifth.signature = signature.toString('base64');
    expect(verify(fresh(), flipped).firstBad).toMatchObject({ seq: 4_001, reason: 'bad-signature' });

    const edited = digests.map((digest) => ({ ...digest }));
    (edited[7] as Rec).headHash = GENESIS_HASH;
    expect(verify(fresh(), edited).firstBad).toMatchObject({ seq: 7_001, reason: 'bad-signature' });

    const otherKey = generateKeyPairSync('ed25519').publicKey;
    const result = verifyAuditChain(fresh(), { tenant: TENANT, digests, publicKey: otherKey, now: NOW });
    expect(result.firstBad).toMatchObject({ seq: 1, reason: 'bad-signature' });
  });

  it('reports a removed middle digest and a removed first digest as bad signatures', () => {
    const withoutMiddle = digests.filter((_digest, index) => index !== 3);
    expect(verify(fresh(), withoutMiddle).firstBad).toMatchObject({ seq: 3_001, reason: 'bad-signature' });
    expect(verify(fresh(), digests.slice(1)).firstBad).toMatchObject({ seq: 1, reason: 'bad-signature' });
  });

  it('reports a chain rewritten with fresh hashes at the head a digest signed', () => {
    const records = fresh().slice(0, 1_000);
    (records[499] as Rec).event.actor.id = 'mallory';
    for (let i = 499; i < records.length; i += 1) {
      const entry = records[i] as Rec;
      if (i > 0) entry.prevHash = (records[i - 1] as Rec).hash;
      entry.hash = chainEntryHash(entry as unknown as ChainEntry);
    }
    expect(verify(records, digests.slice(0, 1)).firstBad).toMatchObject({ seq: 1_000, reason: 'modified' });
  });

  it('accepts entries that expired by TTL, but not a deleted one that has not', async () => {
    // Prepare: entries one second apart with a one-day retention; at `expiredAt` the first 100 have expired.
    const short = await buildChain({
      tenant: TENANT,
      count: 500,
      digestEvery: 100,
      signer,
      retentionDays: 1,
    });
    const expiredAt = (short.entries[99] as ChainEntry).expiresAt;
    const check = (records: unknown[]) => verify(records, short.digests, expiredAt);

    // Act, Assess
    expect(check(asRecords(short.entries).slice(100))).toMatchObject({ ok: true, checked: 400 });
    // TTL deletes in no particular order: a gap among expired entries is fine too.
    const holes = asRecords(short.entries);
    holes.splice(10, 5);
    expect(check(holes).ok).toBe(true);
    // A deleted entry that has not expired yet is missing.
    expect(check(asRecords(short.entries).slice(101)).firstBad).toMatchObject({ reason: 'missing' });
    const gap = asRecords(short.entries);
    gap.splice(150, 1);
    expect(check(gap).firstBad).toMatchObject({ seq: 151, reason: 'missing' });
  });

  it('finds every one of many random single tamperings at its exact seq', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 40; round += 1) {
      const records = fresh();
      const seq = 1 + random(COUNT - 2);
      const kind = round % 4;
      let expected: string;
      if (kind === 0) {
        (records[seq - 1] as Rec).event.target.path = `tampered-${round}`;
        expected = 'modified';
      } else if (kind === 1) {
        records.splice(seq - 1, 1);
        expected = 'missing';
      } else if (kind === 2) {
        const [a, b] = [records[seq - 1], records[seq]];
        records[seq - 1] = b as Rec;
        records[seq] = a as Rec;
        expected = 'reordered';
      } else {
        const forged = structuredClone(records[seq - 1]) as Rec;
        forged.event.outcome = 'failed';
        records.splice(seq - 1, 0, forged);
        expected = 'inserted';
      }
      expect(verify(records).firstBad, `round ${round}`).toMatchObject({ seq, reason: expected });
    }
  });
});

/** A chain written partly before format 2 (entries 1..half as they were stored) and partly after. */
function mixed(half: number): Rec[] {
  return [...asRecords(entries.slice(0, half)), ...asStoredRecords(entries.slice(half))];
}

describe('audit chain verifier over stored bytes (format 2)', () => {
  it('verifies a chain of stored entries, and one with old entries before new ones', () => {
    // Act
    const stored = verify(asStoredRecords(entries));
    const across = verify(mixed(4_321));

    // Assess
    expect(stored).toMatchObject({ ok: true, checked: COUNT, firstBad: null, digestsVerified: 10 });
    expect(across).toMatchObject({ ok: true, checked: COUNT, firstBad: null, digestsVerified: 10 });
    expect(mixed(4_321)[4_320]).toHaveProperty('event');
    expect(mixed(4_321)[4_321]).toHaveProperty('body');
  });

  interface Stored {
    body?: string;
    seq: number;
    expiresAt: number;
    hash: string;
    prevHash: string;
    note?: string;
  }
  const flipLast = (hex: string): string => `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
  const bodyOf = (e: Stored): string => e.body ?? '';
  const storedEdits: [string, (entry: Stored) => void][] = [
    [
      'one byte of the body',
      (e) => {
        const body = bodyOf(e);
        e.body = `${body.slice(0, 40)}${body[40] === 'a' ? 'b' : 'a'}${body.slice(41)}`;
      },
    ],
    [
      'the body re-encoded with the same content',
      (e) => {
        e.body = JSON.stringify(JSON.parse(bodyOf(e)), null, 1);
      },
    ],
    ['the seq copy', (e) => (e.seq += 1)],
    ['the expiresAt copy', (e) => (e.expiresAt += 1)],
    ['the hash', (e) => (e.hash = flipLast(e.hash))],
    ['the prevHash', (e) => (e.prevHash = flipLast(e.prevHash))],
    ['an added field', (e) => (e.note = 'x')],
    ['the body removed', (e) => delete e.body],
    ['the body made unparseable', (e) => (e.body = bodyOf(e).slice(0, -1))],
  ];

  it.each(storedEdits)('reports %s of a new entry after old ones at its exact seq', (_name, edit) => {
    // Prepare: entry 6,000 is in format 2, after 4,321 old entries.
    const records = mixed(4_321);
    const target = records[5_999] as Stored | undefined;
    if (target === undefined) throw new Error('no entry 6000');
    edit(target);

    // Act
    const result = verify(records);

    // Assess
    expect(result.firstBad).toMatchObject({ seq: 6_000, reason: 'modified' });
    expect(result.checked).toBe(5_999);
  });

  it('reports every one of many single-byte changes of stored bytes at its exact seq', () => {
    // Prepare: a deterministic spread of entries and byte positions.
    const failures: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      const seq = 1 + ((i * 2_477) % COUNT);
      const records = asStoredRecords(entries);
      const target = records[seq - 1] as unknown as Stored;
      const body = bodyOf(target);
      const position = (i * 37) % body.length;
      const byte = body[position] === 'x' ? 'y' : 'x';
      target.body = `${body.slice(0, position)}${byte}${body.slice(position + 1)}`;

      // Act
      const result = verify(records);

      // Assess (collected, so one run names every miss)
      if (result.firstBad?.seq !== seq || result.firstBad.reason !== 'modified') {
        failures.push(`seq ${seq} byte ${position}: ${JSON.stringify(result.firstBad)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

/**
 * The verifier reads a format-2 body's frame (its leading `{"event":{`, the event's `tenant`
 * member and the trailing expiries and seq) instead of parsing it. Each case below re-hashes the
 * entry it changes, so its hash is right and only the frame check can find it, and changes the
 * last entry after the last digest, so no link or digest can find it either.
 */
describe('audit chain verifier: the frame of a format-2 body', () => {
  type Stored = Record<string, unknown> & { body: string; prevHash: string; hash: string; seq: number };
  const LAST = COUNT;
  const undigested = (): AuditDigest[] => digests.slice(0, -1);

  function rebuilt(edit: (content: Rec) => void): Rec[] {
    const records = asStoredRecords(entries) as Stored[];
    const last = records[LAST - 1];
    if (last === undefined) throw new Error('no last entry');
    const content = JSON.parse(last.body) as Rec;
    edit(content);
    last.body = canonicalJson(content);
    last.hash = hashOfStoredBytes(last.prevHash, last.body) ?? '';
    return records;
  }

  it('verifies the untouched chain and one whose last body was re-hashed unchanged', () => {
    // Act
    const untouched = verify(asStoredRecords(entries), undigested());
    const same = verify(
      rebuilt(() => {}),
      undigested(),
    );

    // Assess
    expect(untouched).toMatchObject({ ok: true, checked: COUNT });
    expect(same).toMatchObject({ ok: true, checked: COUNT });
  });

  const cases: [string, (content: Rec) => void][] = [
    ['an event of another tenant', (c) => void (c.event.tenant = 'other')],
    ['an event without a tenant', (c) => void delete c.event.tenant],
    [
      'another tenant named in free text, quotes and all',
      (c) => {
        c.event.tenant = 'other';
        c.event.reason = `x","tenant":"${TENANT}","time":"${String(c.event.time)}`;
      },
    ],
    ['a body seq other than the seq copy', (c) => void (c.seq += 1)],
    ['a body expiresAt other than its copy', (c) => void (c.expiresAt += 1)],
    ['a fractional prevExpiresAt', (c) => void (c.prevExpiresAt += 0.5)],
    ['a negative prevExpiresAt', (c) => void (c.prevExpiresAt = -1)],
    ['an extra member after seq', (c) => void (c.zeta = 1)],
    ['an extra member before the event', (c) => void (c.alpha = 1)],
    ['an event that is not an object', (c) => void (c.event = 'text')],
  ];

  it.each(cases)('reports %s at the exact seq', (_name, edit) => {
    // Prepare
    const records = rebuilt(edit);

    // Act
    const result = verify(records, undigested());

    // Assess
    expect(result.firstBad).toMatchObject({ seq: LAST, reason: 'modified' });
    expect(result.checked).toBe(LAST - 1);
  });

  it('reports a body padded with whitespace or reordered, though its hash is right', () => {
    // Prepare
    const padded = asStoredRecords(entries) as Stored[];
    const reordered = asStoredRecords(entries) as Stored[];
    for (const [records, rewrite] of [
      [padded, (body: string) => `${body} `],
      [
        reordered,
        (body: string) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(body)).reverse())),
      ],
    ] as const) {
      const last = records[LAST - 1];
      if (last === undefined) throw new Error('no last entry');
      last.body = rewrite(last.body);
      last.hash = hashOfStoredBytes(last.prevHash, last.body) ?? '';
    }

    // Act
    const results = [verify(padded, undigested()), verify(reordered, undigested())];

    // Assess
    for (const result of results) expect(result.firstBad).toMatchObject({ seq: LAST, reason: 'modified' });
  });

  it('reads integers of 1 to 15 digits in canonical form, and refuses a leading zero or a 16th digit', () => {
    // Prepare: the last body's integers rewritten as text (canonical JSON cannot write these),
    // its `expiresAt` copy kept equal, then re-hashed.
    const withText = (rewrite: (body: string) => string, expiresAt?: number) => {
      const records = asStoredRecords(entries) as Stored[];
      const last = records[LAST - 1];
      if (last === undefined) throw new Error('no last entry');
      last.body = rewrite(last.body);
      if (expiresAt !== undefined) last.expiresAt = expiresAt;
      last.hash = hashOfStoredBytes(last.prevHash, last.body) ?? '';
      return records;
    };
    const expiresAtAs = (digits: string) =>
      withText((body) => body.replace(/"expiresAt":\d+/, `"expiresAt":${digits}`), Number(digits));

    // Act
    const fifteen = verify(expiresAtAs('999999999999999'), undigested());
    const sixteen = verify(expiresAtAs('1000000000000000'), undigested());
    const oneDigit = verify(expiresAtAs('7'), undigested());
    const leadingZero = verify(
      withText((body) => body.replace(/"prevExpiresAt":(\d+)/, '"prevExpiresAt":0$1')),
      undigested(),
    );
    const zeroSeq = verify(
      withText((body) => body.replace(/"seq":(\d+)\}$/, '"seq":0$1}')),
      undigested(),
    );

    // Assess
    expect(fifteen).toMatchObject({ ok: true, checked: LAST });
    expect(oneDigit).toMatchObject({ ok: true, checked: LAST });
    for (const result of [sixteen, leadingZero, zeroSeq]) {
      expect(result.firstBad).toMatchObject({ seq: LAST, reason: 'modified' });
    }
  });

  it('verifies events with every optional field, a tenant-named hashed identifier and quotes in text', async () => {
    // Prepare: a chain whose events carry what the fixed-position tenant check does not expect.
    let head: ChainEntry | undefined;
    const chain: ChainEntry[] = [];
    for (let n = 1; n <= 20; n += 1) {
      const event = auditEvent(TENANT, n, {
        reason: `said "${TENANT}","tenant":"other" \\ ${n}`,
        correlationId: `corr-${n}`,
        target: {
          path: 'prod/db',
          versions: [1, 2],
          hashed: { tenant: `hmac-sha256:${'ab'.repeat(32)}` },
        },
      });
      head = nextChainEntry(head, event, expiryOf(event.time, 365));
      chain.push(head);
    }
    const other = auditEvent('other', 21);
    const foreign = nextChainEntry(head, other, expiryOf(other.time, 365));

    // Act
    const honest = verify(asStoredRecords(chain), []);
    const withForeign = verify(asStoredRecords([...chain, foreign]), []);

    // Assess
    expect(honest).toMatchObject({ ok: true, checked: 20 });
    expect(withForeign.firstBad).toMatchObject({ seq: 21, reason: 'modified' });
  });
});

/**
 * The verifier accepts an entry that continues the chain as it arrives and keeps a look-ahead
 * only after the first entry it cannot accept, to name that problem; it reads a body's frame from
 * its UTF-8 bytes as hashed. These cases would go wrong if either did: a problem named without
 * its look-ahead, entries accepted past a problem, byte positions taken for character positions.
 */
describe('audit chain verifier: judging entries as they arrive, frames read from bytes', () => {
  function verifyWith(records: readonly unknown[], window: number | undefined): VerificationResult {
    return verifyAuditChain(records, {
      tenant: TENANT,
      digests,
      publicKey: signer.publicKey,
      now: NOW,
      ...(window === undefined ? {} : { window }),
    });
  }

  const tamperings: [string, (records: Rec[], seq: number) => void, string][] = [
    [
      'modified',
      (records, seq) => {
        const entry = records[seq - 1] as Rec;
        entry.body = String(entry.body).replace('"outcome":"', '"outcome":"x');
      },
      'modified',
    ],
    ['missing', (records, seq) => void records.splice(seq - 1, 1), 'missing'],
    [
      'reordered',
      (records, seq) => {
        const [a, b] = [records[seq - 1], records[seq]];
        records[seq - 1] = b as Rec;
        records[seq] = a as Rec;
      },
      'reordered',
    ],
    [
      'inserted',
      (records, seq) => {
        const forged = structuredClone(records[seq - 1]) as Rec;
        forged.body = String(forged.body).replace('"outcome":"', '"outcome":"x');
        records.splice(seq - 1, 0, forged);
      },
      'inserted',
    ],
  ];
  // The first entry, around a digest's head, and the last ones (where the input ends before the
  // look-ahead is full).
  const places = [1, 2, 999, 1000, 1001, COUNT - 1];

  it.each(tamperings)(
    'names a %s entry at its seq with every look-ahead size, and accepts nothing after it',
    (_kind, tamper, reason) => {
      const failures: string[] = [];
      for (const window of [2, 3, undefined, 5_000]) {
        for (const seq of places) {
          // Prepare
          const records = asStoredRecords(entries) as Rec[];
          tamper(records, seq);

          // Act
          const result = verifyWith(records, window);

          // Assess (collected, so one run names every miss)
          const got = `${result.firstBad?.seq} ${result.firstBad?.reason} checked ${result.checked} last ${result.lastSeq}`;
          const lastGood = seq - 1 === 0 ? undefined : seq - 1;
          const expected = `${seq} ${reason} checked ${seq - 1} last ${lastGood}`;
          if (got !== expected) failures.push(`window ${window} seq ${seq}: ${got}, expected ${expected}`);
        }
      }
      expect(failures).toEqual([]);
    },
  );

  it('names a problem from at most its look-ahead: an entry moved past it reads as missing', () => {
    // Prepare: entry 2,500 moved four places later.
    const records = asStoredRecords(entries) as Rec[];
    const [moved] = records.splice(2_499, 1);
    records.splice(2_503, 0, moved as Rec);

    // Act
    const wide = verifyWith(records, undefined);
    const narrow = verifyWith(records, 2);

    // Assess
    expect(wide.firstBad).toMatchObject({ seq: 2_500, reason: 'reordered' });
    expect(narrow.firstBad).toMatchObject({ seq: 2_500, reason: 'missing' });
  });

  /** A chain of `count` events of `tenant`, each changed by `shape`, in the stored form. */
  function storedChain(tenant: string, count: number, shape: (n: number) => Partial<AuditEvent>): Rec[] {
    let head: ChainEntry | undefined;
    const chain: ChainEntry[] = [];
    for (let n = 1; n <= count; n += 1) {
      const event = auditEvent(tenant, n, shape(n));
      head = nextChainEntry(head, event, expiryOf(event.time, 365));
      chain.push(head);
    }
    return asStoredRecords(chain);
  }

  function verifyStored(records: readonly unknown[], tenant = TENANT): VerificationResult {
    return verifyAuditChain(records, { tenant, digests: [], publicKey: signer.publicKey, now: NOW });
  }

  function rehashed(records: Rec[], index: number, rewrite: (body: string) => string): Rec[] {
    const entry = records[index] as Rec;
    entry.body = rewrite(String(entry.body));
    entry.hash = hashOfStoredBytes(String(entry.prevHash), String(entry.body)) ?? '';
    return records;
  }

  it('reads the frame of bodies with multi-byte characters, and of a tenant written with them', () => {
    // Prepare: text of one to four UTF-8 bytes per character before the frame.
    const reason = (n: number) => `naïve ${'é'.repeat(n % 5)} — ${'🔑'.repeat(n % 3)} “${n}”`;
    const multiByte = storedChain(TENANT, 50, (n) => ({ reason: reason(n) }));
    const accented = storedChain('äcme-ü', 50, (n) => ({ reason: reason(n) }));
    const changed = storedChain(TENANT, 50, (n) => ({ reason: reason(n) }));
    const last = changed[49] as Rec;
    last.body = String(last.body).replace('🔑', '🔒');

    // Act
    const results = [verifyStored(multiByte), verifyStored(accented, 'äcme-ü'), verifyStored(changed)];
    const wrongTenant = verifyStored(accented, 'acme-u');

    // Assess
    expect(results[0]).toMatchObject({ ok: true, checked: 50 });
    expect(results[1]).toMatchObject({ ok: true, checked: 50 });
    expect(results[2]?.firstBad).toMatchObject({ seq: 50, reason: 'modified' });
    expect(wrongTenant.firstBad).toMatchObject({ seq: 1, reason: 'modified' });
  });

  it('finds the tenant by search after multi-byte text when the event does not end with it', () => {
    // Prepare: a member after `time`, or no `time` (the tenant ends the event), so the tenant is
    // not where today's events have it, and multi-byte text before it, so a character position
    // is not a byte position.
    const rewritten = (replacement: string) =>
      rehashed(
        storedChain(TENANT, 20, () => ({ reason: 'über 🔑' })),
        19,
        (body) => body.replace(/"tenant":"acme","time":"([^"]*)"\}/, replacement),
      );
    const laterMember = (tenant: string) => rewritten(`"tenant":"${tenant}","time":"$1","zeta":"ü🔑"}`);
    const tenantLast = (tenant: string) => rewritten(`"tenant":"${tenant}"}`);

    // Act
    const results = [laterMember(TENANT), tenantLast(TENANT)].map((records) => verifyStored(records));
    const others = [laterMember('other'), tenantLast('other')].map((records) => verifyStored(records));

    // Assess
    for (const result of results) expect(result).toMatchObject({ ok: true, checked: 20 });
    for (const result of others) expect(result.firstBad).toMatchObject({ seq: 20, reason: 'modified' });
  });

  it('does not take a tenant member for the event’s when the time holds quotes, at any byte offset', () => {
    // Prepare: the 24 characters of the last event's time replaced by text that holds a quoted
    // `,"tenant":"acme"` at offsets 0..8: right before it stands the real tenant member, but the
    // text after the time is not plain, so the tenant is searched for and the last one found is
    // not a member. Re-hashed and after the last digest, so only the frame check can refuse it.
    const failures: string[] = [];
    for (let offset = 0; offset <= 8; offset += 1) {
      const fake = `${'x'.repeat(offset)},"tenant":"acme"${'y'.repeat(8 - offset)}`;
      const records = rehashed(
        storedChain(TENANT, 10, () => ({})),
        9,
        (body) => body.replace(/"time":"[^"]{24}"\}/, `"time":"${fake}"}`),
      );
      if (String((records[9] as Rec).body).indexOf(fake) < 0) throw new Error('the time was not replaced');

      // Act
      const result = verifyStored(records);

      // Assess
      if (result.firstBad?.seq !== 10 || result.firstBad.reason !== 'modified') {
        failures.push(`offset ${offset}: ${JSON.stringify(result.firstBad)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('verifies bodies too large for the reused buffer, and bodies of over a thousand lengths', () => {
    // Prepare: 17,000-character reasons (hashed through a buffer of their own), then 1,200 distinct
    // body lengths (more than the verifier keeps views of).
    const large = storedChain(TENANT, 5, (n) => ({ reason: `${'é'.repeat(n)}${'r'.repeat(17_000)}` }));
    const changedLarge = storedChain(TENANT, 5, (n) => ({ reason: `${'é'.repeat(n)}${'r'.repeat(17_000)}` }));
    const third = changedLarge[2] as Rec;
    third.body = String(third.body).replace('rrr', 'rsr');
    const lengths = storedChain(TENANT, 1_200, (n) => ({ reason: 'l'.repeat(4 * n) }));
    const changedLengths = storedChain(TENANT, 1_200, (n) => ({ reason: 'l'.repeat(4 * n) }));
    const entry = changedLengths[1_149] as Rec;
    entry.body = String(entry.body).replace('lll', 'lml');

    // Act, Assess
    expect(verifyStored(large)).toMatchObject({ ok: true, checked: 5 });
    expect(verifyStored(changedLarge).firstBad).toMatchObject({ seq: 3, reason: 'modified' });
    expect(verifyStored(lengths)).toMatchObject({ ok: true, checked: 1_200 });
    expect(verifyStored(changedLengths).firstBad).toMatchObject({ seq: 1_150, reason: 'modified' });
  });
});

/**
 * Every sequencer writes `prevExpiresAt` as the expiry of the entry before (0 at the start), and
 * expiries never decrease. The verifier holds entries to that, so a chain whose tail was forged
 * with fresh hashes (beyond the last digest, where no signature covers it) cannot pass a deletion
 * of unexpired entries off as expiry, nor move an expiry link.
 */
describe('audit chain verifier: expiry links', () => {
  const DAY = 86_400;

  /** An honest chain of `count` entries, one second apart, kept a year. */
  function chainOf(count: number, from?: ChainEntry): ChainEntry[] {
    const chain: ChainEntry[] = [];
    let head = from;
    const first = (from?.seq ?? 0) + 1;
    for (let n = first; n < first + count; n += 1) {
      const event = auditEvent(TENANT, n);
      head = nextChainEntry(head, event, expiryOf(event.time, 365));
      chain.push(head);
    }
    return chain;
  }

  it('refuses a gap of unexpired entries forged to look expired, as missing entries', () => {
    // Prepare: entries 1..10 honest; 11..14 deleted; 15.. rebuilt on a made-up predecessor that
    // claims to have expired (prevExpiresAt in the past), with fresh hashes, and no digest.
    const honest = chainOf(10);
    const last = honest.at(-1) as ChainEntry;
    const now = last.expiresAt - 30 * DAY;
    const madeUp = { ...last, seq: 14, hash: 'f'.repeat(64), expiresAt: now - DAY };
    const forged = chainOf(6, madeUp);

    // Act
    const result = verify(asStoredRecords([...honest, ...forged]), [], now);
    const withoutGap = verify(asStoredRecords(chainOf(16)), [], now);

    // Assess
    expect(forged[0]).toMatchObject({ seq: 15, prevExpiresAt: now - DAY });
    expect(withoutGap).toMatchObject({ ok: true, checked: 16 });
    expect(result.firstBad).toMatchObject({ seq: 11, reason: 'missing' });
    expect(result.checked).toBe(10);
  });

  it('still accepts a gap whose entries really expired (their successor names an expiry in the past)', () => {
    // Prepare: 20 honest entries; at `now` the first 12 have expired and 5..9 are gone.
    const honest = chainOf(20);
    const now = (honest[11] as ChainEntry).expiresAt;
    const records = asStoredRecords(honest);
    records.splice(4, 5);

    // Act
    const result = verify(records, [], now);

    // Assess
    expect(result).toMatchObject({ ok: true, checked: 15 });
  });

  it('reports an entry whose prevExpiresAt is not its predecessor expiry as modified, naming the expiry', () => {
    // Prepare: entry 6 re-made with an earlier prevExpiresAt (and the chain after it re-hashed).
    const honest = chainOf(5);
    const fifth = honest.at(-1) as ChainEntry;
    const moved = chainOf(5, { ...fifth, expiresAt: fifth.expiresAt - 1 });

    // Act
    const result = verify(asStoredRecords([...honest, ...moved]), []);

    // Assess
    expect(moved[0]).toMatchObject({ seq: 6, prevHash: fifth.hash, prevExpiresAt: fifth.expiresAt - 1 });
    expect(result.firstBad).toMatchObject({ seq: 6, reason: 'modified' });
    expect(result.firstBad?.detail).toContain('prevExpiresAt');
    expect(result.checked).toBe(5);
  });
});
