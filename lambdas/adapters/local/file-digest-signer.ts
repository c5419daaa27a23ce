/**
 * The local runtime's `DigestSigner`: an Ed25519 key in `<dataDir>/keys/audit-signing-key.pem`
 * (PKCS #8, mode 0600, in the 0700 key directory the local keyring uses), created on first use.
 * Without a data directory the key lives in memory (tests, `--in-memory`). The public key is
 * what `GET /audit/public-key` serves, so exports verify without VaultPilot.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DigestSigner } from '../../core/audit/audit-digest.js';
import { KeyringStateError } from './file-keyring.js';

export const SIGNING_KEY_FILE = 'audit-signing-key.pem';

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
  private key: Promise<KeyObject> | undefined;

  constructor(options: FileDigestSignerOptions = {}) {
    this.file = options.dataDir === undefined ? undefined : join(options.dataDir, 'keys', SIGNING_KEY_FILE);
  }

  async sign(message: Buffer): Promise<Buffer> {
    return sign(null, message, await this.privateKey());
  }

  async publicKeyPem(): Promise<string> {
    return createPublicKey(await this.privateKey())
      .export({ type: 'spki', format: 'pem' })
      .toString();
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
    const existing = await this.read(file);
    if (existing !== undefined) return existing;
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
      return key;
    } catch (error: unknown) {
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
}

function generate(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}
