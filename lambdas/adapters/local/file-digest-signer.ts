/**
 * The local runtime's `DigestSigner`: an Ed25519 key in `<dataDir>/keys/audit-signing-key.pem`
 * (PKCS #8, mode 0600, in the 0700 key directory the local keyring uses), created on first use.
 * Without a data directory the key lives in memory (tests, `--in-memory`). The public key is
 * what `GET /audit/public-key` serves, so exports verify without VaultPilot.
 *
 * The key is never silently replaced: its public half is also kept outside `keys/`, in
 * `<dataDir>/audit-signing-key.pub` (not secret). While that file exists, a missing private key is
 * refused instead of answered with a new one, which would leave every digest signed so far
 * unverifiable by the key the data directory then serves (the keyring's ledger does the same for
 * key-encryption keys).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DigestSigner } from '../../core/audit/audit-digest.js';
import { KeyringStateError } from './file-keyring.js';

export const SIGNING_KEY_FILE = 'audit-signing-key.pem';
/** The public half, beside `keys/` rather than in it, so that losing `keys/` is noticed. */
export const SIGNING_KEY_RECORD = 'audit-signing-key.pub';

export interface FileDigestSignerOptions {
  /** The runtime's data directory; undefined keeps the key in memory. */
  readonly dataDir?: string | undefined;
}

function errorCode(error: unknown): string {
  return error instanceof Error && 'code' in error ? String(error.code) : 'unknown error';
}

export class FileDigestSigner implements DigestSigner {
  readonly algorithm = 'ED25519' as const;
  /** The key file, or undefined in memory. */
  readonly file: string | undefined;
  /** The public key this data directory signs with, once a key exists; undefined in memory. */
  readonly record: string | undefined;
  private key: Promise<KeyObject> | undefined;

  constructor(options: FileDigestSignerOptions = {}) {
    this.file = options.dataDir === undefined ? undefined : join(options.dataDir, 'keys', SIGNING_KEY_FILE);
    this.record = options.dataDir === undefined ? undefined : join(options.dataDir, SIGNING_KEY_RECORD);
  }

  /**
   * Checks, without creating anything, that the signing key is there when the data directory has
   * signed with one before (the runtime calls it before it serves).
   */
  async verifyPresent(): Promise<void> {
    if (this.file === undefined) return;
    const recorded = await this.readRecord();
    if (recorded === undefined) return;
    const existing = await this.read(this.file);
    if (existing === undefined) throw this.missingKey();
    this.checkRecord(existing, recorded);
  }

  async sign(message: Buffer): Promise<Buffer> {
    return sign(null, message, await this.privateKey());
  }

  async publicKeyPem(): Promise<string> {
    return publicPem(await this.privateKey());
  }

  private privateKey(): Promise<KeyObject> {
    if (this.key === undefined) {
      const loading = this.file === undefined ? Promise.resolve(generate()) : this.loadOrCreate(this.file);
      // A failed load is not remembered, so fixing the file does not need a restart.
      this.key = loading.catch((error: unknown) => {
        this.key = undefined;
        throw error;
      });
    }
    return this.key;
  }

  private async loadOrCreate(file: string): Promise<KeyObject> {
    const directory = join(file, '..');
    try {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      if (process.platform !== 'win32') await chmod(directory, 0o700);
    } catch (error: unknown) {
      throw new KeyringStateError(`The key directory ${directory} cannot be used (${errorCode(error)})`, {
        cause: error,
      });
    }
    const recorded = await this.readRecord();
    const existing = await this.read(file);
    if (existing !== undefined) {
      if (recorded === undefined) await this.writeRecord(existing);
      else this.checkRecord(existing, recorded);
      return existing;
    }
    if (recorded !== undefined) throw this.missingKey();
    const key = generate();
    // Temporary file, fsync, then link into place: the key file is whole or absent, and a
    // process that loses the race to create it uses the winner's key.
    const temporary = join(directory, `.${SIGNING_KEY_FILE}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(key.export({ type: 'pkcs8', format: 'pem' }));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await link(temporary, file);
      await this.writeRecord(key);
      return key;
    } catch (error: unknown) {
      if (error instanceof KeyringStateError) throw error;
      if (errorCode(error) === 'EEXIST') {
        const winner = await this.read(file);
        if (winner !== undefined) return winner;
      }
      throw new KeyringStateError(`The audit signing key ${file} cannot be written (${errorCode(error)})`, {
        cause: error,
      });
    } finally {
      await rm(temporary, { force: true });
    }
  }

  private async read(file: string): Promise<KeyObject | undefined> {
    let pem: string;
    try {
      if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) {
        throw new KeyringStateError(
          `The audit signing key ${file} is accessible to other users; chmod 600 it`,
        );
      }
      pem = await readFile(file, 'utf8');
    } catch (error: unknown) {
      if (error instanceof KeyringStateError) throw error;
      if (errorCode(error) === 'ENOENT') return undefined;
      throw new KeyringStateError(`The audit signing key ${file} cannot be read (${errorCode(error)})`, {
        cause: error,
      });
    }
    try {
      const key = createPrivateKey(pem);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
      return key;
    } catch (error: unknown) {
      throw new KeyringStateError(
        `The audit signing key ${file} is corrupt: it is not an Ed25519 private key`,
        {
          cause: error,
        },
      );
    }
  }

  private missingKey(): KeyringStateError {
    return new KeyringStateError(
      `The audit signing key ${String(this.file)} is missing, but this data directory has signed audit ` +
        `digests with the key whose public half is in ${String(this.record)}. Restore keys/ from a backup ` +
        'of the data directory (README "Backup and restore"). If the key is lost for good, keep a copy of ' +
        `${SIGNING_KEY_RECORD} (it verifies the digests signed so far) and delete it: a new key is then made.`,
    );
  }

  private checkRecord(key: KeyObject, recorded: string): void {
    if (publicPem(key) !== recorded) {
      throw new KeyringStateError(
        `The audit signing key ${String(this.file)} is not the key this data directory signs with ` +
          `(its public half differs from ${String(this.record)}). Restore the right keys/ folder from a backup.`,
      );
    }
  }

  private async readRecord(): Promise<string | undefined> {
    const record = this.record;
    if (record === undefined) return undefined;
    let pem: string;
    try {
      pem = await readFile(record, 'utf8');
    } catch (error: unknown) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw new KeyringStateError(`The signing key record ${record} cannot be read (${errorCode(error)})`, {
        cause: error,
      });
    }
    try {
      return publicPem(createPublicKey(pem));
    } catch (error: unknown) {
      throw new KeyringStateError(`The signing key record ${record} is corrupt: it is not a public key`, {
        cause: error,
      });
    }
  }

  /** Whole or absent: written beside, then renamed into place. */
  private async writeRecord(key: KeyObject): Promise<void> {
    const record = this.record;
    if (record === undefined) return;
    const temporary = `${record}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, publicPem(key), { mode: 0o644, flag: 'wx' });
      await rename(temporary, record);
    } catch (error: unknown) {
      await rm(temporary, { force: true });
      throw new KeyringStateError(
        `The signing key record ${record} cannot be written (${errorCode(error)})`,
        {
          cause: error,
        },
      );
    }
  }
}

function publicPem(key: KeyObject): string {
  return (key.type === 'public' ? key : createPublicKey(key))
    .export({ type: 'spki', format: 'pem' })
    .toString();
}

function generate(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}
