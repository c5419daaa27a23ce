/**
 * The KMS keyring against a mocked KMSClient, with response shapes from the AWS KMS API
 * reference: the requests it sends (key, key spec, encryption context), the mapping of KMS
 * errors to 503 or integrity failures, and ReEncrypt for re-wrapping.
 */
import { randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  DependencyTimeoutException,
  DescribeKeyCommand,
  DisabledException,
  GenerateDataKeyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  KMSInternalException,
  KMSInvalidStateException,
  KMSServiceException,
  LimitExceededException,
  NotFoundException,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsKeyring } from '../../lambdas/adapters/aws/kms-keyring.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { type EncryptionContext, EnvelopeIntegrityError } from '../../lambdas/core/secrets/keyring.js';
import { toHttpError } from '../../lambdas/shared/http-errors.js';

const ALIAS_ARN = 'arn:aws:kms:us-east-2:111122223333:alias/vaultpilot-secrets';
const KEY_ARN = 'arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const NEW_KEY_ARN = 'arn:aws:kms:us-east-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';
const CONTEXT: EncryptionContext = { tenant: 'acme', path: 'prod/github-token', version: '0000000002' };
const KMS_CONTEXT = {
  service: 'vaultpilot',
  tenant: 'acme',
  path: 'prod/github-token',
  version: '0000000002',
};
const METADATA = { httpStatusCode: 400, requestId: 'b1c2d3e4-0000-4000-8000-000000000000' };

const kms = mockClient(KMSClient);

function newKeyring(): KmsKeyring {
  return new KmsKeyring(new KMSClient({ region: 'us-east-2' }), { keyId: ALIAS_ARN });
}

function serviceError(name: string, message: string): KMSServiceException {
  return new KMSServiceException({ name, $fault: 'client', $metadata: METADATA, message });
}

describe('KmsKeyring', () => {
  beforeEach(() => {
    kms.reset();
  });

  it('generates an AES-256 data key under the configured key with the encryption context', async () => {
    // Prepare
    const plaintext = new Uint8Array(randomBytes(32));
    const expected = Buffer.from(plaintext);
    const blob = new Uint8Array(randomBytes(184));
    kms.on(GenerateDataKeyCommand).resolves({
      CiphertextBlob: blob,
      Plaintext: plaintext,
      KeyId: KEY_ARN,
      KeyMaterialId: 'a'.repeat(64),
    });

    // Act
    const dataKey = await newKeyring().generateDataKey(CONTEXT);

    // Assess
    expect(kms.commandCalls(GenerateDataKeyCommand)[0]?.args[0].input).toEqual({
      KeyId: ALIAS_ARN,
      KeySpec: 'AES_256',
      EncryptionContext: KMS_CONTEXT,
    });
    expect(dataKey.keyId).toBe(KEY_ARN);
    expect(dataKey.plaintext.equals(expected)).toBe(true);
    expect(dataKey.wrapped.equals(Buffer.from(blob))).toBe(true);
    expect(plaintext.every((byte) => byte === 0)).toBe(true); // the SDK's copy was wiped
  });

  it('seals and opens an envelope, decrypting with the key ARN and the same context', async () => {
    // Prepare
    const key = randomBytes(32);
    const blob = new Uint8Array(randomBytes(184));
    kms.on(GenerateDataKeyCommand).callsFake(() => ({
      CiphertextBlob: blob,
      Plaintext: new Uint8Array(key),
      KeyId: KEY_ARN,
    }));
    kms.on(DecryptCommand).callsFake(() => ({
      KeyId: KEY_ARN,
      Plaintext: new Uint8Array(key),
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    }));
    const keyring = newKeyring();
    const envelope = await new EnvelopeCipher(keyring, new DataKeyCache()).seal(
      Buffer.from('ghp_x'),
      CONTEXT,
    );

    // Act
    const opened = await new EnvelopeCipher(keyring, new DataKeyCache()).open(envelope, CONTEXT);

    // Assess
    expect(opened.toString()).toBe('ghp_x');
    expect(envelope.keyId).toBe(KEY_ARN);
    const decrypt = kms.commandCalls(DecryptCommand);
    expect(decrypt).toHaveLength(1);
    expect(decrypt[0]?.args[0].input).toEqual({
      CiphertextBlob: Buffer.from(blob),
      KeyId: KEY_ARN,
      EncryptionContext: KMS_CONTEXT,
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
  });

  it('rewraps with ReEncrypt under the configured key, never seeing the data key', async () => {
    // Prepare
    const oldBlob = randomBytes(184);
    const newBlob = new Uint8Array(randomBytes(184));
    kms.on(ReEncryptCommand).resolves({
      CiphertextBlob: newBlob,
      KeyId: NEW_KEY_ARN,
      SourceKeyId: KEY_ARN,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });

    // Act
    const rewrapped = await newKeyring().rewrapDataKey(oldBlob, KEY_ARN, CONTEXT);

    // Assess
    expect(kms.commandCalls(ReEncryptCommand)[0]?.args[0].input).toEqual({
      CiphertextBlob: oldBlob,
      SourceKeyId: KEY_ARN,
      SourceEncryptionContext: KMS_CONTEXT,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationKeyId: ALIAS_ARN,
      DestinationEncryptionContext: KMS_CONTEXT,
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
    expect(rewrapped).toEqual({ wrapped: Buffer.from(newBlob), keyId: NEW_KEY_ARN });
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(0);
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
  });

  it('resolves the current key ARN with DescribeKey and caches it for a while', async () => {
    // Prepare
    let now = Date.UTC(2030, 0, 1);
    const clock = { now: () => new Date(now) };
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: {
        AWSAccountId: '111122223333',
        Arn: KEY_ARN,
        CreationDate: new Date('2030-01-01T00:00:00Z'),
        Enabled: true,
        KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
        KeyManager: 'CUSTOMER',
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyState: 'Enabled',
        KeyUsage: 'ENCRYPT_DECRYPT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        MultiRegion: false,
        Origin: 'AWS_KMS',
      },
    });
    const keyring = new KmsKeyring(new KMSClient({ region: 'us-east-2' }), {
      keyId: ALIAS_ARN,
      currentKeyTtlMs: 60_000,
      clock,
    });

    // Act
    const first = await keyring.currentKeyId();
    now += 59_999;
    await keyring.currentKeyId();
    const callsWithinTtl = kms.commandCalls(DescribeKeyCommand).length;
    now += 1;
    await keyring.currentKeyId();

    // Assess
    expect(first).toBe(KEY_ARN);
    expect(callsWithinTtl).toBe(1);
    expect(kms.commandCalls(DescribeKeyCommand)).toHaveLength(2);
    expect(kms.commandCalls(DescribeKeyCommand)[0]?.args[0].input).toEqual({ KeyId: ALIAS_ARN });
  });

  it.each([
    ['ThrottlingException', serviceError('ThrottlingException', 'Rate exceeded'), 1],
    ['LimitExceededException', new LimitExceededException({ $metadata: METADATA, message: 'limit' }), 1],
    ['KMSInternalException', new KMSInternalException({ $metadata: METADATA, message: 'internal' }), 1],
    ['DependencyTimeoutException', new DependencyTimeoutException({ $metadata: METADATA, message: 't' }), 1],
    [
      'DisabledException',
      new DisabledException({ $metadata: METADATA, message: `${KEY_ARN} is disabled.` }),
      5,
    ],
    [
      'KMSInvalidStateException',
      new KMSInvalidStateException({ $metadata: METADATA, message: 'pending' }),
      5,
    ],
    [
      'NotFoundException',
      new NotFoundException({ $metadata: METADATA, message: `Key '${KEY_ARN}' does not exist` }),
      5,
    ],
    ['AccessDeniedException', serviceError('AccessDeniedException', 'User is not authorized'), 5],
    ['TimeoutError', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }), 5],
    ['Error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 5],
  ])(
    'turns %s from Decrypt into a 503 with Retry-After that names no key',
    async (name, error, retryAfter) => {
      // Prepare
      kms.on(DecryptCommand).rejects(error);

      // Act
      const failure = await newKeyring()
        .unwrapDataKey(randomBytes(184), KEY_ARN, CONTEXT)
        .catch((rejection: unknown) => rejection);

      // Assess
      expect(failure).toBeInstanceOf(DependencyUnavailableError);
      // The operation and exception are for the logs only; the caller reads what is unavailable.
      expect((failure as DependencyUnavailableError).diagnostic).toBe(`KMS Decrypt: ${name}`);
      expect((failure as Error).message).toBe('The key service is unavailable; retry shortly');
      expect((failure as Error).message).not.toContain('111122223333');
      expect((failure as Error).cause).toBe(error);
      const http = toHttpError(failure, 'request-1');
      expect(http.statusCode).toBe(503);
      expect(http.headers['Retry-After']).toBe(String(retryAfter));
    },
  );

  it.each([
    ['InvalidCiphertextException', new InvalidCiphertextException({ $metadata: METADATA, message: '' })],
    ['IncorrectKeyException', new IncorrectKeyException({ $metadata: METADATA, message: 'wrong key' })],
  ])('turns %s into an integrity failure (a generic 500)', async (_name, error) => {
    // Prepare
    kms.on(DecryptCommand).rejects(error);

    // Act
    const failure = await newKeyring()
      .unwrapDataKey(randomBytes(184), KEY_ARN, CONTEXT)
      .catch((rejection: unknown) => rejection);

    // Assess
    expect(failure).toBeInstanceOf(EnvelopeIntegrityError);
    expect(toHttpError(failure, 'request-1').statusCode).toBe(500);
    expect(toHttpError(failure, 'request-1').body.error.code).toBe('IntegrityFailure');
  });

  it('fails a read closed when KMS throttles on a cache miss', async () => {
    // Prepare
    const key = randomBytes(32);
    kms.on(GenerateDataKeyCommand).callsFake(() => ({
      CiphertextBlob: new Uint8Array(randomBytes(184)),
      Plaintext: new Uint8Array(key),
      KeyId: KEY_ARN,
    }));
    kms.on(DecryptCommand).rejects(serviceError('ThrottlingException', 'Rate exceeded'));
    const cipher = new EnvelopeCipher(newKeyring(), new DataKeyCache());
    const envelope = await cipher.seal(Buffer.from('value'), CONTEXT);

    // Act
    const opened = cipher.open(envelope, CONTEXT);

    // Assess
    await expect(opened).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('refuses a GenerateDataKey answer without a 32-byte plaintext key', async () => {
    // Prepare
    kms.on(GenerateDataKeyCommand).resolves({
      CiphertextBlob: new Uint8Array(randomBytes(184)),
      Plaintext: new Uint8Array(16),
      KeyId: KEY_ARN,
    });

    // Act
    const generated = newKeyring().generateDataKey(CONTEXT);

    // Assess
    await expect(generated).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});
