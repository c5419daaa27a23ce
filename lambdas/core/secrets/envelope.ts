/**
 * Envelope encryption of secret values (DESIGN.md, "Envelope encryption"): every sealed value
 * gets a fresh AES-256 data key from the keyring and is encrypted with AES-256-GCM under a random
 * 96-bit IV, with a 128-bit tag over additional authenticated data that binds it to its tenant,
 * path and version (and to the envelope format and algorithm), so a ciphertext copied anywhere
 * else fails to open.
 *
 * The key id is deliberately not part of the payload AAD: re-wrapping under a new key (KMS
 * ReEncrypt) changes it without the data key ever leaving the keyring, so the payload cannot
 * be re-authenticated then. It is bound where it matters instead: the keyring authenticates the
 * wrapped key against its key id and context (KMS rejects a ciphertext under another key; the
 * local keyring puts the key id in its wrapping AAD), and the data-key cache is keyed by it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import type { DataKeyCache } from './data-key-cache.js';
import { type EncryptionContext, EnvelopeIntegrityError, type Keyring, contextAad } from './keyring.js';

export interface Envelope {
  readonly v: 1;
  readonly alg: 'AES-256-GCM';
  readonly keyId: string;
  /** base64 */
  readonly wrappedKey: string;
  /** base64, 12 bytes */
  readonly iv: string;
  /** base64 */
  readonly ciphertext: string;
  /** base64, 16 bytes */
  readonly tag: string;
}

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Canonical base64 only (what `Buffer#toString('base64')` writes): Node's decoder skips stray
 * characters and ignores padding bits, so without this check some edits of the stored text
 * would decode to the same bytes and go unnoticed.
 */
function base64(bytes: { min: number; max: number }) {
  return z.string().refine(
    (text) => {
      const decoded = Buffer.from(text, 'base64');
      return (
        decoded.toString('base64') === text && decoded.length >= bytes.min && decoded.length <= bytes.max
      );
    },
    { message: `Expected canonical base64 of ${bytes.min}..${bytes.max} bytes` },
  );
}

export const EnvelopeSchema: z.ZodType<Envelope> = z.strictObject({
  v: z.literal(1),
  alg: z.literal('AES-256-GCM'),
  keyId: z.string().min(1).max(2048),
  wrappedKey: base64({ min: 1, max: 6144 }),
  iv: base64({ min: IV_BYTES, max: IV_BYTES }),
  ciphertext: base64({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  tag: base64({ min: TAG_BYTES, max: TAG_BYTES }),
});

export class EnvelopeCipher {
  /**
   * Unwraps in flight, by cache id: concurrent cold reads of one version share a single keyring
   * (KMS) call instead of each making their own. Settles after the key is in the cache.
   */
  private readonly unwrapping = new Map<string, Promise<void>>();

  constructor(
    private readonly keyring: Keyring,
    private readonly cache: DataKeyCache,
  ) {}

  /** Encrypts `plaintext` under a fresh data key, which is zeroized before this returns. */
  async seal(plaintext: Buffer, context: EncryptionContext): Promise<Envelope> {
    const dataKey = await this.keyring.generateDataKey(context);
    try {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(CIPHER, dataKey.plaintext, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(payloadAad(context));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        v: 1,
        alg: 'AES-256-GCM',
        keyId: dataKey.keyId,
        wrappedKey: dataKey.wrapped.toString('base64'),
        iv: iv.toString('base64'),
        ciphertext: ciphertext.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
      };
    } finally {
      dataKey.plaintext.fill(0);
    }
  }

  /**
   * Decrypts a stored envelope for exactly this context. Anything malformed, tampered or moved
   * is an `EnvelopeIntegrityError`; a keyring outage on a cache miss is the keyring's
   * `DependencyUnavailableError`. The caller owns the returned plaintext.
   */
  async open(stored: unknown, context: EncryptionContext): Promise<Buffer> {
    const envelope = parseEnvelope(stored);
    const aad = payloadAad(context);
    const id = cacheId(envelope, context);
    const hit = this.cache.use(id, (key) => decryptPayload(key, envelope, aad));
    if (hit !== undefined) return hit.value;

    const inFlight = this.unwrapping.get(id);
    if (inFlight !== undefined) {
      // Another read is unwrapping this very key: share its outcome (a keyring failure fails
      // this read too, rather than sending the same call again), then use the cached key.
      await inFlight;
      const shared = this.cache.use(id, (key) => decryptPayload(key, envelope, aad));
      if (shared !== undefined) return shared.value;
      // Not cached after all (caching off, or its uses ran out): unwrap for this read.
    }

    let settle: (error?: Error) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Waiters observe the outcome; this read's own failure is reported by `await` below.
    done.catch(() => undefined);
    if (inFlight === undefined) this.unwrapping.set(id, done);
    let key: Buffer;
    try {
      const wrapped = Buffer.from(envelope.wrappedKey, 'base64');
      key = await this.keyring.unwrapDataKey(wrapped, envelope.keyId, context);
    } catch (error: unknown) {
      this.release(id, done);
      settle(error instanceof Error ? error : new Error('The keyring failed', { cause: error }));
      throw error;
    }
    try {
      return decryptPayload(key, envelope, aad);
    } finally {
      // The keyring authenticated the key, so it is worth caching even if the payload was not.
      this.cache.add(id, key);
      this.release(id, done);
      settle();
    }
  }

  private release(id: string, done: Promise<void>): void {
    if (this.unwrapping.get(id) === done) this.unwrapping.delete(id);
  }

  /** The key new envelopes are wrapped under (a re-wrap moves older ones to it). */
  currentKeyId(): Promise<string> {
    return this.keyring.currentKeyId();
  }

  /**
   * The same envelope with its data key wrapped under the keyring's current key; the payload is
   * untouched and the data key never leaves the keyring.
   */
  async rewrap(stored: unknown, context: EncryptionContext): Promise<Envelope> {
    const envelope = parseEnvelope(stored);
    const wrapped = Buffer.from(envelope.wrappedKey, 'base64');
    const rewrapped = await this.keyring.rewrapDataKey(wrapped, envelope.keyId, context);
    return { ...envelope, keyId: rewrapped.keyId, wrappedKey: rewrapped.wrapped.toString('base64') };
  }
}

function parseEnvelope(stored: unknown): Envelope {
  const result = EnvelopeSchema.safeParse(stored);
  if (!result.success) {
    throw new EnvelopeIntegrityError('A stored secret envelope is malformed', {
      cause: result.error,
      details: { fields: result.error.issues.map((issue) => issue.path.join('.')) },
    });
  }
  return result.data;
}

function payloadAad(context: EncryptionContext): Buffer {
  return contextAad('vaultpilot/envelope', context, '1', 'AES-256-GCM');
}

/**
 * Cache entries are keyed by key id, wrapped key and context together, so a cached key is
 * only ever reused where the keyring itself would have unwrapped it.
 */
function cacheId(envelope: Envelope, context: EncryptionContext): string {
  const fields = contextAad('vaultpilot/data-key-cache', context, envelope.keyId, envelope.wrappedKey);
  return createHash('sha256').update(fields).digest('base64url');
}

function decryptPayload(key: Buffer, envelope: Envelope, aad: Buffer): Buffer {
  let opened: Buffer | undefined;
  try {
    const decipher = createDecipheriv(CIPHER, key, Buffer.from(envelope.iv, 'base64'), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    decipher.setAAD(aad);
    opened = decipher.update(Buffer.from(envelope.ciphertext, 'base64'));
    return Buffer.concat([opened, decipher.final()]);
  } catch (error: unknown) {
    throw new EnvelopeIntegrityError('A stored secret envelope failed authentication', { cause: error });
  } finally {
    // Unauthenticated output must not linger; on success the concatenation is a separate copy.
    opened?.fill(0);
  }
}
