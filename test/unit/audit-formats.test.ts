/**
 * The byte-level formats of the audit chain: canonical JSON (RFC 8785), the entry hash, the NDJSON
 * export and its offline verification, CSV cells, and the per-tenant HMAC of identifiers.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { chainEntryHash, GENESIS_HASH } from '../../lambdas/core/audit/audit-chain.js';
import { AuditEventSchema } from '../../lambdas/core/audit/audit-event.js';
import {
  AuditExportFormatError,
  csvCell,
  csvEntryLine,
  digestLine,
  entryLine,
  EXPORT_FORMAT,
  ndjsonLine,
  verifyAuditExport,
} from '../../lambdas/core/audit/audit-export.js';
import { CanonicalJsonError, canonicalJson } from '../../lambdas/core/audit/canonical-json.js';
import {
  AuditIdentifierHasher,
  type TenantKeyStore,
  type WrappedTenantKey,
} from '../../lambdas/core/audit/identifier-hasher.js';
import { asRecords, auditEvent, buildChain, ed25519Signer } from '../support/audit-chain.js';

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units, drops whitespace and writes ECMAScript numbers and strings', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -0 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"c":{"y":0,"z":0}}',
    );
    // RFC 8785 section 3.2.3: sorting by UTF-16 code units, not code points.
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, '\u00f6': 5 })).toBe(
      '{"\\r":2,"1":4,"ö":5,"€":1,"😀":3}',
    );
    expect(canonicalJson([1e21, 1e-7, 333333333.3333333, 0.1])).toBe('[1e+21,1e-7,333333333.3333333,0.1]');
    expect(canonicalJson('\u2028\u0007"\\')).toBe('"\u2028\\u0007\\"\\\\"');
    expect(canonicalJson({ absent: undefined, present: 1 })).toBe('{"present":1}');
  });

  it('writes the same text whether the native writer can be used or not', () => {
    // Array-index keys (which the native writer puts first) and `__proto__` take the other path.
    expect(canonicalJson({ b: { '10': 1, '9': 2, a: 3 }, a: [{ d: 1, c: 2 }] })).toBe(
      '{"a":[{"c":2,"d":1}],"b":{"10":1,"9":2,"a":3}}',
    );
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"y":1,"x":[2]}}'))).toBe(
      '{"__proto__":{"x":[2],"y":1},"b":1}',
    );
    expect(canonicalJson({ b: [{ z: 'é', y: null }], a: { c: -0, toJSON: 'kept' } })).toBe(
      '{"a":{"c":0,"toJSON":"kept"},"b":[{"y":null,"z":"é"}]}',
    );
    expect(() => canonicalJson({ a: { b: () => 1 } })).toThrow(CanonicalJsonError);
  });

  it('refuses what JSON cannot say one way', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ a: Infinity })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson([undefined])).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(new Date(0))).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(1n)).toThrow(CanonicalJsonError);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i += 1) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/deeper/);
  });

  it('hashes an entry as SHA-256 of the previous hash bytes and the canonical content', () => {
    const event = auditEvent('acme', 1);
    const content = { seq: 1, prevHash: GENESIS_HASH, expiresAt: 10, prevExpiresAt: 0, event };
    const expected = createHash('sha256')
      .update(Buffer.alloc(32))
      .update(canonicalJson({ event, expiresAt: 10, prevExpiresAt: 0, seq: 1 }))
      .digest('hex');
    expect(chainEntryHash(content)).toBe(expected);
    expect(() => chainEntryHash({ ...content, prevHash: 'nope' })).toThrow(RangeError);
  });
});

describe('NDJSON export', () => {
  async function exportLines(
    legacyDigests = 0,
  ): Promise<{ lines: string[]; signer: ReturnType<typeof ed25519Signer> }> {
    const signer = ed25519Signer();
    const { entries, digests } = await buildChain({
      tenant: 'acme',
      count: 40,
      digestEvery: 10,
      signer,
      legacyDigests,
    });
    const pem = await signer.publicKeyPem();
    const lines = [
      ndjsonLine({
        type: 'header',
        format: EXPORT_FORMAT,
        tenant: 'acme',
        exportedAt: '2025-03-02T00:00:00.000Z',
        fromSeq: null,
        toSeq: null,
        hash: 'described',
        signatureAlgorithm: 'ED25519',
        publicKey: pem,
        keyFingerprint: 'f',
      }),
    ];
    asRecords(entries).forEach((entry, i) => {
      lines.push(entryLine(entry));
      const digest = digests.find((each) => each.toSeq === i + 1);
      if (digest !== undefined) lines.push(digestLine(digest));
    });
    return { lines: lines.map((line) => line.trimEnd()), signer };
  }

  const now = Math.floor(Date.UTC(2025, 2, 3) / 1000);

  it('verifies with the key inside the export or a given one, and tells which', async () => {
    const { lines, signer } = await exportLines();
    const embedded = await verifyAuditExport(() => lines, { now });
    const given = await verifyAuditExport(() => lines, { now, publicKey: signer.publicKey });
    expect(embedded).toMatchObject({ ok: true, checked: 40, digestsVerified: 4, keyFromExport: true });
    expect(given).toMatchObject({ ok: true, keyFromExport: false });
    const other = ed25519Signer();
    expect(
      (await verifyAuditExport(() => lines, { now, publicKey: other.publicKey })).firstBad,
    ).toMatchObject({
      seq: 1,
      reason: 'bad-signature',
    });
  });

  it('finds a deleted line, an unreadable line and a dropped digest', async () => {
    const { lines } = await exportLines();
    const entryOf = (seq: number) => lines.findIndex((line) => line.includes(`"type":"entry","seq":${seq},`));
    const deleted = lines.filter((_line, i) => i !== entryOf(17));
    expect((await verifyAuditExport(() => deleted, { now })).firstBad).toMatchObject({
      seq: 17,
      reason: 'missing',
    });
    const garbled = lines.map((line, i) => (i === entryOf(23) ? line.slice(0, 40) : line));
    expect((await verifyAuditExport(() => garbled, { now })).firstBad).toMatchObject({
      seq: 23,
      reason: 'modified',
    });
    const noDigest = lines.filter((line) => !line.includes('"toSeq":20,'));
    expect((await verifyAuditExport(() => noDigest, { now })).firstBad).toMatchObject({
      seq: 11,
      reason: 'bad-signature',
    });
    // The last entry cut off, its digest (the file's last line) kept.
    const truncated = lines.filter((_line, i) => i !== entryOf(40));
    expect((await verifyAuditExport(() => truncated, { now })).firstBad).toMatchObject({
      seq: 40,
      reason: 'truncated',
    });
  });

  it('carries format-2 digests and verifies them after format-1 ones, one signature per run', async () => {
    // Prepare: two format-1 digests, then two format-2 ones.
    const { lines, signer } = await exportLines(2);
    const digestLines = lines.filter((line) => line.startsWith('{"type":"digest"'));
    const third = digestLines[2] ?? '';
    const altered = lines.map((line) => (line === third ? line.replace('"toSeq":30,', '"toSeq":29,') : line));
    const fourth = digestLines[3] ?? '';
    const unlinked = lines.map((line) =>
      line === fourth
        ? line.replace(/"prevDigestHash":"[0-9a-f]{64}"/, `"prevDigestHash":"${'0'.repeat(64)}"`)
        : line,
    );

    // Act
    const intact = await verifyAuditExport(() => lines, { now, publicKey: signer.publicKey });
    const alteredResult = await verifyAuditExport(() => altered, { now, publicKey: signer.publicKey });
    const unlinkedResult = await verifyAuditExport(() => unlinked, { now, publicKey: signer.publicKey });

    // Assess
    expect(digestLines.map((line) => (JSON.parse(line) as { format: string }).format)).toEqual([
      'vaultpilot.audit-digest/1',
      'vaultpilot.audit-digest/1',
      'vaultpilot.audit-digest/2',
      'vaultpilot.audit-digest/2',
    ]);
    expect(third).toMatch(/"prevDigestHash":"[0-9a-f]{64}"/);
    // The newest, then the first format-1 digest (the second is vouched for by the third).
    expect(intact).toMatchObject({ ok: true, checked: 40, digestsVerified: 4, digestSignaturesChecked: 2 });
    expect(alteredResult.firstBad).toMatchObject({ seq: 21, reason: 'bad-signature' });
    expect(unlinkedResult.firstBad).toMatchObject({ seq: 31, reason: 'bad-signature' });
  });

  it('refuses a file that is not an export', async () => {
    await expect(verifyAuditExport(() => ['{"hello":1}'], { now })).rejects.toBeInstanceOf(
      AuditExportFormatError,
    );
    const { lines } = await exportLines();
    await expect(verifyAuditExport(() => [lines[0] ?? '', ...lines], { now })).rejects.toThrow(
      /more than one header/,
    );
  });
});

describe('CSV export', () => {
  it('quotes per RFC 4180 and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  });

  it('writes one row per entry, even a tampered one', () => {
    const event = auditEvent('acme', 3, {
      target: { path: 'prod/db', versions: [1, 2], hashed: { key: `hmac-sha256:${'a'.repeat(64)}` } },
    });
    const row = csvEntryLine({ seq: 3, prevHash: 'p', hash: 'h', event });
    expect(row.endsWith('\r\n')).toBe(true);
    expect(row.split(',')[0]).toBe('3');
    expect(row).toContain(`prod/db`);
    expect(row).toContain('1 2');
    expect(row).toContain(`key=hmac-sha256:${'a'.repeat(64)}`);
    expect(csvEntryLine({ seq: 'x', event: 'not an event' })).toMatch(/^x,/);
  });
});

describe('identifier HMACs', () => {
  class MemoryKeys implements TenantKeyStore {
    readonly keys = new Map<string, WrappedTenantKey>();
    async getKey(tenant: string) {
      return this.keys.get(tenant);
    }
    async putKeyIfAbsent(tenant: string, key: WrappedTenantKey) {
      if (this.keys.has(tenant)) return false;
      this.keys.set(tenant, key);
      return true;
    }
  }

  it('hashes per tenant with a random key kept only wrapped, the same after a restart', async () => {
    // Prepare
    const keyring = new FileKeyring();
    const keys = new MemoryKeys();
    const clock = { now: () => new Date() };
    const hasher = new AuditIdentifierHasher(keyring, keys, { clock });

    // Act
    const [a, b] = await Promise.all([
      hasher.hmac('acme', 'AKIAEXAMPLE'),
      hasher.hmac('acme', 'AKIAEXAMPLE'),
    ]);
    const other = await hasher.hmac('globex', 'AKIAEXAMPLE');
    const restarted = await new AuditIdentifierHasher(keyring, keys, { clock }).hmac('acme', 'AKIAEXAMPLE');

    // Assess
    expect(a).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(b).toBe(a);
    expect(restarted).toBe(a);
    expect(other).not.toBe(a);
    const stored = keys.keys.get('acme');
    expect(stored?.wrapped.length).toBeGreaterThan(32);
    // Not a keyless hash of the value.
    expect(a).not.toBe(`hmac-sha256:${createHmac('sha256', '').update('AKIAEXAMPLE').digest('hex')}`);
    expect(a).not.toContain(createHash('sha256').update('AKIAEXAMPLE').digest('hex'));
  });

  it('lets events carry only HMACs as hashed identifiers', () => {
    const base = auditEvent('acme', 1);
    const hmac = `hmac-sha256:${'b'.repeat(64)}`;
    expect(AuditEventSchema.safeParse({ ...base, target: { hashed: { accessKeyId: hmac } } }).success).toBe(
      true,
    );
    expect(
      AuditEventSchema.safeParse({ ...base, target: { hashed: { accessKeyId: 'AKIAEXAMPLE' } } }).success,
    ).toBe(false);
  });
});
