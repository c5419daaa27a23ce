/**
 * The `DigestSigner` on an asymmetric KMS key (key spec ECC_NIST_P256, usage SIGN_VERIFY): KMS
 * `Sign` with `ECDSA_SHA_256` over the digest record itself (`MessageType: RAW`: KMS hashes it
 * with SHA-256; a record is well under the 4096-byte limit), answering a DER-encoded ECDSA
 * signature. The private key never leaves KMS; `GetPublicKey` gives the public half (DER
 * SubjectPublicKeyInfo), served as PEM, with which anyone verifies digests offline
 * (`crypto.verify('sha256', …)`, `openssl dgst -sha256 -verify`).
 */
import { createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { DigestSigner } from '../../core/audit/audit-digest.js';
import { DependencyUnavailableError } from '../../core/errors.js';

const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
/** KMS `Sign` takes raw messages of up to 4096 bytes. */
const MAX_RAW_MESSAGE_BYTES = 4096;
/** Worth retrying soon; anything else is given a longer Retry-After. */
const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'KMSInternalException',
  'DependencyTimeoutException',
]);

export interface KmsDigestSignerOptions {
  /** Key id, key ARN or alias of the signing key. */
  readonly keyId: string;
}

function kmsUnavailable(operation: string, error: unknown): DependencyUnavailableError {
  const name = error instanceof Error ? error.name : 'UnknownError';
  return new DependencyUnavailableError(
    'The audit signing key is unavailable; retry shortly',
    THROTTLING_ERRORS.has(name) ? 1 : 5,
    { cause: error, diagnostic: `KMS ${operation}: ${name}` },
  );
}

export class KmsDigestSigner implements DigestSigner {
  readonly algorithm = 'ECDSA_SHA_256' as const;
  private publicKey: Promise<string> | undefined;

  constructor(
    private readonly kms: KMSClient,
    private readonly options: KmsDigestSignerOptions,
  ) {}

  async sign(message: Buffer): Promise<Buffer> {
    if (message.length > MAX_RAW_MESSAGE_BYTES) {
      throw new RangeError(`A digest record of ${message.length} bytes exceeds what KMS signs raw`);
    }
    let signature: Uint8Array | undefined;
    try {
      ({ Signature: signature } = await this.kms.send(
        new SignCommand({
          KeyId: this.options.keyId,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: SIGNING_ALGORITHM,
        }),
      ));
    } catch (error: unknown) {
      throw kmsUnavailable('Sign', error);
    }
    if (signature === undefined || signature.length === 0) {
      throw kmsUnavailable('Sign', new Error('KMS answered without a signature'));
    }
    return Buffer.from(signature);
  }

  publicKeyPem(): Promise<string> {
    // The key's public half never changes; one GetPublicKey per process.
    this.publicKey ??= this.fetchPublicKey().catch((error: unknown) => {
      this.publicKey = undefined;
      throw error;
    });
    return this.publicKey;
  }

  private async fetchPublicKey(): Promise<string> {
    let answer;
    try {
      answer = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.options.keyId }));
    } catch (error: unknown) {
      throw kmsUnavailable('GetPublicKey', error);
    }
    const { PublicKey, KeySpec, KeyUsage, SigningAlgorithms } = answer;
    if (
      PublicKey === undefined ||
      KeySpec !== 'ECC_NIST_P256' ||
      KeyUsage !== 'SIGN_VERIFY' ||
      !(SigningAlgorithms ?? []).includes(SIGNING_ALGORITHM)
    ) {
      // A misconfigured deployment, not an outage: refuse loudly rather than sign with the wrong key.
      throw new Error(
        `The audit signing key must be an ECC_NIST_P256 SIGN_VERIFY key offering ${SIGNING_ALGORITHM} (got ${String(KeySpec)}, ${String(KeyUsage)})`,
      );
    }
    return createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
  }
}
