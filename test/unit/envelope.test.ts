/**
 * Envelope encryption: round trips, fresh keys and IVs per seal, binding to tenant, path and
 * version, and rejection of any single-bit change to any field of a stored envelope.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { type Envelope, EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import {
  type DataKey,
  type EncryptionContext,
  EnvelopeIntegrityError,
  type Keyring,
} from '../../lambdas/core/secrets/keyring.js';
import { seededRandom } from '../support/seeded-random.js';

const CONTEXT: EncryptionContext = { tenant: 'acme', path: 'prod/db/password', version: '0000000007' };

function newCipher(keyring: Keyring = new FileKeyring()): EnvelopeCipher {
  return new EnvelopeCipher(keyring, new DataKeyCache());
}

/** A keyring that remembers a copy of every data key it hands out, and the buffers themselves. */
class RecordingKeyring implements Keyring {
  readonly generated: DataKey[] = [];
  readonly copies: Buffer[] = [];
  constructor(private readonly inner: Keyring = new FileKeyring()) {}
  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const dataKey = await this.inner.generateDataKey(context);
    this.generated.push(dataKey);
    this.copies.push(Buffer.from(dataKey.plaintext));
    return dataKey;
  }
  unwrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer> {
    return this.inner.unwrapDataKey(wrapped, keyId, context);
  }
  rewrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext) {
    return this.inner.rewrapDataKey(wrapped, keyId, context);
  }
  currentKeyId(): Promise<string> {
    return this.inner.currentKeyId();
  }
}

describe('EnvelopeCipher', () => {
  it.each([
    ['an empty value', Buffer.alloc(0)],
    ['a text value', Buffer.from('s3cr3t-p@ssw0rd ✓', 'utf8')],
    ['a 1 KiB binary value', randomBytes(1024)],
  ])('opens what it sealed: %s', async (_case, plaintext) => {
    // Prepare
    const cipher = newCipher();

    // Act
    const envelope = await cipher.seal(plaintext, CONTEXT);
    const opened = await cipher.open(JSON.parse(JSON.stringify(envelope)), CONTEXT);

    // Assess
    expect(opened.equals(plaintext)).toBe(true);
    expect(envelope).toMatchObject({ v: 1, alg: 'AES-256-GCM' });
    expect(Buffer.from(envelope.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(envelope.tag, 'base64')).toHaveLength(16);
    expect(Buffer.from(envelope.ciphertext, 'base64')).toHaveLength(plaintext.length);
  });

  it('uses a fresh data key and IV for every seal and zeroizes the data key afterwards', async () => {
    // Prepare
    const keyring = new RecordingKeyring();
    const cipher = newCipher(keyring);
    const plaintext = Buffer.from('the same value every time');

    // Act
    const envelopes = [];
    for (let i = 0; i < 20; i += 1) envelopes.push(await cipher.seal(plaintext, CONTEXT));

    // Assess
    expect(new Set(envelopes.map((envelope) => envelope.iv)).size).toBe(20);
    expect(new Set(envelopes.map((envelope) => envelope.wrappedKey)).size).toBe(20);
    expect(new Set(envelopes.map((envelope) => envelope.ciphertext)).size).toBe(20);
    expect(new Set(keyring.copies.map((key) => key.toString('hex'))).size).toBe(20);
    for (const dataKey of keyring.generated) expect(dataKey.plaintext.equals(Buffer.alloc(32))).toBe(true);
  });

  it.each([
    ['tenant', { ...CONTEXT, tenant: 'globex' }],
    ['path', { ...CONTEXT, path: 'prod/db/password2' }],
    ['version', { ...CONTEXT, version: '0000000008' }],
  ])('refuses a ciphertext copied onto another %s, even with its data key cached', async (_field, moved) => {
    // Prepare
    const cipher = newCipher();
    const envelope = await cipher.seal(Buffer.from('value'), CONTEXT);
    await cipher.open(envelope, CONTEXT);

    // Act
    const opened = cipher.open(envelope, moved);

    // Assess
    await expect(opened).rejects.toBeInstanceOf(EnvelopeIntegrityError);
  });

  it('refuses a stored envelope with an unknown field or a field missing', async () => {
    // Prepare
    const cipher = newCipher();
    const envelope = await cipher.seal(Buffer.from('value'), CONTEXT);
    const { tag: _tag, ...withoutTag } = envelope;

    // Act
    const extra = cipher.open({ ...envelope, note: 'x' }, CONTEXT);
    const missing = cipher.open(withoutTag, CONTEXT);

    // Assess
    await expect(extra).rejects.toBeInstanceOf(EnvelopeIntegrityError);
    await expect(missing).rejects.toBeInstanceOf(EnvelopeIntegrityError);
  });

  it('rejects every one of 500 random single-bit changes to a stored envelope', async () => {
    // Prepare
    const seed = 0x5eed_2024;
    const random = seededRandom(seed);
    const pick = (n: number) => Math.floor(random() * n);
    const keyring = new FileKeyring();
    const warm = newCipher(keyring);
    const plaintext = randomBytes(300);
    const original = await warm.seal(plaintext, CONTEXT);
    await warm.open(original, CONTEXT);
    const fields = ['v', 'alg', 'keyId', 'wrappedKey', 'iv', 'ciphertext', 'tag'] as const;
    const base64Fields = new Set<string>(['wrappedKey', 'iv', 'ciphertext', 'tag']);
    const hits = new Map<string, number>();

    const mutate = (i: number): { envelope: Record<string, unknown>; what: string } => {
      const field = fields[pick(fields.length)] ?? 'v';
      hits.set(field, (hits.get(field) ?? 0) + 1);
      const envelope: Record<string, unknown> = { ...original };
      if (field === 'v') {
        const bit = pick(8);
        envelope.v = 1 ^ (1 << bit);
        return { envelope, what: `#${i} seed ${seed}: v bit ${bit}` };
      }
      const text = original[field];
      if (base64Fields.has(field) && pick(2) === 0) {
        // A flipped bit in the stored bytes.
        const bytes = Buffer.from(text, 'base64');
        const index = pick(bytes.length);
        const bit = pick(8);
        bytes[index] = (bytes[index] ?? 0) ^ (1 << bit);
        envelope[field] = bytes.toString('base64');
        return { envelope, what: `#${i} seed ${seed}: ${field} byte ${index} bit ${bit}` };
      }
      // A flipped bit in the stored text (for base64, possibly a non-canonical or invalid form).
      const index = pick(text.length);
      const bit = pick(7);
      const flipped = String.fromCharCode(text.charCodeAt(index) ^ (1 << bit));
      envelope[field] = text.slice(0, index) + flipped + text.slice(index + 1);
      return { envelope, what: `#${i} seed ${seed}: ${field} char ${index} bit ${bit}` };
    };

    // Act
    const outcomes: { what: string; error: unknown }[] = [];
    for (let i = 0; i < 500; i += 1) {
      const { envelope, what } = mutate(i);
      // Alternate a warm cache (payload checked with the cached key) and a cold one (keyring path).
      const cipher = i % 2 === 0 ? warm : newCipher(keyring);
      const error = await cipher.open(envelope, CONTEXT).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      outcomes.push({ what, error });
    }
    const control = await warm.open(original, CONTEXT);

    // Assess
    for (const { what, error } of outcomes) expect(error, what).toBeInstanceOf(EnvelopeIntegrityError);
    for (const field of fields) expect(hits.get(field) ?? 0, field).toBeGreaterThan(40);
    expect(control.equals(plaintext)).toBe(true);
  });

  it('says nothing about the key or the plaintext when an envelope fails to open', async () => {
    // Prepare
    const keyring = new RecordingKeyring();
    const cipher = newCipher(keyring);
    const secret = 'hunter2-correct-horse';
    const envelope = await cipher.seal(Buffer.from(secret), CONTEXT);
    const tampered: Envelope = { ...envelope, tag: Buffer.alloc(16).toString('base64') };

    // Act
    const error = await cipher.open(tampered, CONTEXT).catch((rejection: unknown) => rejection);

    // Assess
    expect(error).toBeInstanceOf(EnvelopeIntegrityError);
    const text = `${String(error)} ${JSON.stringify(error)} ${String((error as Error).cause)}`;
    const key = keyring.copies[0] ?? Buffer.alloc(32);
    for (const material of [secret, key.toString('hex'), key.toString('base64')]) {
      expect(text).not.toContain(material);
    }
  });
});

describe('EnvelopeCipher: concurrent cold reads', () => {
  /** Counts unwraps and holds each one until released, so reads really overlap. */
  class SlowKeyring extends RecordingKeyring {
    unwraps = 0;
    failNext: Error | undefined;
    private gate: (() => void)[] = [];
    override async unwrapDataKey(
      wrapped: Buffer,
      keyId: string,
      context: EncryptionContext,
    ): Promise<Buffer> {
      this.unwraps += 1;
      await new Promise<void>((resolve) => this.gate.push(resolve));
      const failure = this.failNext;
      this.failNext = undefined;
      if (failure !== undefined) throw failure;
      return super.unwrapDataKey(wrapped, keyId, context);
    }
    release(): void {
      for (const open of this.gate.splice(0)) open();
    }
  }

  async function settleAll<T>(keyring: SlowKeyring, reads: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
    // Let every read reach the keyring (or start waiting), then let the unwrap finish.
    await new Promise((resolve) => setImmediate(resolve));
    keyring.release();
    const results = Promise.allSettled(reads);
    // A read that had to unwrap after all (cache off) waits at the gate again.
    for (let i = 0; i < 5; i += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      keyring.release();
    }
    return results;
  }

  it('shares one keyring unwrap among concurrent reads of one version', async () => {
    const keyring = new SlowKeyring();
    const sealer = new EnvelopeCipher(keyring, new DataKeyCache());
    const envelope = await sealer.seal(Buffer.from('hot value'), CONTEXT);
    const reader = new EnvelopeCipher(keyring, new DataKeyCache());
    const results = await settleAll(
      keyring,
      Array.from({ length: 16 }, () => reader.open(envelope, CONTEXT)),
    );
    expect(
      results.map((result) => (result.status === 'fulfilled' ? result.value.toString() : 'failed')),
    ).toEqual(Array.from({ length: 16 }, () => 'hot value'));
    expect(keyring.unwraps).toBe(1);
  });

  it('fails every waiting read with the keyring failure, without calling it again', async () => {
    const keyring = new SlowKeyring();
    const envelope = await new EnvelopeCipher(keyring, new DataKeyCache()).seal(Buffer.from('v'), CONTEXT);
    keyring.failNext = new Error('KMS throttled');
    const reader = new EnvelopeCipher(keyring, new DataKeyCache());
    const results = await settleAll(
      keyring,
      Array.from({ length: 8 }, () => reader.open(envelope, CONTEXT)),
    );
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    expect(keyring.unwraps).toBe(1);
    // The failure is not remembered: the next read asks the keyring again and succeeds.
    const next = reader.open(envelope, CONTEXT);
    await settleAll(keyring, []);
    expect((await next).toString()).toBe('v');
    expect(keyring.unwraps).toBe(2);
  });

  it('still answers every read when caching is off (each read then unwraps)', async () => {
    const keyring = new SlowKeyring();
    const envelope = await new EnvelopeCipher(keyring, new DataKeyCache()).seal(Buffer.from('v'), CONTEXT);
    const reader = new EnvelopeCipher(keyring, new DataKeyCache({ maxEntries: 0 }));
    const results = await settleAll(
      keyring,
      Array.from({ length: 4 }, () => reader.open(envelope, CONTEXT)),
    );
    expect(results.every((result) => result.status === 'fulfilled')).toBe(true);
    expect(keyring.unwraps).toBe(4);
  });
});
