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
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { DataKeyCache } from './data-key-cache.js';
import { type EncryptionContext, EnvelopeIntegrityError, type Keyring, contextAad } from './keyring.js';
import { randomPool } from './random-pool.js';

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

export class EnvelopeCipher {
  /**
   * Unwraps in flight, by cache id: concurrent cold reads of one version share a single keyring
   * (KMS) call instead of each making their own. Settles after the key is in the cache.
   */
  private readonly unwrapping = new Map<string, Promise<void>>();
  private lastAad: (EncryptionContext & { readonly aad: Buffer }) | undefined;

  constructor(
    private readonly keyring: Keyring,
    private readonly cache: DataKeyCache,
  ) {}

  /** Encrypts `plaintext` under a fresh data key, which is zeroized before this returns. */
  async seal(plaintext: Buffer, context: EncryptionContext): Promise<Envelope> {
    const aad = this.payloadAad(context);
    const dataKey = await this.keyring.generateDataKey(context);
    try {
      const iv = randomPool.take(IV_BYTES);
      const cipher = createCipheriv(CIPHER, dataKey.plaintext, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad);
      const head = cipher.update(plaintext);
      const tail = cipher.final();
      // GCM is a stream mode: final() returns nothing, so the copy of a concatenation is spared.
      const ciphertext = tail.length === 0 ? head : Buffer.concat([head, tail]);
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
    // One pass: the shape checked and each base64 field decoded once (no schema, no re-encode).
    const envelope = decodeEnvelope(stored);
    const aad = this.payloadAad(context);
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
      key = await this.keyring.unwrapDataKey(envelope.wrapped, envelope.keyId, context);
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

  /**
   * The payload AAD of a context; the last one is kept, since a hot secret is read (and a
   * batch is written) again and again under the same context. Not secret: tenant, path, version.
   */
  private payloadAad(context: EncryptionContext): Buffer {
    const last = this.lastAad;
    if (
      last !== undefined &&
      last.tenant === context.tenant &&
      last.path === context.path &&
      last.version === context.version
    ) {
      return last.aad;
    }
    const aad = contextAad('vaultpilot/envelope', context, '1', 'AES-256-GCM');
    this.lastAad = { tenant: context.tenant, path: context.path, version: context.version, aad };
    return aad;
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
    const decoded = decodeEnvelope(stored);
    const rewrapped = await this.keyring.rewrapDataKey(decoded.wrapped, decoded.keyId, context);
    return { ...decoded.stored, keyId: rewrapped.keyId, wrappedKey: rewrapped.wrapped.toString('base64') };
  }
}

/**
 * The fields of a stored envelope that do not have the envelope's shape (strict object, literal
 * `v` and `alg`, string fields), without decoding anything: the store checks this much when it
 * reads, and `EnvelopeCipher.open` decodes and checks the base64 fields once.
 */
export function envelopeShapeProblems(stored: unknown): string[] {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return [''];
  const record = stored as Record<string, unknown>;
  const bad: string[] = [];
  for (const key in record) if (!ENVELOPE_FIELDS.has(key)) bad.push(key);
  if (record.v !== 1) bad.push('v');
  if (record.alg !== 'AES-256-GCM') bad.push('alg');
  for (const field of ['keyId', 'wrappedKey', 'iv', 'ciphertext', 'tag'] as const) {
    if (typeof record[field] !== 'string') bad.push(field);
  }
  return bad;
}

/** An envelope with its base64 fields decoded, each exactly once. */
interface DecodedEnvelope {
  readonly stored: Envelope;
  readonly keyId: string;
  /** As stored (base64): part of the cache id. */
  readonly wrappedKeyText: string;
  readonly wrapped: Buffer;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

const ENVELOPE_FIELDS = new Set(['v', 'alg', 'keyId', 'wrappedKey', 'iv', 'ciphertext', 'tag']);

/**
 * Checks a stored envelope's shape and decodes its base64 fields once each. Accepts a strict object
 * with canonical base64 of the right sizes without building
 * a schema result or encoding anything again; anything else is an `EnvelopeIntegrityError`
 * naming the fields, never their contents.
 */
function decodeEnvelope(stored: unknown): DecodedEnvelope {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) throw malformed(['']);
  const record = stored as Record<string, unknown>;
  const { v, alg, keyId, wrappedKey, iv, ciphertext, tag } = record;
  const bad: string[] = [];
  for (const key in record) if (!ENVELOPE_FIELDS.has(key)) bad.push(key);
  if (v !== 1) bad.push('v');
  if (alg !== 'AES-256-GCM') bad.push('alg');
  if (typeof keyId !== 'string' || keyId.length < 1 || keyId.length > 2048) bad.push('keyId');
  const wrappedBytes = canonicalBase64(wrappedKey, 1, 6144);
  const ivBytes = canonicalBase64(iv, IV_BYTES, IV_BYTES);
  const ciphertextBytes = canonicalBase64(ciphertext, 0, Number.MAX_SAFE_INTEGER);
  const tagBytes = canonicalBase64(tag, TAG_BYTES, TAG_BYTES);
  if (wrappedBytes === undefined) bad.push('wrappedKey');
  if (ivBytes === undefined) bad.push('iv');
  if (ciphertextBytes === undefined) bad.push('ciphertext');
  if (tagBytes === undefined) bad.push('tag');
  if (
    bad.length > 0 ||
    wrappedBytes === undefined ||
    ivBytes === undefined ||
    ciphertextBytes === undefined ||
    tagBytes === undefined
  ) {
    throw malformed(bad);
  }
  return {
    stored: stored as Envelope,
    keyId: keyId as string,
    wrappedKeyText: wrappedKey as string,
    wrapped: wrappedBytes,
    iv: ivBytes,
    ciphertext: ciphertextBytes,
    tag: tagBytes,
  };
}

function malformed(fields: readonly string[]): EnvelopeIntegrityError {
  return new EnvelopeIntegrityError('A stored secret envelope is malformed', {
    details: { fields: [...fields] },
  });
}

/** Values of the base64 alphabet's characters, for the check of the unused bits before `=`. */
const BASE64_VALUE = new Map(
  [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((char, value) => [
    char.charCodeAt(0),
    value,
  ]),
);

/**
 * The bytes of `text` when it is canonical base64 (exactly what `Buffer#toString('base64')`
 * writes) of `min..max` bytes, else undefined. Node's decoder skips characters outside the
 * alphabet and stops at `=`, so a length that does not add up reveals those; it also reads the
 * URL-safe `-` and `_`, refused here, and ignores the unused bits before the padding, checked here.
 */
function canonicalBase64(text: unknown, min: number, max: number): Buffer | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0) return undefined;
  if (text.includes('-') || text.includes('_')) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== (text.length / 4) * 3 - padding || bytes.length < min || bytes.length > max) {
    return undefined;
  }
  if (padding > 0) {
    const last = BASE64_VALUE.get(text.charCodeAt(text.length - padding - 1));
    if (last === undefined || (last & (padding === 1 ? 0b11 : 0b1111)) !== 0) return undefined;
  }
  return bytes;
}

/**
 * Cache entries are keyed by key id, wrapped key and context together, so a cached key is
 * only ever reused where the keyring itself would have unwrapped it. The parts are joined
 * unambiguously (lengths before the free-form ones; base64 has no `|`), without hashing.
 */
function cacheId(envelope: DecodedEnvelope, context: EncryptionContext): string {
  return (
    `${envelope.keyId.length}:${envelope.keyId}|${envelope.wrappedKeyText}|` +
    `${context.tenant.length}:${context.tenant}|${context.path.length}:${context.path}|${context.version}`
  );
}

function decryptPayload(key: Buffer, envelope: DecodedEnvelope, aad: Buffer): Buffer {
  let opened: Buffer | undefined;
  try {
    const decipher = createDecipheriv(CIPHER, key, envelope.iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(envelope.tag);
    decipher.setAAD(aad);
    opened = decipher.update(envelope.ciphertext);
    // final() checks the tag; GCM is a stream mode, so it returns nothing and the output of
    // update() is the whole plaintext, authenticated once final() returns.
    const tail = decipher.final();
    const plaintext = tail.length === 0 ? opened : Buffer.concat([opened, tail]);
    if (plaintext !== opened) opened.fill(0);
    opened = undefined;
    return plaintext;
  } catch (error: unknown) {
    // Unauthenticated output must not linger.
    opened?.fill(0);
    throw new EnvelopeIntegrityError('A stored secret envelope failed authentication', { cause: error });
  }
}
