/**
 * The `Keyring` port: wraps and unwraps the per-version data keys of envelope encryption under
 * a key-encryption key that never leaves it (KMS in AWS, a 0600 key file locally).
 *
 * Failures of the keyring itself (network, throttling, access denied, an unknown or disabled
 * key) surface as `DependencyUnavailableError` (503 with Retry-After): the read fails closed.
 * A wrapped key that does not authenticate (wrong encryption context, tampered bytes) is an
 * `EnvelopeIntegrityError` instead.
 */
import { IntegrityError } from '../errors.js';

/** Binds a data key to one secret version; KMS receives the same pairs as EncryptionContext. */
export interface EncryptionContext {
  readonly tenant: string;
  readonly path: string;
  readonly version: string;
}

/** A fresh AES-256 data key. The caller owns `plaintext` and zeroizes it after use. */
export interface DataKey {
  readonly plaintext: Buffer;
  readonly wrapped: Buffer;
  /** The key-encryption key that wrapped it (for KMS, the key ARN). */
  readonly keyId: string;
}

export interface Keyring {
  /** A new random AES-256 data key, wrapped under the current key-encryption key. */
  generateDataKey(context: EncryptionContext): Promise<DataKey>;
  /** The plaintext data key; the caller owns the buffer and zeroizes it. */
  unwrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer>;
  /** Wraps the same data key under the current key-encryption key; the plaintext never leaves the keyring. */
  rewrapDataKey(
    wrapped: Buffer,
    keyId: string,
    context: EncryptionContext,
  ): Promise<{ wrapped: Buffer; keyId: string }>;
  currentKeyId(): Promise<string>;
}

/**
 * A stored envelope or wrapped key failed authentication: it was tampered with, copied onto
 * another tenant, path or version, or names a key that never wrapped it: an `IntegrityError`
 * (500, code `IntegrityFailure`), a server-side incident to investigate, not something the
 * caller did wrong. Its message never contains key or plaintext material.
 */
export class EnvelopeIntegrityError extends IntegrityError {
  readonly subject = 'envelope';
}

/**
 * Unambiguous encoding of a list of fields: each is prefixed with its 4-byte big-endian length,
 * so no two different lists (`['ab', 'c']`, `['a', 'bc']`) ever encode to the same bytes.
 */
export function lengthPrefixed(fields: readonly (string | Uint8Array)[]): Buffer {
  const sizes = fields.map((field) =>
    typeof field === 'string' ? Buffer.byteLength(field, 'utf8') : field.length,
  );
  // One allocation: this runs on every secret read.
  const out = Buffer.allocUnsafe(sizes.reduce((total, size) => total + 4 + size, 0));
  let offset = 0;
  fields.forEach((field, i) => {
    const size = sizes[i] ?? 0;
    offset = out.writeUInt32BE(size, offset);
    if (typeof field === 'string') out.write(field, offset, 'utf8');
    else out.set(field, offset);
    offset += size;
  });
  return out;
}

/**
 * The canonical byte form of an encryption context under a domain label, used as AAD wherever
 * a key or payload is bound to a secret version (the label keeps the uses apart).
 */
export function contextAad(label: string, context: EncryptionContext, ...extra: string[]): Buffer {
  return lengthPrefixed([label, ...extra, context.tenant, context.path, context.version]);
}
