/**
 * The data-key cache on its own and behind EnvelopeCipher: hot reads stay off the keyring until
 * a bound is reached, keys leaving the cache are zeroized, and a keyring failure fails closed.
 */
import { describe, expect, it } from 'vitest';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { Clock } from '../../lambdas/core/ports.js';
import { DataKeyCache, type DataKeyCacheOptions } from '../../lambdas/core/secrets/data-key-cache.js';
import { type Envelope, EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import type { DataKey, EncryptionContext, Keyring } from '../../lambdas/core/secrets/keyring.js';

const CONTEXT: EncryptionContext = { tenant: 'acme', path: 'prod/api-token', version: '0000000001' };
const ZERO_KEY = Buffer.alloc(32);

class ManualClock implements Clock {
  constructor(private millis = Date.UTC(2030, 0, 1)) {}
  now(): Date {
    return new Date(this.millis);
  }
  advance(ms: number): void {
    this.millis += ms;
  }
}

/** Counts unwraps and keeps the very buffers it returned, to check they are zeroized later. */
class CountingKeyring implements Keyring {
  readonly unwrapped: Buffer[] = [];
  failure: Error | undefined;
  constructor(private readonly inner: Keyring = new FileKeyring()) {}
  generateDataKey(context: EncryptionContext): Promise<DataKey> {
    return this.inner.generateDataKey(context);
  }
  async unwrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer> {
    if (this.failure !== undefined) throw this.failure;
    const key = await this.inner.unwrapDataKey(wrapped, keyId, context);
    this.unwrapped.push(key);
    return key;
  }
  rewrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext) {
    return this.inner.rewrapDataKey(wrapped, keyId, context);
  }
  currentKeyId(): Promise<string> {
    return this.inner.currentKeyId();
  }
}

async function setUp(options: DataKeyCacheOptions, values = 1) {
  const keyring = new CountingKeyring();
  const cache = new DataKeyCache(options);
  const cipher = new EnvelopeCipher(keyring, cache);
  const envelopes: Envelope[] = [];
  for (let i = 0; i < values; i += 1) {
    envelopes.push(await cipher.seal(Buffer.from(`value ${i}`), { ...CONTEXT, version: String(i) }));
  }
  const read = async (i = 0) =>
    (await cipher.open(envelopes[i], { ...CONTEXT, version: String(i) })).toString();
  return { keyring, cache, cipher, envelopes, read };
}

describe('DataKeyCache', () => {
  it('lends a cached key to the callback and counts hits and misses', () => {
    // Prepare
    const cache = new DataKeyCache();
    const key = Buffer.alloc(32, 7);

    // Act
    const before = cache.use('a', (lent) => lent.length);
    cache.add('a', key);
    const after = cache.use('a', (lent) => lent.equals(Buffer.alloc(32, 7)));

    // Assess
    expect(before).toBeUndefined();
    expect(after).toEqual({ value: true });
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, evictions: 0, size: 1 });
  });

  it('zeroizes a key at the end of its last permitted use, even if that use throws', () => {
    // Prepare
    const cache = new DataKeyCache({ maxUses: 2 });
    const key = Buffer.alloc(32, 7);
    cache.add('a', key);

    // Act
    const seen: boolean[] = [];
    const use = () =>
      cache.use('a', (lent) => {
        seen.push(lent.equals(Buffer.alloc(32, 7)));
        throw new Error('decryption failed');
      });

    // Assess
    expect(use).toThrow('decryption failed');
    expect(seen).toEqual([true]);
    expect(key.equals(ZERO_KEY)).toBe(true);
    expect(cache.use('a', () => 1)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ evictions: 1, size: 0 });
  });

  it('zeroizes every key on clear() and a replaced key on add()', () => {
    // Prepare
    const cache = new DataKeyCache();
    const [first, replacement, other] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(32, 3)];
    cache.add('a', first);
    cache.add('b', other);

    // Act
    cache.add('a', replacement);
    const afterReplace = first.equals(ZERO_KEY);
    cache.clear();

    // Assess
    expect(afterReplace).toBe(true);
    expect(replacement.equals(ZERO_KEY)).toBe(true);
    expect(other.equals(ZERO_KEY)).toBe(true);
    expect(cache.stats()).toMatchObject({ evictions: 3, size: 0 });
  });

  it.each([
    ['maxEntries', { maxEntries: -1 }],
    ['maxAgeMs', { maxAgeMs: 0 }],
    ['maxUses', { maxUses: 0 }],
    ['maxUses', { maxUses: 1.5 }],
  ])('refuses a bad %s', (name, options) => {
    // Act
    const build = () => new DataKeyCache(options);

    // Assess
    expect(build).toThrow(RangeError);
    expect(build).toThrow(name);
  });
});

describe('DataKeyCache behind EnvelopeCipher', () => {
  it('unwraps a hot secret once per maxUses reads and zeroizes each retired key', async () => {
    // Prepare
    const { keyring, read } = await setUp({ maxUses: 3 });

    // Act
    const calls: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      expect(await read()).toBe('value 0');
      calls.push(keyring.unwrapped.length);
    }

    // Assess
    expect(calls).toEqual([1, 1, 1, 2, 2, 2, 3]);
    expect(keyring.unwrapped[0]?.equals(ZERO_KEY)).toBe(true);
    expect(keyring.unwrapped[1]?.equals(ZERO_KEY)).toBe(true);
    expect(keyring.unwrapped[2]?.equals(ZERO_KEY)).toBe(false);
  });

  it('unwraps again once maxAgeMs has passed since the unwrap', async () => {
    // Prepare
    const clock = new ManualClock();
    const { keyring, cache, read } = await setUp({ maxAgeMs: 60_000, clock });
    await read();

    // Act
    clock.advance(59_999);
    await read();
    const beforeExpiry = keyring.unwrapped.length;
    clock.advance(1);
    await read();

    // Assess
    expect(beforeExpiry).toBe(1);
    expect(keyring.unwrapped.length).toBe(2);
    expect(keyring.unwrapped[0]?.equals(ZERO_KEY)).toBe(true);
    expect(cache.stats()).toEqual({ hits: 1, misses: 2, evictions: 1, size: 1 });
  });

  it('evicts and zeroizes the least recently used key when full', async () => {
    // Prepare
    const { keyring, read } = await setUp({ maxEntries: 2 }, 3);
    await read(0);
    await read(1);
    await read(0); // 0 is now more recently used than 1
    const [key0, key1] = keyring.unwrapped;

    // Act
    await read(2); // evicts 1
    await read(0); // still cached
    const beforeRereadOf1 = keyring.unwrapped.length;
    await read(1); // unwrapped again

    // Assess
    expect(beforeRereadOf1).toBe(3);
    expect(keyring.unwrapped.length).toBe(4);
    expect(key1?.equals(ZERO_KEY)).toBe(true);
    expect(key0?.equals(ZERO_KEY)).toBe(false);
  });

  it('drops expired keys from memory on the next unwrap, not only when they are asked for', async () => {
    // Prepare
    const clock = new ManualClock();
    const { keyring, cache, read } = await setUp({ maxAgeMs: 1000, clock }, 2);
    await read(0);
    clock.advance(1000);

    // Act
    await read(1);

    // Assess
    expect(keyring.unwrapped[0]?.equals(ZERO_KEY)).toBe(true);
    expect(cache.stats().size).toBe(1);
  });

  it('calls the keyring for every read and zeroizes the key at once when caching is off', async () => {
    // Prepare
    const { keyring, read } = await setUp({ maxEntries: 0 });

    // Act
    for (let i = 0; i < 3; i += 1) await read();

    // Assess
    expect(keyring.unwrapped).toHaveLength(3);
    for (const key of keyring.unwrapped) expect(key.equals(ZERO_KEY)).toBe(true);
  });

  it('fails closed with DependencyUnavailableError when the keyring fails on a miss', async () => {
    // Prepare
    const { keyring, cache, read } = await setUp({}, 2);
    await read(0);
    keyring.failure = new DependencyUnavailableError('The key service is unavailable', 1);

    // Act
    const hot = await read(0);
    const cold = read(1);

    // Assess
    expect(hot).toBe('value 0');
    await expect(cold).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(cache.stats().size).toBe(1);
  });
});
