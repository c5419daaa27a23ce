/**
 * Format-2 digests (ADR 0004, "Digests"): each names the hash of its predecessor's whole record,
 * so the verifier checks one signature per run of linked digests. Its verdict must be exactly the
 * one of the verifier before format 2, which checked every signature: the oracle
 * (test/support/audit-digest-oracle.ts). Named tests for each tampering, for a format-1 chain and
 * for a chain that changes format, then many random tamperings from a seeded PRNG.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChainEntry } from '../../lambdas/core/audit/audit-chain.js';
import {
  type AuditDigest,
  DIGEST_FORMAT,
  DIGEST_FORMAT_1,
  digestHash,
  verifyDigestSignature,
} from '../../lambdas/core/audit/audit-digest.js';
import {
  type ChainVerifierOptions,
  type VerificationResult,
  verifyAuditChain,
} from '../../lambdas/core/audit/chain-verifier.js';
import { asStoredRecords, buildChain, ed25519Signer } from '../support/audit-chain.js';
import { oracleVerify } from '../support/audit-digest-oracle.js';
import { seededRandom } from '../support/seeded-random.js';

const TENANT = 'acme';
const COUNT = 240;
const EVERY = 12;
/** 20 digests of 12 entries each: digest `i` covers `12 i + 1 .. 12 (i + 1)`. */
const DIGESTS = COUNT / EVERY;
const LEGACY = 8;
const signer = ed25519Signer();
/** Before any entry expires (entries live one day, one second apart from 2025-03-01). */
const NOW = Math.floor(Date.UTC(2025, 2, 1) / 1000) + 3_600;

type Rec = Record<string, unknown>;

interface Chain {
  readonly entries: ChainEntry[];
  readonly digests: AuditDigest[];
}

let format2: Chain;
let legacy: Chain;
let mixed: Chain;
/** Another chain of the same tenant and key (a fork): its digests are validly signed. */
let fork: Chain;
let otherTenant: Chain;

const build = (options: { tenant?: string; legacyDigests?: number } = {}) =>
  buildChain({
    tenant: options.tenant ?? TENANT,
    count: COUNT,
    digestEvery: EVERY,
    signer,
    retentionDays: 1,
    legacyDigests: options.legacyDigests ?? 0,
  });

beforeAll(async () => {
  format2 = await build();
  legacy = await build({ legacyDigests: DIGESTS });
  mixed = await build({ legacyDigests: LEGACY });
  fork = await build();
  otherTenant = await build({ tenant: 'globex' });
});

const copies = (digests: readonly AuditDigest[]): Rec[] => digests.map((digest) => ({ ...digest }));
const fromSeqOf = (index: number) => index * EVERY + 1;

function options(digests: readonly unknown[], overrides: Partial<ChainVerifierOptions> = {}) {
  return { tenant: TENANT, digests, publicKey: signer.publicKey, now: NOW, ...overrides };
}

/** The verdict, compared in full (detail included) with the oracle's. */
function verifyAsOracle(
  entries: readonly unknown[],
  digests: readonly unknown[],
  overrides: Partial<ChainVerifierOptions> = {},
  label = '',
): VerificationResult {
  const actual = verifyAuditChain(entries, options(digests, overrides));
  const expected = oracleVerify(entries, options(digests, overrides));
  const { ok, checked, firstBad, digestsVerified, firstSeq, lastSeq } = expected;
  expect(actual, label).toMatchObject({ ok, checked, firstBad, digestsVerified, firstSeq, lastSeq });
  return actual;
}

function flipHex(hex: string): string {
  return `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
}

function flipSignature(signature: string): string {
  const bytes = Buffer.from(signature, 'base64');
  bytes[10] = (bytes[10] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

/**
 * The same signature bytes spelled otherwise: the last base64 digit before `==` carries 4 bits
 * of data and 2 unused ones, set here (decoders ignore them).
 */
function respellSignature(signature: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const at = signature.length - 3;
  const digit = alphabet.indexOf(signature[at] ?? 'A');
  return `${signature.slice(0, at)}${alphabet[digit | 0b11]}${signature.slice(at + 1)}`;
}

describe('format-2 digests', () => {
  it('are what the chain builder and the digest service write, and name their predecessor', () => {
    // Prepare
    const [first, second] = format2.digests as [AuditDigest, AuditDigest];

    // Act
    const result = verifyAsOracle(asStoredRecords(format2.entries), format2.digests);

    // Assess
    expect(first).toMatchObject({ format: DIGEST_FORMAT, prevDigestHash: '', prevSignature: '' });
    expect(second).toMatchObject({ format: DIGEST_FORMAT, prevDigestHash: digestHash(first) });
    expect(result).toMatchObject({ ok: true, checked: COUNT, digestsVerified: DIGESTS });
    expect(result.digestSignaturesChecked).toBe(1);
  });

  it('hash the whole record: every field and the signature as spelled', () => {
    // Prepare
    const digest = format2.digests[4] as AuditDigest;
    const edits: Rec[] = [
      { toSeq: digest.toSeq + 1 },
      { headHash: flipHex(digest.headHash) },
      { expiresAt: digest.expiresAt + 1 },
      { prevExpiresAt: digest.prevExpiresAt + 1 },
      { prevSignature: flipSignature(digest.prevSignature) },
      { prevDigestHash: flipHex(digest.format === DIGEST_FORMAT ? digest.prevDigestHash : '') },
      { tenant: 'globex' },
      { format: DIGEST_FORMAT_1 },
      { createdAt: '2025-03-01T00:00:00.001Z' },
      { keyFingerprint: flipHex(digest.keyFingerprint) },
      { signature: flipSignature(digest.signature) },
      { signature: respellSignature(digest.signature) },
    ];

    // Act
    const hashes = edits.map((edit) => digestHash({ ...digest, ...edit }));

    // Assess
    expect(new Set([digestHash(digest), ...hashes]).size).toBe(edits.length + 1);
    // A record from a store may carry its keys too; they are not the digest's.
    expect(digestHash({ ...digest, pk: 'acme#digests', sk: '1' } as unknown as AuditDigest)).toBe(
      digestHash(digest),
    );
  });

  describe('a digest in the middle of a format-2 chain, altered', () => {
    const middle = 9;
    const edits: [string, (digest: Rec) => void, string][] = [
      ['toSeq', (digest) => (digest.toSeq = Number(digest.toSeq) - 1), 'does not verify'],
      ['headHash', (digest) => (digest.headHash = flipHex(String(digest.headHash))), 'does not verify'],
      ['expiresAt', (digest) => (digest.expiresAt = Number(digest.expiresAt) + 60), 'does not verify'],
      ['prevExpiresAt', (digest) => (digest.prevExpiresAt = 0), 'does not verify'],
      [
        'prevSignature',
        (digest) => (digest.prevSignature = flipSignature(String(digest.prevSignature))),
        'does not verify',
      ],
      [
        'prevDigestHash',
        (digest) => (digest.prevDigestHash = flipHex(String(digest.prevDigestHash))),
        'does not verify',
      ],
      ['tenant', (digest) => (digest.tenant = 'globex'), "is not one of this tenant's"],
      ['format (kept its prevDigestHash)', (digest) => (digest.format = DIGEST_FORMAT_1), 'malformed'],
      [
        'format (as a format-1 record)',
        (digest) => {
          digest.format = DIGEST_FORMAT_1;
          delete digest.prevDigestHash;
        },
        'does not verify',
      ],
      [
        'signature bytes',
        (digest) => (digest.signature = flipSignature(String(digest.signature))),
        'does not verify',
      ],
      [
        'signature spelling (same bytes)',
        (digest) => (digest.signature = respellSignature(String(digest.signature))),
        'does not verify',
      ],
    ];

    it.each(edits)('%s: a bad signature at its fromSeq, as before', (_field, edit, detail) => {
      // Prepare
      const digests = copies(format2.digests);
      edit(digests[middle] as Rec);

      // Act
      const result = verifyAsOracle(asStoredRecords(format2.entries), digests);

      // Assess
      expect(result.firstBad).toMatchObject({ seq: fromSeqOf(middle), reason: 'bad-signature' });
      expect(result.firstBad?.detail).toContain(detail);
    });
  });

  it('reports altered content whose successor was made to name its new hash at the altered one', () => {
    // Prepare: the successor's link now matches, but the successor's own signature no longer does.
    const digests = copies(format2.digests);
    const altered = digests[9] as Rec;
    altered.headHash = flipHex(String(altered.headHash));
    (digests[10] as Rec).prevDigestHash = digestHash(altered as AuditDigest);

    // Act
    const result = verifyAsOracle(asStoredRecords(format2.entries), digests);

    // Assess
    expect(result.firstBad).toMatchObject({ seq: fromSeqOf(9), reason: 'bad-signature' });
    expect(result.firstBad?.detail).toContain('does not verify');
  });

  it('reports a deleted, a duplicated and another tenant’s digest as before; input order does not matter', () => {
    // Prepare
    const deleted = copies(format2.digests).filter((_digest, index) => index !== 9);
    const duplicated = copies(format2.digests);
    duplicated.splice(14, 0, { ...(format2.digests[6] as AuditDigest) });
    const foreign = copies(format2.digests);
    foreign[9] = { ...(otherTenant.digests[9] as AuditDigest) };
    const reordered = copies(format2.digests).reverse();
    const swapped = copies(format2.digests);
    [swapped[3], swapped[12]] = [swapped[12] as Rec, swapped[3] as Rec];
    const entries = asStoredRecords(format2.entries);

    // Act, Assess
    expect(verifyAsOracle(entries, deleted).firstBad).toMatchObject({
      seq: fromSeqOf(9),
      reason: 'bad-signature',
      detail: `The digest chain is broken before seq ${fromSeqOf(10)}: a digest is missing or replaced`,
    });
    expect(verifyAsOracle(entries, duplicated).firstBad).toMatchObject({ reason: 'bad-signature' });
    expect(verifyAsOracle(entries, foreign).firstBad).toMatchObject({
      seq: fromSeqOf(9),
      reason: 'bad-signature',
      detail: `The digest from seq ${fromSeqOf(9)} is not one of this tenant's`,
    });
    expect(verifyAsOracle(entries, reordered)).toMatchObject({ ok: true, digestsVerified: DIGESTS });
    expect(verifyAsOracle(entries, swapped)).toMatchObject({ ok: true, digestsVerified: DIGESTS });
  });

  it('reports a digest replaced by a validly signed one of a fork as a broken digest chain', () => {
    // Prepare: the fork's digest verifies on its own, but its successor here names another hash.
    const digests = copies(format2.digests);
    digests[9] = { ...(fork.digests[9] as AuditDigest) };
    const replaced = fork.digests[9] as AuditDigest;

    // Act
    const result = verifyAsOracle(asStoredRecords(format2.entries), digests);

    // Assess
    expect(verifyDigestSignature(replaced, signer.publicKey)).toBe(true);
    expect(result.firstBad).toMatchObject({
      seq: fromSeqOf(9),
      reason: 'bad-signature',
      detail: `The digest of seq ${fromSeqOf(9)}..${fromSeqOf(10) - 1} does not sign its predecessor's signature`,
    });
  });

  it('counts the digests before a problem as verified, each authenticated', () => {
    // Prepare: digest 15's signature broken; digests 0..14 are vouched for by 14's own check.
    const digests = copies(format2.digests);
    (digests[15] as Rec).signature = flipSignature(String((digests[15] as Rec).signature));

    // Act
    const result = verifyAsOracle(asStoredRecords(format2.entries), digests);

    // Assess: 19 (newest), 18, 17, 16 vouched by 17... down to 16; 15 fails; 14 checked, 0..13 vouched.
    expect(result).toMatchObject({ ok: false, digestsVerified: 15 });
    expect(result.digestSignaturesChecked).toBe(3);
  });

  it('without a key, or with another key, verifies no digest, as before', () => {
    const entries = asStoredRecords(format2.entries);
    const none = verifyAsOracle(entries, format2.digests, { publicKey: undefined });
    const other = verifyAsOracle(entries, format2.digests, {
      publicKey: generateKeyPairSync('ed25519').publicKey,
    });
    expect(none).toMatchObject({ ok: false, digestsVerified: 0, digestSignaturesChecked: 0 });
    expect(other.firstBad).toMatchObject({ seq: 1, reason: 'bad-signature' });
    expect(other.digestSignaturesChecked).toBe(DIGESTS);
  });

  it('verifies a partial export and a chain whose oldest digests expired', () => {
    // Prepare: from digest 5 on (its first entry anchors); and at the expiry of entry 72, with
    // entries and digests up to it gone by TTL.
    const anchor = fromSeqOf(5);
    const partialEntries = asStoredRecords(format2.entries).slice(anchor - 1);
    const partialDigests = format2.digests.filter((digest) => digest.toSeq >= anchor);
    const now = (format2.entries[71] as ChainEntry).expiresAt;
    const liveEntries = asStoredRecords(format2.entries).slice(72);
    const liveDigests = format2.digests.filter((digest) => digest.expiresAt > now);

    // Act
    const partial = verifyAsOracle(partialEntries, partialDigests, { anchorSeq: anchor });
    const expired = verifyAsOracle(liveEntries, liveDigests, { now });

    // Assess
    expect(partial).toMatchObject({ ok: true, digestsVerified: DIGESTS - 5, digestSignaturesChecked: 1 });
    expect(expired).toMatchObject({ ok: true, digestsVerified: DIGESTS - 6, digestSignaturesChecked: 1 });
  });
});

describe('format-1 digests (signed before format 2)', () => {
  it('still verify, each by its own signature', () => {
    const result = verifyAsOracle(asStoredRecords(legacy.entries), legacy.digests);
    expect(legacy.digests.every((digest) => digest.format === DIGEST_FORMAT_1)).toBe(true);
    expect(result).toMatchObject({ ok: true, digestsVerified: DIGESTS, digestSignaturesChecked: DIGESTS });
  });

  it('altered, deleted or replaced, are reported as before', () => {
    const entries = asStoredRecords(legacy.entries);
    const altered = copies(legacy.digests);
    (altered[9] as Rec).headHash = flipHex(String((altered[9] as Rec).headHash));
    const deleted = copies(legacy.digests).filter((_digest, index) => index !== 9);
    const signature = copies(legacy.digests);
    (signature[9] as Rec).signature = flipSignature(String((signature[9] as Rec).signature));

    for (const digests of [altered, deleted, signature]) {
      expect(verifyAsOracle(entries, digests).firstBad).toMatchObject({
        seq: fromSeqOf(9),
        reason: 'bad-signature',
      });
    }
  });
});

describe('a chain whose digests change from format 1 to format 2', () => {
  it('verifies, the last format-1 digest vouched for by the first format-2 one', () => {
    const result = verifyAsOracle(asStoredRecords(mixed.entries), mixed.digests);
    expect(mixed.digests[LEGACY - 1]?.format).toBe(DIGEST_FORMAT_1);
    expect(mixed.digests[LEGACY]).toMatchObject({
      format: DIGEST_FORMAT,
      prevDigestHash: digestHash(mixed.digests[LEGACY - 1] as AuditDigest),
    });
    // The newest, then the format-1 digests but the last.
    expect(result).toMatchObject({ ok: true, digestsVerified: DIGESTS, digestSignaturesChecked: LEGACY });
  });

  it.each([
    ['the last format-1 digest', LEGACY - 1],
    ['the first format-2 digest', LEGACY],
    ['a format-1 digest', 2],
    ['a format-2 digest', 15],
  ])('reports %s altered at its fromSeq', (_name, index) => {
    // Prepare
    const headHash = copies(mixed.digests);
    (headHash[index] as Rec).headHash = flipHex(String((headHash[index] as Rec).headHash));
    const signature = copies(mixed.digests);
    (signature[index] as Rec).signature = flipSignature(String((signature[index] as Rec).signature));
    const deleted = copies(mixed.digests).filter((_digest, at) => at !== index);
    const entries = asStoredRecords(mixed.entries);

    // Act, Assess
    for (const digests of [headHash, signature, deleted]) {
      expect(verifyAsOracle(entries, digests).firstBad).toMatchObject({
        seq: fromSeqOf(index),
        reason: 'bad-signature',
      });
    }
  });
});

describe('random tamperings of the digests (seeded)', () => {
  const SEED = 0x13_0d_16;
  const ROUNDS = 500;

  it(`answer as the verifier before format 2 did, in ${ROUNDS} rounds`, () => {
    const random = seededRandom(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const index = (digests: readonly unknown[]) => Math.floor(random() * digests.length);
    const seen = new Map<string, number>();
    let checkedByOracle = 0;
    let checkedNow = 0;

    const fieldEdits: ((digest: Rec, all: Rec[]) => void)[] = [
      (digest) => (digest.toSeq = Number(digest.toSeq) + pick([-1, 1])),
      (digest) => (digest.fromSeq = Number(digest.fromSeq) + pick([-1, 1])),
      (digest, all) => (digest.headHash = pick([flipHex(String(digest.headHash)), pick(all).headHash])),
      (digest) => (digest.expiresAt = pick([0, Number(digest.expiresAt) + 1])),
      (digest) => (digest.prevExpiresAt = pick([0, Number(digest.prevExpiresAt) + 1, NOW + 10])),
      (digest, all) =>
        (digest.prevSignature = pick(['', pick(all).signature, flipSignature(String(digest.signature))])),
      (digest, all) =>
        (digest.prevDigestHash = pick([
          '',
          pick(all).prevDigestHash,
          flipHex(typeof digest.prevDigestHash === 'string' ? digest.prevDigestHash : '0'),
        ])),
      (digest) => (digest.tenant = 'globex'),
      (digest) => {
        digest.format = digest.format === DIGEST_FORMAT ? DIGEST_FORMAT_1 : DIGEST_FORMAT;
        if (random() < 0.5) delete digest.prevDigestHash;
        else digest.prevDigestHash ??= '';
      },
      (digest) => (digest.createdAt = '2025-03-01T00:00:00.001Z'),
      (digest) => (digest.algorithm = 'ECDSA_SHA_256'),
      (digest) => (digest.signature = flipSignature(String(digest.signature))),
      (digest) => (digest.signature = respellSignature(String(digest.signature))),
      (digest, all) => (digest.signature = pick(all).signature),
      (digest) => (digest.extra = 1),
    ];
    const tamperings: ((digests: Rec[]) => void)[] = [
      (digests) => {
        const edit = pick(fieldEdits);
        const at = index(digests);
        if (digests[at] !== undefined) edit(digests[at], digests);
      },
      (digests) => void digests.splice(index(digests), 1),
      (digests) => digests.splice(index(digests), 0, { ...pick(digests) }),
      (digests) => {
        const [a, b] = [index(digests), index(digests)];
        [digests[a], digests[b]] = [digests[b] as Rec, digests[a] as Rec];
      },
      (digests) => void digests.reverse(),
      (digests) => (digests[index(digests)] = { ...pick(fork.digests) }),
      (digests) => (digests[index(digests)] = { ...pick(otherTenant.digests) }),
      // Altered, and the successor made to name the altered record's hash.
      (digests) => {
        const at = index(digests);
        const digest = digests[at];
        if (digest === undefined) return;
        pick(fieldEdits)(digest, digests);
        const successor = digests[at + 1];
        if (successor !== undefined && successor.format === DIGEST_FORMAT) {
          successor.prevDigestHash = digestHash(digest as AuditDigest);
        }
      },
    ];

    for (let round = 0; round < ROUNDS; round += 1) {
      const chain = pick([format2, format2, mixed, legacy]);
      let entries: Rec[] = asStoredRecords(chain.entries);
      let digests = copies(chain.digests);
      let overrides: Partial<ChainVerifierOptions> = {};
      const setting = pick(['whole', 'whole', 'whole', 'partial', 'expired', 'no key', 'truncated']);
      if (setting === 'partial') {
        const anchor = fromSeqOf(1 + Math.floor(random() * (DIGESTS - 1)));
        entries = entries.slice(anchor - 1);
        digests = digests.filter((digest) => Number(digest.toSeq) >= anchor);
        overrides = { anchorSeq: anchor };
      } else if (setting === 'expired') {
        const gone = 1 + Math.floor(random() * (COUNT / 2));
        const now = (chain.entries[gone - 1] as ChainEntry).expiresAt;
        entries = entries.slice(gone);
        if (random() < 0.5) digests = digests.filter((digest) => Number(digest.expiresAt) > now);
        overrides = { now };
      } else if (setting === 'no key') {
        overrides = { publicKey: pick([undefined, generateKeyPairSync('ed25519').publicKey]) };
      } else if (setting === 'truncated') {
        entries = entries.slice(0, 1 + Math.floor(random() * (COUNT - 1)));
      }
      const count = Math.floor(random() * 4);
      const applied: number[] = [];
      for (let n = 0; n < count; n += 1) {
        const tampering = Math.floor(random() * tamperings.length);
        applied.push(tampering);
        tamperings[tampering]?.(digests);
      }

      const label = `round ${round} (seed ${SEED}): ${setting}, tamperings ${applied.join(',')}`;
      const result = verifyAsOracle(entries, digests, overrides, label);
      const oracle = oracleVerify(entries, options(digests, overrides));
      checkedByOracle += oracle.oracleSignaturesChecked;
      checkedNow += result.digestSignaturesChecked;
      const verdict = result.firstBad === null ? 'ok' : result.firstBad.reason;
      seen.set(verdict, (seen.get(verdict) ?? 0) + 1);
    }

    // Assess that the rounds covered intact chains, bad digests and entry problems alike, and
    // that the signatures skipped were many.
    expect(seen.get('ok')).toBeGreaterThan(20);
    expect(seen.get('bad-signature')).toBeGreaterThan(100);
    expect(seen.get('truncated')).toBeGreaterThan(5);
    expect(checkedNow).toBeLessThan(checkedByOracle / 2);
  });
});
