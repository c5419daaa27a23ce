/**
 * The local runtime's `Keyring`: 256-bit key-encryption keys (KEKs) in 0600 files under
 * `<dataDir>/keys` (a 0700 directory), with `keyring.json` naming every key and the current one.
 * Data keys are wrapped with AES-256-GCM under a KEK, the key id and encryption context being
 * the AAD, which gives the guarantees KMS gives: a wrapped key opens only under its own key and
 * for its own tenant, path and version. Without a `dataDir` the keys live in memory (tests).
 *
 * `rotate()` adds a KEK and makes it current; older KEKs stay and still unwrap, which is what
 * re-wrapping needs. The runtime's data-dir lock makes this process the only writer; a key id
 * it does not know yet is looked up again on disk once before it is refused.
 *
 * Keys are never silently replaced. `<dataDir>/keyring-ids.json` (outside `keys/`, ids only, no
 * key material) lists every key this data directory's keyring has made; while it names keys, a
 * missing `keys/` folder is refused (`KeyringKeysMissingError`, a 503) instead of being answered
 * with a fresh key under which new data would be written and the old data lost. The runtime also
 * checks, before it serves, that the keyring holds every key id the stored data names
 * (`verifyHolds`). Each use of a key checks that its file is still there, so a `keys/` folder
 * removed while the server runs fails writes and uncached reads closed until it is restored: one
 * stat per use (same inode, size, mode, times as when the content was last compared), and a
 * full read and comparison whenever anything about the file changed.
 */
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { chmod, link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { DependencyUnavailableError } from '../../core/errors.js';
import {
  type DataKey,
  type EncryptionContext,
  EnvelopeIntegrityError,
  type Keyring,
  contextAad,
} from '../../core/secrets/keyring.js';
import { randomPool } from '../../core/secrets/random-pool.js';

/** The local keyring's files are missing, corrupt or unusable; the message names the file. */
export class KeyringStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeyringStateError';
  }
}

/**
 * Key-encryption keys that wrapped stored data are not in `keys/`: the keyring refuses to work
 * (and above all to create a replacement) until the folder is restored. A 503: nothing the caller
 * did wrong, and it heals once an operator restores the files. Names key ids only, never a path
 * (the caller of the API sees the message; the start-up message adds the full path).
 */
export class KeyringKeysMissingError extends DependencyUnavailableError {
  constructor(
    readonly missingKeyIds: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      `The local keyring is missing key-encryption key${missingKeyIds.length === 1 ? '' : 's'} ` +
        `${missingKeyIds.join(', ')} in the data directory's keys/ folder. Restore keys/ from a backup of ` +
        'the data directory (README "Backup and restore"); no new key is made meanwhile, because data ' +
        'wrapped by a missing key would then stay unreadable for good',
      RETRY_AFTER_SECONDS,
      options,
    );
    this.name = 'KeyringKeysMissingError';
  }
}

/**
 * A key file became unreadable or corrupt while serving a request: a 503 like a KMS outage, so
 * nothing is sealed under a key that may not survive a restart. The caller sees no path; the
 * file and what is wrong with it go to the logs (`diagnostic`).
 */
export class KeyringUnavailableError extends DependencyUnavailableError {
  constructor(cause: KeyringStateError) {
    super('The local keyring is unavailable; retry shortly', RETRY_AFTER_SECONDS, {
      cause,
      diagnostic: cause.message,
    });
    this.name = 'KeyringUnavailableError';
  }
}

export interface FileKeyringOptions {
  /** The runtime's data directory; undefined keeps the keys in memory only. */
  readonly dataDir?: string | undefined;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = IV_BYTES + KEY_BYTES + TAG_BYTES;
const KEY_ID = /^kek-[0-9a-f]{16}$/;
const MANIFEST = 'keyring.json';
/** In the data directory, beside (not in) `keys/`, so it survives the loss of that folder. */
export const KEY_LEDGER = 'keyring-ids.json';
const RETRY_AFTER_SECONDS = 30;

const Ledger = z.strictObject({ version: z.literal(1), keys: z.array(z.string().regex(KEY_ID)) });

const Manifest = z.strictObject({
  version: z.literal(1),
  current: z.string().regex(KEY_ID),
  keys: z.array(z.string().regex(KEY_ID)).min(1),
});
type Manifest = z.infer<typeof Manifest>;

interface State {
  current: string;
  readonly keks: Map<string, Buffer>;
}

export class FileKeyring implements Keyring {
  /** Where the key files live, or undefined in memory. */
  readonly directory: string | undefined;
  private readonly ledgerFile: string | undefined;
  private state: Promise<State> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Key files whose content matched their key, with what stat said of them then. */
  private readonly checkedFiles = new Map<string, FileIdentity>();
  /** Key ids the stored data names (from `verifyHolds`): a fresh keyring is refused while any exist. */
  private wrappedKeyIds: ReadonlySet<string> = new Set();

  constructor(options: FileKeyringOptions = {}) {
    this.directory = options.dataDir === undefined ? undefined : join(options.dataDir, 'keys');
    this.ledgerFile = options.dataDir === undefined ? undefined : join(options.dataDir, KEY_LEDGER);
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    return servingRequest(async () => {
      const state = await this.load();
      const kek = await this.presentKek(state, state.current);
      // From the process's random pool: a draw of its own per key costs as much as the AES-GCM
      // of a 1 KiB value (random-pool.ts).
      const plaintext = randomPool.take(KEY_BYTES);
      const iv = randomPool.take(IV_BYTES);
      return { plaintext, wrapped: wrap(kek, state.current, plaintext, context, iv), keyId: state.current };
    });
  }

  /**
   * Checks that this keyring holds every key id in `keyIds` (those the stored data is wrapped
   * under), creating the keyring only when there is none and nothing names a key. Rejects with
   * `KeyringKeysMissingError` naming the ids it lacks.
   */
  async verifyHolds(keyIds: Iterable<string>): Promise<void> {
    this.wrappedKeyIds = new Set(keyIds);
    if (this.directory !== undefined) this.state = undefined;
    const state = await this.load();
    const missing = [...this.wrappedKeyIds].filter((id) => !state.keks.has(id)).sort();
    if (missing.length > 0) throw new KeyringKeysMissingError(missing);
    for (const id of state.keks.keys()) await this.presentKek(state, id);
  }

  async unwrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer> {
    return servingRequest(async () => {
      const state = await this.stateHolding(keyId);
      return unwrap(await this.presentKek(state, keyId), keyId, wrapped, context);
    });
  }

  async rewrapDataKey(
    wrapped: Buffer,
    keyId: string,
    context: EncryptionContext,
  ): Promise<{ wrapped: Buffer; keyId: string }> {
    return servingRequest(async () => {
      const holding = await this.stateHolding(keyId);
      const dataKey = unwrap(await this.presentKek(holding, keyId), keyId, wrapped, context);
      try {
        const state = await this.load();
        const kek = await this.presentKek(state, state.current);
        return { wrapped: wrap(kek, state.current, dataKey, context), keyId: state.current };
      } finally {
        dataKey.fill(0);
      }
    });
  }

  async currentKeyId(): Promise<string> {
    return (await this.load()).current;
  }

  /** Adds a new KEK and makes it current; returns its id. Older KEKs keep unwrapping. */
  async rotate(): Promise<string> {
    return this.exclusively(async () => {
      // Start from the files, so a key another process added is not dropped from the manifest.
      if (this.directory !== undefined) this.state = undefined;
      const state = await this.load();
      for (const held of state.keks.keys()) await this.presentKek(state, held);
      const id = newKeyId();
      const kek = randomBytes(KEY_BYTES);
      if (this.directory !== undefined) {
        // Key file first, manifest second: a crash in between leaves an unused key, never a
        // manifest naming a key that does not exist.
        await this.writeKeyFile(id, kek);
        const keys = [...state.keks.keys(), id];
        await this.writeManifest({ version: 1, current: id, keys }, 'replace');
        await this.recordInLedger(keys);
      }
      state.keks.set(id, kek);
      state.current = id;
      return id;
    });
  }

  /** Runs rotations and reloads one at a time, so neither works from a state the other replaces. */
  private exclusively<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private load(): Promise<State> {
    if (this.state === undefined) {
      const loading = this.directory === undefined ? Promise.resolve(freshState()) : this.loadFiles();
      // A failed load is not remembered, so fixing the files does not need a restart.
      this.state = loading.catch((error: unknown) => {
        this.state = undefined;
        throw error;
      });
    }
    return this.state;
  }

  private async stateHolding(keyId: string): Promise<State> {
    const state = await this.load();
    if (!state.keks.has(keyId) && this.directory !== undefined && KEY_ID.test(keyId)) {
      // Another process (the CLI) may have rotated since this one loaded the keyring.
      return this.exclusively(() => {
        this.state = undefined;
        return this.load();
      });
    }
    return state;
  }

  /**
   * The KEK, after checking that its file still holds it: a key kept only in this process's
   * memory (file gone, cut short or replaced) would be lost at the next restart, and with it
   * everything wrapped meanwhile.
   */
  private async presentKek(state: State, keyId: string): Promise<Buffer> {
    const kek = this.kekOf(state, keyId);
    if (this.directory === undefined) return kek;
    const file = this.keyFile(keyId);
    // The cheap check first: one stat. A file with the same inode, size, mode and modification
    // time as when its content was last compared still holds the key; anything else (gone,
    // cut short, replaced, touched, permissions widened) is read and compared in full below.
    const seen = this.checkedFiles.get(file);
    if (seen !== undefined) {
      const now = statOrUndefined(file);
      if (now !== undefined && sameFile(seen, now)) return kek;
      this.checkedFiles.delete(file);
    }
    const before = statOrUndefined(file);
    const onDisk = await this.readKeyFile(keyId);
    if (onDisk === undefined) throw new KeyringKeysMissingError([keyId]);
    const same = timingSafeEqual(onDisk, kek);
    onDisk.fill(0);
    if (!same) {
      throw new KeyringStateError(
        `The key file ${this.keyFile(keyId)} changed on disk while running; restore it from a backup`,
      );
    }
    // Remembered only when the file did not change while it was read.
    const after = statOrUndefined(file);
    if (before !== undefined && after !== undefined && sameFile(before, after))
      this.checkedFiles.set(file, after);
    return kek;
  }

  private kekOf(state: State, keyId: string): Buffer {
    const kek = state.keks.get(keyId);
    if (kek === undefined) {
      // This keyring holds every key it ever made, so an unknown id is not an outage: the
      // envelope names a key that never wrapped it.
      throw new EnvelopeIntegrityError('A wrapped data key names a key this keyring does not hold');
    }
    return kek;
  }

  private async loadFiles(): Promise<State> {
    const directory = this.requireDirectory();
    await this.prepareDirectory(directory);
    const manifestFile = join(directory, MANIFEST);
    let text: string;
    try {
      text = await readFile(manifestFile, 'utf8');
    } catch (error: unknown) {
      if (errorCode(error) !== 'ENOENT') {
        throw new KeyringStateError(`The keyring file ${manifestFile} cannot be read (${errorCode(error)})`, {
          cause: error,
        });
      }
      return this.createKeyring();
    }
    const manifest = parseManifest(manifestFile, text);
    const keks = new Map<string, Buffer>();
    for (const id of manifest.keys) {
      const kek = await this.readKeyFile(id);
      if (kek !== undefined) keks.set(id, kek);
    }
    const missing = [...new Set([...manifest.keys, ...(await this.readLedger())])]
      .filter((id) => !keks.has(id))
      .sort();
    if (missing.length > 0) throw new KeyringKeysMissingError(missing);
    if (!keks.has(manifest.current)) {
      throw new KeyringStateError(`The keyring file ${manifestFile} names a current key it does not list`);
    }
    // Keyrings made before the ledger existed (or a crash between manifest and ledger) catch up here.
    await this.recordInLedger(manifest.keys);
    return { current: manifest.current, keks };
  }

  private async createKeyring(): Promise<State> {
    // A data directory whose keyring made keys before, or whose data names keys, has lost its
    // keys/ folder: a new key would hide that until the old data turned out unreadable.
    const known = [...new Set([...(await this.readLedger()), ...this.wrappedKeyIds])].sort();
    if (known.length > 0) throw new KeyringKeysMissingError(known);
    const state = freshState();
    const [id, kek] = [...state.keks][0] ?? [];
    if (id === undefined || kek === undefined) throw new Error('A fresh keyring has one key');
    await this.writeKeyFile(id, kek);
    if (!(await this.writeManifest({ version: 1, current: id, keys: [id] }, 'create'))) {
      // Another process created the keyring at the same moment: use theirs, drop the unused key.
      await rm(this.keyFile(id), { force: true });
      kek.fill(0);
      return this.loadFiles();
    }
    await this.recordInLedger([id]);
    return state;
  }

  /** The key ids the ledger names; none when there is no ledger yet. */
  private async readLedger(): Promise<string[]> {
    const file = this.ledgerFile;
    if (file === undefined) return [];
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error: unknown) {
      if (errorCode(error) === 'ENOENT') return [];
      throw new KeyringStateError(`The key ledger ${file} cannot be read (${errorCode(error)})`, {
        cause: error,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error: unknown) {
      throw new KeyringStateError(`The key ledger ${file} is corrupt: it is not valid JSON`, {
        cause: error,
      });
    }
    const parsed = Ledger.safeParse(json);
    if (!parsed.success) {
      throw new KeyringStateError(`The key ledger ${file} is corrupt: it does not have the expected shape`, {
        cause: parsed.error,
      });
    }
    return parsed.data.keys;
  }

  /** Adds key ids to the ledger (read, merge, atomic replace); ids are never removed from it. */
  private async recordInLedger(keyIds: readonly string[]): Promise<void> {
    const file = this.ledgerFile;
    if (file === undefined) return;
    const known = await this.readLedger();
    const merged = [...new Set([...known, ...keyIds])];
    if (merged.length === known.length) return;
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify({ version: 1, keys: merged }, null, 2)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
    } catch (error: unknown) {
      throw new KeyringStateError(`The key ledger ${file} cannot be written (${errorCode(error)})`, {
        cause: error,
      });
    } finally {
      await rm(temporary, { force: true });
    }
  }

  private async prepareDirectory(directory: string): Promise<void> {
    try {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      // mkdir leaves an existing directory's mode alone, and the umask may have widened a new one.
      if (process.platform !== 'win32') await chmod(directory, 0o700);
    } catch (error: unknown) {
      throw new KeyringStateError(
        `The key directory ${directory} cannot be used (${errorCode(error)}); make the data directory writable by this user`,
        { cause: error },
      );
    }
  }

  /** The key, or undefined when its file does not exist (the caller names every missing one). */
  private async readKeyFile(id: string): Promise<Buffer | undefined> {
    const file = this.keyFile(id);
    let kek: Buffer;
    try {
      if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) {
        throw new KeyringStateError(
          `The key file ${file} is accessible to other users; restrict it with chmod 600`,
        );
      }
      kek = await readFile(file);
    } catch (error: unknown) {
      if (error instanceof KeyringStateError) throw error;
      if (errorCode(error) === 'ENOENT') return undefined;
      throw new KeyringStateError(
        `The key file ${file} cannot be read (${errorCode(error)}); restore it from a backup, without it the secrets it wrapped cannot be decrypted`,
        { cause: error },
      );
    }
    if (kek.length !== KEY_BYTES) {
      kek.fill(0);
      throw new KeyringStateError(
        `The key file ${file} is corrupt: it holds ${kek.length} bytes instead of ${KEY_BYTES}; restore it from a backup`,
      );
    }
    return kek;
  }

  private async writeKeyFile(id: string, kek: Buffer): Promise<void> {
    const file = this.keyFile(id);
    try {
      // 'wx': a key file is never overwritten, whatever happens.
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(kek);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error: unknown) {
      throw new KeyringStateError(`The key file ${file} cannot be written (${errorCode(error)})`, {
        cause: error,
      });
    }
  }

  /**
   * Temporary file and fsync first, so the manifest is always either the old or the new one.
   * 'replace' renames over it; 'create' links it into place, which fails if another process
   * created a keyring first, and then returns false.
   */
  private async writeManifest(manifest: Manifest, mode: 'create' | 'replace'): Promise<boolean> {
    const directory = this.requireDirectory();
    const file = join(directory, MANIFEST);
    const temporary = join(directory, `.${MANIFEST}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await (mode === 'replace' ? rename(temporary, file) : link(temporary, file));
      return true;
    } catch (error: unknown) {
      if (mode === 'create' && errorCode(error) === 'EEXIST') return false;
      throw new KeyringStateError(`The keyring file ${file} cannot be written (${errorCode(error)})`, {
        cause: error,
      });
    } finally {
      await rm(temporary, { force: true });
    }
  }

  private keyFile(id: string): string {
    return join(this.requireDirectory(), `${id}.key`);
  }

  private requireDirectory(): string {
    if (this.directory === undefined) throw new Error('An in-memory keyring has no files');
    return this.directory;
  }
}

interface FileIdentity {
  readonly ino: number;
  readonly dev: number;
  readonly size: number;
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/**
 * What identifies a key file's state, or undefined when it cannot be stat'ed. Synchronous on
 * purpose: one stat of a local file takes microseconds, less than a round trip through libuv's
 * thread pool, which is what made the per-use check costly under load (npm run bench -- envelope).
 */
function statOrUndefined(file: string): FileIdentity | undefined {
  try {
    const found = statSync(file, { bigint: true });
    return {
      ino: Number(found.ino),
      dev: Number(found.dev),
      size: Number(found.size),
      mode: Number(found.mode),
      mtimeNs: found.mtimeNs,
      ctimeNs: found.ctimeNs,
    };
  } catch {
    return undefined;
  }
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mode === b.mode &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

function freshState(): State {
  const id = newKeyId();
  return { current: id, keks: new Map([[id, randomBytes(KEY_BYTES)]]) };
}

function newKeyId(): string {
  return `kek-${randomBytes(8).toString('hex')}`;
}

function parseManifest(file: string, text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new KeyringStateError(`The keyring file ${file} is corrupt: it is not valid JSON`, {
      cause: error,
    });
  }
  const result = Manifest.safeParse(json);
  if (!result.success) {
    throw new KeyringStateError(`The keyring file ${file} is corrupt: it does not have the expected shape`, {
      cause: result.error,
    });
  }
  return result.data;
}

function wrapAad(keyId: string, context: EncryptionContext): Buffer {
  return contextAad('vaultpilot/local-keyring', context, keyId);
}

/** iv ‖ encrypted key ‖ tag, as one buffer. */
function wrap(
  kek: Buffer,
  keyId: string,
  dataKey: Buffer,
  context: EncryptionContext,
  iv: Buffer = randomBytes(IV_BYTES),
): Buffer {
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(wrapAad(keyId, context));
  return Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
}

function unwrap(kek: Buffer, keyId: string, wrapped: Buffer, context: EncryptionContext): Buffer {
  if (wrapped.length !== WRAPPED_BYTES) {
    throw new EnvelopeIntegrityError('A wrapped data key has the wrong length');
  }
  const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAuthTag(wrapped.subarray(IV_BYTES + KEY_BYTES));
  decipher.setAAD(wrapAad(keyId, context));
  const dataKey = decipher.update(wrapped.subarray(IV_BYTES, IV_BYTES + KEY_BYTES));
  try {
    decipher.final();
  } catch (error: unknown) {
    dataKey.fill(0);
    throw new EnvelopeIntegrityError('A wrapped data key failed authentication', { cause: error });
  }
  return dataKey;
}

/** Request-time keyring work: a broken key file is an outage (503), not a bug (500). */
async function servingRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error: unknown) {
    if (error instanceof KeyringStateError) throw new KeyringUnavailableError(error);
    throw error;
  }
}

function errorCode(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : 'unknown error';
}
