/**
 * The `Keyring` on AWS KMS: data keys from `GenerateDataKey`, unwrapped with `Decrypt` and moved
 * to the current key with `ReEncrypt`, so a re-wrap never brings the data key out of KMS. The
 * encryption context is the secret version's tenant, path and version plus `service=vaultpilot`,
 * which key policies and grants can require (`kms:EncryptionContext:service`) and CloudTrail
 * records with every call.
 *
 * Every KMS failure fails closed. A ciphertext KMS refuses to authenticate is an integrity
 * incident; anything else (throttling, network, access denied, a disabled or unknown key) is a
 * `DependencyUnavailableError` whose message names the operation and error, never the key.
 */
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { DependencyUnavailableError } from '../../core/errors.js';
import { type Clock, systemClock } from '../../core/ports.js';
import {
  type DataKey,
  type EncryptionContext,
  EnvelopeIntegrityError,
  type Keyring,
} from '../../core/secrets/keyring.js';

export interface KmsKeyringOptions {
  /** The key id, key ARN or alias ARN that new data keys are generated under. */
  readonly keyId: string;
  /** How long `currentKeyId` trusts its last DescribeKey (an alias can be re-pointed). */
  readonly currentKeyTtlMs?: number;
  readonly clock?: Clock;
}

/** KMS answered, but the ciphertext is not what was encrypted under this key and context. */
const INTEGRITY_ERRORS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
/** Worth retrying soon; anything else is given a longer Retry-After. */
const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'KMSInternalException',
  'DependencyTimeoutException',
]);

const KEY_BYTES = 32;
const ALGORITHM = 'SYMMETRIC_DEFAULT';

export class KmsKeyring implements Keyring {
  private readonly keyId: string;
  private readonly currentKeyTtlMs: number;
  private readonly clock: Clock;
  private current: { readonly arn: string; readonly until: number } | undefined;

  constructor(
    private readonly kms: KMSClient,
    options: KmsKeyringOptions,
  ) {
    this.keyId = options.keyId;
    this.currentKeyTtlMs = options.currentKeyTtlMs ?? 5 * 60_000;
    this.clock = options.clock ?? systemClock;
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const output = await this.call('GenerateDataKey', () =>
      this.kms.send(
        new GenerateDataKeyCommand({
          KeyId: this.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: kmsContext(context),
        }),
      ),
    );
    const plaintext = takeKey(output.Plaintext, 'GenerateDataKey');
    return {
      plaintext,
      wrapped: Buffer.from(required(output.CiphertextBlob, 'GenerateDataKey')),
      keyId: required(output.KeyId, 'GenerateDataKey'),
    };
  }

  async unwrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer> {
    const output = await this.call('Decrypt', () =>
      this.kms.send(
        new DecryptCommand({
          CiphertextBlob: wrapped,
          // Naming the key makes KMS refuse a ciphertext made under any other key.
          KeyId: keyId,
          EncryptionContext: kmsContext(context),
          EncryptionAlgorithm: ALGORITHM,
        }),
      ),
    );
    return takeKey(output.Plaintext, 'Decrypt');
  }

  async rewrapDataKey(
    wrapped: Buffer,
    keyId: string,
    context: EncryptionContext,
  ): Promise<{ wrapped: Buffer; keyId: string }> {
    const encryptionContext = kmsContext(context);
    const output = await this.call('ReEncrypt', () =>
      this.kms.send(
        new ReEncryptCommand({
          CiphertextBlob: wrapped,
          SourceKeyId: keyId,
          SourceEncryptionContext: encryptionContext,
          SourceEncryptionAlgorithm: ALGORITHM,
          DestinationKeyId: this.keyId,
          DestinationEncryptionContext: encryptionContext,
          DestinationEncryptionAlgorithm: ALGORITHM,
        }),
      ),
    );
    return {
      wrapped: Buffer.from(required(output.CiphertextBlob, 'ReEncrypt')),
      keyId: required(output.KeyId, 'ReEncrypt'),
    };
  }

  /** The ARN of the configured key (an alias resolved), as GenerateDataKey reports it. */
  async currentKeyId(): Promise<string> {
    const now = this.clock.now().getTime();
    if (this.current !== undefined && now < this.current.until) return this.current.arn;
    const output = await this.call('DescribeKey', () =>
      this.kms.send(new DescribeKeyCommand({ KeyId: this.keyId })),
    );
    const arn = required(output.KeyMetadata?.Arn, 'DescribeKey');
    this.current = { arn, until: now + this.currentKeyTtlMs };
    return arn;
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error: unknown) {
      throw toKeyringError(operation, error);
    }
  }
}

function kmsContext(context: EncryptionContext): Record<string, string> {
  return { service: 'vaultpilot', tenant: context.tenant, path: context.path, version: context.version };
}

/** Maps anything `KMSClient#send` threw; every case fails closed. */
export function toKeyringError(operation: string, error: unknown): Error {
  const name = error instanceof Error ? error.name : 'UnknownError';
  if (INTEGRITY_ERRORS.has(name)) {
    return new EnvelopeIntegrityError(`KMS ${operation} refused a wrapped data key (${name})`, {
      cause: error,
    });
  }
  const retryAfterSeconds = THROTTLING_ERRORS.has(name) ? 1 : 5;
  return new DependencyUnavailableError('The key service is unavailable; retry shortly', retryAfterSeconds, {
    cause: error,
    diagnostic: `KMS ${operation}: ${name}`,
  });
}

/** Copies the SDK's plaintext key into a buffer the caller owns, and wipes the SDK's copy. */
function takeKey(plaintext: Uint8Array | undefined, operation: string): Buffer {
  const source = required(plaintext, operation);
  try {
    if (source.length !== KEY_BYTES) {
      throw new DependencyUnavailableError(`KMS ${operation} returned a key of the wrong size`, 5);
    }
    return Buffer.from(source);
  } finally {
    source.fill(0);
  }
}

function required<T>(value: T | undefined, operation: string): T {
  if (value === undefined) {
    throw new DependencyUnavailableError(`KMS ${operation} returned an incomplete response`, 5);
  }
  return value;
}
