/**
 * The digest signers. KMS against a mocked KMSClient answering with response shapes from the KMS
 * API reference, backed by a real P-256 key generated here, so its DER signatures are real ones
 * the verifier checks; the local Ed25519 key in its 0600 file. Both sign digests that verify
 * offline with the public key alone.
 */
import { createPublicKey, generateKeyPairSync, sign as signWithKey } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetPublicKeyCommand,
  KMSClient,
  KMSInvalidStateException,
  KMSServiceException,
  SignCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsDigestSigner } from '../../lambdas/adapters/aws/kms-digest-signer.js';
import {
  FileDigestSigner,
  SIGNING_KEY_FILE,
  SIGNING_KEY_RECORD,
} from '../../lambdas/adapters/local/file-digest-signer.js';
import { KeyringStateError } from '../../lambdas/adapters/local/file-keyring.js';
import {
  type AuditDigest,
  DIGEST_FORMAT,
  type DigestSigner,
  publicKeyFingerprint,
  signDigest,
  verifyDigestSignature,
} from '../../lambdas/core/audit/audit-digest.js';
import { verifyAuditChain } from '../../lambdas/core/audit/chain-verifier.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { asRecords, buildChain } from '../support/audit-chain.js';

const KEY_ARN = 'arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const METADATA = { httpStatusCode: 400, requestId: 'b1c2d3e4-0000-4000-8000-000000000000' };
const kms = mockClient(KMSClient);
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

async function digestOf(signer: DigestSigner): Promise<AuditDigest> {
  return signDigest(
    {
      format: DIGEST_FORMAT,
      tenant: 'acme',
      fromSeq: 1,
      toSeq: 10,
      headHash: 'a'.repeat(64),
      prevSignature: '',
      prevDigestHash: '',
      prevExpiresAt: 0,
      expiresAt: 1_900_000_000,
      createdAt: '2025-03-01T12:00:00.000Z',
      reconciledThrough: '2025-03-01T11:55:00.000Z',
      algorithm: signer.algorithm,
      keyFingerprint: publicKeyFingerprint(await signer.publicKeyPem()),
    },
    signer,
  );
}

describe('KmsDigestSigner', () => {
  beforeEach(() => {
    kms.reset();
    // GetPublicKey answers the DER SubjectPublicKeyInfo; Sign answers a DER ECDSA signature.
    kms.on(GetPublicKeyCommand).resolves({
      KeyId: KEY_ARN,
      PublicKey: new Uint8Array(p256.publicKey.export({ type: 'spki', format: 'der' })),
      CustomerMasterKeySpec: 'ECC_NIST_P256',
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    kms.on(SignCommand).callsFake((input: { Message: Uint8Array; MessageType: string }) => {
      // KMS hashes a RAW message with SHA-256 and signs it with the key's private half.
      if (input.MessageType !== 'RAW') throw new Error('this stand-in signs RAW messages only');
      const signature = signWithKey('sha256', Buffer.from(input.Message), {
        key: p256.privateKey,
        dsaEncoding: 'der',
      });
      return { KeyId: KEY_ARN, Signature: new Uint8Array(signature), SigningAlgorithm: 'ECDSA_SHA_256' };
    });
  });

  it('signs the digest record with ECDSA_SHA_256 as a RAW message, verifiable offline', async () => {
    // Prepare
    const signer = new KmsDigestSigner(new KMSClient({ region: 'us-east-2' }), { keyId: KEY_ARN });

    // Act
    const digest = await digestOf(signer);
    const pem = await signer.publicKeyPem();

    // Assess
    const [call] = kms.commandCalls(SignCommand);
    expect(call?.args[0].input).toMatchObject({
      KeyId: KEY_ARN,
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(Buffer.from(call?.args[0].input.Message ?? []).toString('utf8')).toContain('"headHash"');
    // A DER ECDSA signature: SEQUENCE of two INTEGERs.
    expect(Buffer.from(digest.signature, 'base64')[0]).toBe(0x30);
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(digest.algorithm).toBe('ECDSA_SHA_256');
    expect(digest.keyFingerprint).toBe(publicKeyFingerprint(p256.publicKey));
    expect(verifyDigestSignature(digest, createPublicKey(pem))).toBe(true);
    expect(verifyDigestSignature({ ...digest, toSeq: 11 }, createPublicKey(pem))).toBe(false);
    // One GetPublicKey per process.
    await signer.publicKeyPem();
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
  });

  it('signs whole chains whose digests the verifier accepts, and a flipped signature bit it refuses', async () => {
    const signer = new KmsDigestSigner(new KMSClient({ region: 'us-east-2' }), { keyId: KEY_ARN });
    const { entries, digests } = await buildChain({ tenant: 'acme', count: 300, digestEvery: 100, signer });
    const options = { tenant: 'acme', publicKey: p256.publicKey, now: 0 };
    expect(verifyAuditChain(asRecords(entries), { ...options, digests })).toMatchObject({
      ok: true,
      digestsVerified: 3,
    });
    const der = Buffer.from(digests[1]?.signature ?? '', 'base64');
    der[der.length - 1] = (der.at(-1) ?? 0) ^ 1;
    const tampered = digests.map((digest, i) =>
      i === 1 ? { ...digest, signature: der.toString('base64') } : digest,
    );
    expect(verifyAuditChain(asRecords(entries), { ...options, digests: tampered }).firstBad).toMatchObject({
      seq: 101,
      reason: 'bad-signature',
    });
  });

  it('fails closed with 503 when KMS throttles or the key is disabled', async () => {
    kms.on(SignCommand).rejects(
      new KMSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: METADATA,
        message: 'Rate exceeded',
      }),
    );
    const signer = new KmsDigestSigner(new KMSClient({ region: 'us-east-2' }), { keyId: KEY_ARN });
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({
      name: 'DependencyUnavailableError',
      retryAfterSeconds: 1,
    });
    kms
      .on(SignCommand)
      .rejects(new KMSInvalidStateException({ $metadata: METADATA, message: 'arn:... is disabled.' }));
    await expect(signer.sign(Buffer.from('x'))).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('refuses a key that is not an ECC_NIST_P256 signing key', async () => {
    kms.on(GetPublicKeyCommand).resolves({
      KeyId: KEY_ARN,
      PublicKey: new Uint8Array(p256.publicKey.export({ type: 'spki', format: 'der' })),
      KeySpec: 'RSA_2048',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EncryptionAlgorithms: ['RSAES_OAEP_SHA_256'],
    });
    const signer = new KmsDigestSigner(new KMSClient({ region: 'us-east-2' }), { keyId: KEY_ARN });
    await expect(signer.publicKeyPem()).rejects.toThrow(/ECC_NIST_P256/);
  });
});

describe('FileDigestSigner', () => {
  it('creates one Ed25519 key in a 0600 file and keeps using it', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'vaultpilot-signer-'));

    // Act: two signers at once, as two processes might start.
    const [a, b] = [new FileDigestSigner({ dataDir }), new FileDigestSigner({ dataDir })];
    const [pemA, pemB] = await Promise.all([a.publicKeyPem(), b.publicKeyPem()]);
    const digest = await digestOf(new FileDigestSigner({ dataDir }));

    // Assess
    expect(pemA).toBe(pemB);
    const file = join(dataDir, 'keys', SIGNING_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'keys'))).mode & 0o777).toBe(0o700);
    expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(digest.algorithm).toBe('ED25519');
    expect(verifyDigestSignature(digest, createPublicKey(pemA))).toBe(true);
  });

  it('refuses a key file others can read, and a corrupt one', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'vaultpilot-signer-'));
    await new FileDigestSigner({ dataDir }).publicKeyPem();
    const file = join(dataDir, 'keys', SIGNING_KEY_FILE);
    await writeFile(file, 'not a key', { mode: 0o644 });
    const { chmod } = await import('node:fs/promises');
    await chmod(file, 0o644);
    await expect(new FileDigestSigner({ dataDir }).publicKeyPem()).rejects.toThrow(
      /accessible to other users/,
    );
    await chmod(file, 0o600);
    await expect(new FileDigestSigner({ dataDir }).publicKeyPem()).rejects.toThrow(/corrupt/);
  });

  it('never replaces a lost signing key silently: a missing key file is refused while its public half is recorded', async () => {
    // Prepare: a data directory that has signed a digest.
    const dataDir = await mkdtemp(join(tmpdir(), 'vaultpilot-signer-'));
    const pem = await new FileDigestSigner({ dataDir }).publicKeyPem();
    expect(await readFile(join(dataDir, SIGNING_KEY_RECORD), 'utf8')).toBe(pem);
    await rm(join(dataDir, 'keys', SIGNING_KEY_FILE));

    // Act
    const signer = new FileDigestSigner({ dataDir });

    // Assess: no new key, an error that says what to restore, and the check at start-up agrees.
    await expect(signer.publicKeyPem()).rejects.toThrow(/is missing.*Restore keys\//s);
    await expect(signer.verifyPresent()).rejects.toThrow(KeyringStateError);
    await expect(stat(join(dataDir, 'keys', SIGNING_KEY_FILE))).rejects.toThrow(/ENOENT/);

    // Act: the operator gives the key up for good by removing the record.
    await rm(join(dataDir, SIGNING_KEY_RECORD));
    const replacement = await new FileDigestSigner({ dataDir }).publicKeyPem();

    // Assess
    expect(replacement).not.toBe(pem);
    expect(await readFile(join(dataDir, SIGNING_KEY_RECORD), 'utf8')).toBe(replacement);
  });

  it('refuses a key file that is not the recorded key, and records the key of an older data directory', async () => {
    // Prepare: two data directories; the second one's key moved into the first.
    const [first, second] = await Promise.all([
      mkdtemp(join(tmpdir(), 'vaultpilot-signer-')),
      mkdtemp(join(tmpdir(), 'vaultpilot-signer-')),
    ]);
    await new FileDigestSigner({ dataDir: first }).publicKeyPem();
    const secondPem = await new FileDigestSigner({ dataDir: second }).publicKeyPem();
    await copyFile(join(second, 'keys', SIGNING_KEY_FILE), join(first, 'keys', SIGNING_KEY_FILE));

    // Act + Assess: the foreign key is refused.
    await expect(new FileDigestSigner({ dataDir: first }).verifyPresent()).rejects.toThrow(
      /is not the key this data directory signs with/,
    );

    // Act: a data directory from before the record existed (key, no record) gets one.
    await rm(join(second, SIGNING_KEY_RECORD));
    await new FileDigestSigner({ dataDir: second }).verifyPresent();
    const signer = new FileDigestSigner({ dataDir: second });

    // Assess
    expect(await signer.publicKeyPem()).toBe(secondPem);
    expect(await readFile(join(second, SIGNING_KEY_RECORD), 'utf8')).toBe(secondPem);
  });

  it('keeps the key in memory without a data directory', async () => {
    const signer = new FileDigestSigner();
    expect(await signer.publicKeyPem()).toBe(await signer.publicKeyPem());
    const digest = await digestOf(signer);
    expect(verifyDigestSignature(digest, createPublicKey(await signer.publicKeyPem()))).toBe(true);
  });
});
