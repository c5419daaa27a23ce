/**
 * Signed digests of a tenant's audit chain, in the manner of CloudTrail's digest files: each
 * digest covers `fromSeq..toSeq`, names the hash of entry `toSeq` (the head it saw), and signs the
 * previous digest's signature and (format 2) the hash of the previous digest's whole record, so
 * digests form a chain of their own. A verifier holding only the public key can then tell that
 * entries were removed from the end of the chain (up to the last digest) and that no digest was
 * forged, dropped or replaced; with format 2 it checks one signature per run of linked digests
 * (ADR 0004, "Digests").
 *
 * What is signed is the canonical JSON (RFC 8785) of every field but `signature`. The signature
 * is base64: Ed25519 (64 bytes) locally, DER-encoded ECDSA P-256 with SHA-256 from KMS in AWS.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson } from './canonical-json.js';

/** Digests signed before `prevDigestHash`: still read and verified, no longer written. */
export const DIGEST_FORMAT_1 = 'vaultpilot.audit-digest/1';
/** What new digests are written in: format 1 plus `prevDigestHash`. */
export const DIGEST_FORMAT = 'vaultpilot.audit-digest/2';

export const DIGEST_ALGORITHMS = ['ED25519', 'ECDSA_SHA_256'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const seq = z.number().int().min(1);
const epochSeconds = z.number().int().min(0);

const digestFields = {
  tenant: z.string().min(1).max(63),
  fromSeq: seq,
  toSeq: seq,
  headHash: hash,
  /** The previous digest's signature; empty for a tenant's first digest. */
  prevSignature: z.string().max(1024),
  /** `expiresAt` of entry `fromSeq - 1` (0 when `fromSeq` is 1): when the previous digest may expire. */
  prevExpiresAt: epochSeconds,
  /** `expiresAt` of entry `toSeq`; the digest is kept as long as the entries it covers. */
  expiresAt: epochSeconds,
  createdAt: z.iso.datetime({ precision: 3 }),
  /** Every event of the tenant older than this was found chained before the digest was signed. */
  reconciledThrough: z.iso.datetime({ precision: 3 }),
  algorithm: z.enum(DIGEST_ALGORITHMS),
  /** SHA-256 (hex) of the signing key's DER SubjectPublicKeyInfo. */
  keyFingerprint: hash,
  signature: z.string().min(1).max(1024),
};

export const AuditDigestV1Schema = z.strictObject({ format: z.literal(DIGEST_FORMAT_1), ...digestFields });

export const AuditDigestV2Schema = z.strictObject({
  format: z.literal(DIGEST_FORMAT),
  ...digestFields,
  /**
   * `digestHash` of the previous digest, which the signer verified with its own key before
   * signing this one; empty when there is none (a tenant's first digest) or when the previous one
   * does not verify with the signer's key (then this digest vouches for nothing before it).
   */
  prevDigestHash: z.union([z.literal(''), hash]),
});

/** A stored digest in either format (a migration-free reader: format 1 digests stay valid). */
export const AuditDigestSchema = z.discriminatedUnion('format', [AuditDigestV1Schema, AuditDigestV2Schema]);

export type AuditDigestV1 = z.infer<typeof AuditDigestV1Schema>;
export type AuditDigestV2 = z.infer<typeof AuditDigestV2Schema>;
export type AuditDigest = AuditDigestV1 | AuditDigestV2;
export type UnsignedAuditDigest = Omit<AuditDigestV1, 'signature'> | Omit<AuditDigestV2, 'signature'>;

/**
 * The fields a digest's signature is over, picked one by one (a record read from a store may
 * carry more: its keys): every field of its format but `signature`.
 */
function signedFields(digest: UnsignedAuditDigest): Record<string, string | number> {
  const { format, tenant, fromSeq, toSeq, headHash, prevSignature, prevExpiresAt, expiresAt } = digest;
  const { createdAt, reconciledThrough, algorithm, keyFingerprint } = digest;
  const fields = {
    format,
    tenant,
    fromSeq,
    toSeq,
    headHash,
    prevSignature,
    prevExpiresAt,
    expiresAt,
    createdAt,
    reconciledThrough,
    algorithm,
    keyFingerprint,
  };
  return digest.format === DIGEST_FORMAT ? { ...fields, prevDigestHash: digest.prevDigestHash } : fields;
}

/** The bytes a digest's signature is over. */
export function digestSigningInput(digest: UnsignedAuditDigest): Buffer {
  return Buffer.from(canonicalJson(signedFields(digest)), 'utf8');
}

/**
 * What a format-2 successor's `prevDigestHash` holds: lowercase hex SHA-256 of the UTF-8 canonical
 * JSON (RFC 8785) of the whole digest record, every field of its format including `signature`
 * (as its base64 text). So it pins the record exactly as the verifier reads it, signature bytes
 * and their spelling included.
 */
export function digestHash(digest: AuditDigest): string {
  return createHash('sha256')
    .update(canonicalJson({ ...signedFields(digest), signature: digest.signature }), 'utf8')
    .digest('hex');
}

/**
 * Signs digests: a KMS asymmetric key (ECC_NIST_P256, ECDSA_SHA_256) in AWS, an Ed25519 key file
 * locally. Failures of the key service reject with `DependencyUnavailableError`.
 */
export interface DigestSigner {
  readonly algorithm: DigestAlgorithm;
  /** The signature of `message` (the signer hashes it as its algorithm prescribes). */
  sign(message: Buffer): Promise<Buffer>;
  /** The public key as PEM (SubjectPublicKeyInfo), to verify digests without VaultPilot. */
  publicKeyPem(): Promise<string>;
}

/** SHA-256 (hex) of a public key's DER SubjectPublicKeyInfo: how digests name their key. */
export function publicKeyFingerprint(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** The algorithm a public key verifies with: decided by the key, never by the record it checks. */
export function algorithmOfKey(publicKey: KeyObject): DigestAlgorithm | undefined {
  if (publicKey.asymmetricKeyType === 'ed25519') return 'ED25519';
  if (publicKey.asymmetricKeyType === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ECDSA_SHA_256';
  }
  return undefined;
}

/** Whether `digest` carries a valid signature by `publicKey` over its other fields. */
export function verifyDigestSignature(digest: AuditDigest, publicKey: KeyObject): boolean {
  const algorithm = algorithmOfKey(publicKey);
  if (algorithm === undefined || algorithm !== digest.algorithm) return false;
  const signature = Buffer.from(digest.signature, 'base64');
  if (signature.length === 0 || signature.toString('base64') !== digest.signature) return false;
  try {
    return verify(
      algorithm === 'ED25519' ? null : 'sha256',
      digestSigningInput(digest),
      publicKey,
      signature,
    );
  } catch {
    // A malformed DER signature makes OpenSSL throw instead of answering false.
    return false;
  }
}

/** Signs an unsigned digest with `signer`. */
export async function signDigest(unsigned: UnsignedAuditDigest, signer: DigestSigner): Promise<AuditDigest> {
  const signature = await signer.sign(digestSigningInput(unsigned));
  return { ...unsigned, signature: signature.toString('base64') };
}
