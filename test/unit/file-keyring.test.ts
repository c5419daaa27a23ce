/**
 * The local keyring on a real file system: file modes, reuse across instances, corrupt state,
 * rotation with re-wrap, and the same refusals KMS gives for a wrong context or key.
 */
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  FileKeyring,
  KEY_LEDGER,
  KeyringKeysMissingError,
  KeyringStateError,
} from '../../lambdas/adapters/local/file-keyring.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { type EncryptionContext, EnvelopeIntegrityError } from '../../lambdas/core/secrets/keyring.js';

const CONTEXT: EncryptionContext = { tenant: 'acme', path: 'prod/smtp', version: '0000000003' };
const POSIX = process.platform !== 'win32';

function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'vp-keyring-'));
}

function manifestOf(dataDir: string): { current: string; keys: string[] } {
  return JSON.parse(readFileSync(join(dataDir, 'keys', 'keyring.json'), 'utf8')) as {
    current: string;
    keys: string[];
  };
}

function cipherOf(keyring: FileKeyring): EnvelopeCipher {
  return new EnvelopeCipher(keyring, new DataKeyCache());
}

describe('FileKeyring', () => {
  it.runIf(POSIX)('creates a 0700 key directory and 0600 files on first use', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const keyring = new FileKeyring({ dataDir });

    // Act
    const keyId = await keyring.currentKeyId();

    // Assess
    const directory = join(dataDir, 'keys');
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(readdirSync(directory).sort()).toEqual([`${keyId}.key`, 'keyring.json']);
    for (const file of readdirSync(directory)) {
      expect(statSync(join(directory, file)).mode & 0o777, file).toBe(0o600);
    }
    expect(statSync(join(directory, `${keyId}.key`)).size).toBe(32);
    expect(manifestOf(dataDir)).toEqual({ version: 1, current: keyId, keys: [keyId] });
  });

  it('reuses its key across instances, so a value sealed by one opens in the next', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const first = new FileKeyring({ dataDir });
    const envelope = await cipherOf(first).seal(Buffer.from('kept'), CONTEXT);

    // Act
    const second = new FileKeyring({ dataDir });
    const opened = await cipherOf(second).open(envelope, CONTEXT);

    // Assess
    expect(opened.toString()).toBe('kept');
    expect(await second.currentKeyId()).toBe(await first.currentKeyId());
  });

  it('agrees on one key when two instances create the keyring at the same moment', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const [first, second] = [new FileKeyring({ dataDir }), new FileKeyring({ dataDir })];

    // Act
    const ids = await Promise.all([first.currentKeyId(), second.currentKeyId()]);
    const envelope = await cipherOf(first).seal(Buffer.from('shared'), CONTEXT);
    const opened = await cipherOf(second).open(envelope, CONTEXT);

    // Assess
    expect(ids[0]).toBe(ids[1]);
    expect(opened.toString()).toBe('shared');
    expect(readdirSync(join(dataDir, 'keys')).sort()).toEqual([`${ids[0]}.key`, 'keyring.json']);
  });

  it.each([
    ['a key file of the wrong size', (dir: string, keyId: string) => writeFileSync(kek(dir, keyId), 'short')],
    ['a manifest that is not JSON', (dir: string) => writeFileSync(join(dir, 'keys', 'keyring.json'), '{')],
    [
      'a manifest of the wrong shape',
      (dir: string) => writeFileSync(join(dir, 'keys', 'keyring.json'), '{"version":1,"keys":[]}'),
    ],
  ])('refuses %s with a KeyringStateError naming the file', async (_case, corrupt) => {
    // Prepare
    const dataDir = tempDataDir();
    const keyId = await new FileKeyring({ dataDir }).currentKeyId();
    corrupt(dataDir, keyId);

    // Act
    const error = await new FileKeyring({ dataDir }).currentKeyId().catch((rejection: unknown) => rejection);

    // Assess
    expect(error).toBeInstanceOf(KeyringStateError);
    expect((error as Error).message).toContain(join(dataDir, 'keys'));
    expect((error as Error).message).toMatch(/corrupt/);
  });

  it('refuses a manifest naming a key file that is missing, naming that key id', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const keyring = new FileKeyring({ dataDir });
    const first = await keyring.currentKeyId();
    const manifest = manifestOf(dataDir);
    writeFileSync(
      join(dataDir, 'keys', 'keyring.json'),
      JSON.stringify({ ...manifest, keys: [...manifest.keys, 'kek-0123456789abcdef'] }),
    );

    // Act
    const error = await new FileKeyring({ dataDir }).currentKeyId().catch((rejection: unknown) => rejection);

    // Assess
    expect(first).not.toBe('kek-0123456789abcdef');
    expect(error).toBeInstanceOf(KeyringKeysMissingError);
    expect((error as KeyringKeysMissingError).missingKeyIds).toEqual(['kek-0123456789abcdef']);
    expect((error as Error).message).toContain('kek-0123456789abcdef');
    expect((error as Error).message).toContain('keys/');
  });

  it.runIf(POSIX)('refuses a key file other users can read', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const keyId = await new FileKeyring({ dataDir }).currentKeyId();
    chmodSync(kek(dataDir, keyId), 0o644);

    // Act
    const loaded = new FileKeyring({ dataDir }).currentKeyId();

    // Assess
    await expect(loaded).rejects.toThrow(/accessible to other users/);
  });

  it.each([
    ['in memory', undefined],
    ['on disk', 'disk'],
  ])('rotates %s: old envelopes still open, rewrap moves them to the new key', async (_case, where) => {
    // Prepare
    const dataDir = where === undefined ? undefined : tempDataDir();
    const keyring = new FileKeyring({ dataDir });
    const cipher = cipherOf(keyring);
    const before = await cipher.seal(Buffer.from('rotate me'), CONTEXT);
    const oldKeyId = await keyring.currentKeyId();

    // Act
    const newKeyId = await keyring.rotate();
    const oldStillOpens = (await cipherOf(keyring).open(before, CONTEXT)).toString();
    const unwrap = vi.spyOn(keyring, 'unwrapDataKey');
    const generate = vi.spyOn(keyring, 'generateDataKey');
    const after = await cipher.rewrap(before, CONTEXT);
    const plaintextCalls = unwrap.mock.calls.length + generate.mock.calls.length;

    // Assess
    expect(newKeyId).not.toBe(oldKeyId);
    expect(await keyring.currentKeyId()).toBe(newKeyId);
    expect(oldStillOpens).toBe('rotate me');
    expect(plaintextCalls).toBe(0);
    expect(after).toEqual({ ...before, keyId: newKeyId, wrappedKey: after.wrappedKey });
    expect(after.wrappedKey).not.toBe(before.wrappedKey);
    const viaOld = await keyring.unwrapDataKey(Buffer.from(before.wrappedKey, 'base64'), oldKeyId, CONTEXT);
    const viaNew = await keyring.unwrapDataKey(Buffer.from(after.wrappedKey, 'base64'), newKeyId, CONTEXT);
    expect(viaNew.equals(viaOld)).toBe(true);
    const reloaded = dataDir === undefined ? keyring : new FileKeyring({ dataDir });
    expect((await cipherOf(reloaded).open(after, CONTEXT)).toString()).toBe('rotate me');
  });

  it('keeps every key in the manifest across rotations, and sees a rotation by another instance', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const running = new FileKeyring({ dataDir });
    const first = await running.currentKeyId();
    const cli = new FileKeyring({ dataDir });

    // Act
    const second = await cli.rotate();
    const sealedByCli = await cipherOf(cli).seal(Buffer.from('new'), CONTEXT);
    const opened = await cipherOf(running).open(sealedByCli, CONTEXT);

    // Assess
    expect(manifestOf(dataDir)).toEqual({ version: 1, current: second, keys: [first, second] });
    expect(opened.toString()).toBe('new');
  });

  it.each([
    ['another tenant', { ...CONTEXT, tenant: 'globex' }, undefined],
    ['another version', { ...CONTEXT, version: '0000000004' }, undefined],
    ['a key id it never issued', CONTEXT, 'kek-ffffffffffffffff'],
    ['a key id that is not a key id', CONTEXT, '../../etc/passwd'],
  ])('refuses to unwrap a data key for %s', async (_case, context, keyId) => {
    // Prepare
    const keyring = new FileKeyring({ dataDir: tempDataDir() });
    const dataKey = await keyring.generateDataKey(CONTEXT);

    // Act
    const unwrapped = keyring.unwrapDataKey(dataKey.wrapped, keyId ?? dataKey.keyId, context);

    // Assess
    await expect(unwrapped).rejects.toBeInstanceOf(EnvelopeIntegrityError);
  });

  it('refuses to unwrap under the wrong one of its own keys', async () => {
    // Prepare
    const keyring = new FileKeyring();
    const dataKey = await keyring.generateDataKey(CONTEXT);
    const other = await keyring.rotate();

    // Act
    const unwrapped = keyring.unwrapDataKey(dataKey.wrapped, other, CONTEXT);

    // Assess
    await expect(unwrapped).rejects.toBeInstanceOf(EnvelopeIntegrityError);
  });
});

describe('FileKeyring never silently replaces a lost key', () => {
  it('refuses to create a key when keys/ is gone but its ledger names keys, naming them', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const keyring = new FileKeyring({ dataDir });
    const keyId = await keyring.currentKeyId();
    rmSync(join(dataDir, 'keys'), { recursive: true });

    // Act
    const error = await new FileKeyring({ dataDir }).currentKeyId().catch((rejection: unknown) => rejection);

    // Assess
    expect(error).toBeInstanceOf(KeyringKeysMissingError);
    expect((error as KeyringKeysMissingError).missingKeyIds).toEqual([keyId]);
    expect((error as Error).message).toContain(keyId);
    expect((error as Error).message).toContain("data directory's keys/ folder");
    expect(readdirSync(join(dataDir, 'keys'))).toEqual([]);
  });

  it('refuses to create a key when the stored data names keys it does not have (no ledger either)', async () => {
    // Prepare
    const dataDir = tempDataDir();

    // Act
    const error = await new FileKeyring({ dataDir })
      .verifyHolds(['kek-00000000000000aa'])
      .catch((rejection: unknown) => rejection);

    // Assess
    expect(error).toBeInstanceOf(KeyringKeysMissingError);
    expect((error as KeyringKeysMissingError).missingKeyIds).toEqual(['kek-00000000000000aa']);
    expect(readdirSync(join(dataDir, 'keys')).filter((file) => file.endsWith('.key'))).toEqual([]);
  });

  it('creates the first key of a data directory whose data names none', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const keyring = new FileKeyring({ dataDir });

    // Act
    await keyring.verifyHolds([]);

    // Assess
    const keyId = await keyring.currentKeyId();
    expect(JSON.parse(readFileSync(join(dataDir, KEY_LEDGER), 'utf8'))).toEqual({
      version: 1,
      keys: [keyId],
    });
  });

  it('names a key the data uses that a restored, older keys/ folder lacks', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const keyring = new FileKeyring({ dataDir });
    const old = await keyring.currentKeyId();
    const backup = mkdtempSync(join(tmpdir(), 'vp-keys-backup-'));
    cpSync(join(dataDir, 'keys'), backup, { recursive: true });
    const newer = await keyring.rotate();
    rmSync(join(dataDir, 'keys'), { recursive: true });
    cpSync(backup, join(dataDir, 'keys'), { recursive: true });

    // Act
    const error = await new FileKeyring({ dataDir })
      .verifyHolds([old, newer])
      .catch((rejection: unknown) => rejection);

    // Assess
    expect(error).toBeInstanceOf(KeyringKeysMissingError);
    expect((error as KeyringKeysMissingError).missingKeyIds).toEqual([newer]);
  });

  it('fails writes and uncached unwraps closed while keys/ is gone, and works again once it is restored', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const keyring = new FileKeyring({ dataDir });
    const dataKey = await keyring.generateDataKey(CONTEXT);
    const backup = mkdtempSync(join(tmpdir(), 'vp-keys-backup-'));
    cpSync(join(dataDir, 'keys'), backup, { recursive: true });
    rmSync(join(dataDir, 'keys'), { recursive: true });

    // Act
    const write = await keyring.generateDataKey(CONTEXT).catch((rejection: unknown) => rejection);
    const read = await keyring
      .unwrapDataKey(dataKey.wrapped, dataKey.keyId, CONTEXT)
      .catch((rejection: unknown) => rejection);
    const rotation = await keyring.rotate().catch((rejection: unknown) => rejection);
    const freshInstance = await new FileKeyring({ dataDir })
      .generateDataKey(CONTEXT)
      .catch((rejection: unknown) => rejection);
    cpSync(backup, join(dataDir, 'keys'), { recursive: true });
    const restored = await keyring.unwrapDataKey(dataKey.wrapped, dataKey.keyId, CONTEXT);
    const next = await new FileKeyring({ dataDir }).generateDataKey(CONTEXT);

    // Assess
    for (const refusal of [write, read, rotation, freshInstance]) {
      expect(refusal).toBeInstanceOf(KeyringKeysMissingError);
      expect((refusal as Error).message).toContain(dataKey.keyId);
    }
    expect(restored.equals(dataKey.plaintext)).toBe(true);
    expect(next.keyId).toBe(dataKey.keyId);
    expect(readdirSync(join(dataDir, 'keys')).sort()).toEqual([`${dataKey.keyId}.key`, 'keyring.json']);
  });
});

function kek(dataDir: string, keyId: string): string {
  return join(dataDir, 'keys', `${keyId}.key`);
}
