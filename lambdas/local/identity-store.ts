/**
 * Users and machine clients of the local identity provider (what a Cognito user pool and its app
 * clients hold in AWS), kept in `<dataDir>/identity.json` or, for the in-memory runtime, in memory.
 *
 * The file is re-read on every sign-in and token request, so the `vaultpilot` CLI can change
 * identities while the server runs. That is safe because every write is atomic (temporary file in
 * the same directory, fsync, rename) and writers take an exclusive lock file first, so two
 * writers (the CLI and the server's first start) cannot lose each other's update.
 *
 * Passwords and client secrets are stored only as scrypt hashes in a self-describing form
 * (`scrypt$N$r$p$salt$hash`), so the cost can be raised later without breaking old entries.
 */
import { randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { ConflictError, ValidationError } from '../core/errors.js';
import { ROLES, TENANT_PATTERN, type Role } from '../core/principal.js';
import { ALL_SCOPES } from '../shared/scopes.js';
import { defaultHashingLimits, HashingGate } from './hashing-gate.js';
import { LocalStateError } from './local-state-error.js';

export const IDENTITY_FILE = 'identity.json';
export const USERNAME_PATTERN = /^[a-zA-Z0-9._@-]{1,128}$/;
/** Like Cognito's app client ids: 26 lowercase letters and digits. */
export const CLIENT_ID_PATTERN = /^[a-z0-9]{26}$/;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;
export const ADMIN_USERNAME = 'admin';
export const ADMIN_TENANT = 'default';

// ---------------------------------------------------------------------------------------------
// Secret hashing (scrypt)

export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** About 100 ms and 32 MiB per hash on a laptop: OWASP's scrypt recommendation or stronger. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds for parameters read back from the file, so a tampered file cannot exhaust memory. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

const HASH_FORMAT = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{22,})\$([A-Za-z0-9_-]{43,86})$/;

interface ParsedHash {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function isValidCost({ N, r, p }: ScryptCost): boolean {
  const powerOfTwo = Number.isInteger(N) && N >= 2 && (N & (N - 1)) === 0;
  return (
    powerOfTwo &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16 &&
    128 * N * r <= MAX_SCRYPT_MEMORY
  );
}

function parseHash(stored: string): ParsedHash | undefined {
  const match = HASH_FORMAT.exec(stored);
  if (match === null) return undefined;
  const [, n, r, p, salt, hash] = match;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (!isValidCost(cost) || salt === undefined || hash === undefined) return undefined;
  const decodedHash = Buffer.from(hash, 'base64url');
  if (decodedHash.length < HASH_BYTES || decodedHash.length > 64) return undefined;
  return { cost, salt: Buffer.from(salt, 'base64url'), hash: decodedHash };
}

function derive(secret: string, salt: Buffer, length: number, { N, r, p }: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Async scrypt runs on the libuv pool: a sign-in does not stall the event loop.
    // NFKC (NIST SP 800-63B): the same password typed on another keyboard or OS still matches.
    scrypt(
      secret.normalize('NFKC'),
      salt,
      length,
      { N, r, p, maxmem: 2 * 128 * N * r * p + 1024 * 1024 },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    );
  });
}

export class SecretHasher {
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly cost: ScryptCost = DEFAULT_SCRYPT_COST,
    /** Every scrypt runs through it, so hashing never takes the whole libuv pool. */
    private readonly gate: HashingGate = new HashingGate(defaultHashingLimits()),
  ) {
    if (!isValidCost(cost))
      throw new RangeError('scrypt cost out of range (N a power of two, r 1-32, p 1-16)');
  }

  /** Computes the dummy hash up front, so even the first unknown name costs one scrypt only. */
  async prepare(): Promise<void> {
    await this.dummy();
  }

  private dummy(): Promise<string> {
    // A refusal (busy hashing) is not kept: the next caller computes it again.
    this.dummyHash ??= this.hash(randomBytes(32).toString('base64url')).catch((error: unknown) => {
      this.dummyHash = undefined;
      throw error;
    });
    return this.dummyHash;
  }

  async hash(secret: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const hash = await this.gate.run(() => derive(secret, salt, HASH_BYTES, this.cost));
    const { N, r, p } = this.cost;
    return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
  }

  /**
   * Compares in constant time. When there is no stored hash (an unknown username or client id),
   * it still spends one scrypt against a dummy hash of the same cost, so the response time does
   * not tell which names exist.
   */
  async verify(secret: string, stored: string | undefined): Promise<boolean> {
    const parsed = parseHash(stored ?? (await this.dummy()));
    if (parsed === undefined) return false;
    const candidate = await this.gate.run(() => derive(secret, parsed.salt, parsed.hash.length, parsed.cost));
    return timingSafeEqual(candidate, parsed.hash) && stored !== undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Records and inputs

const Tenant = z
  .string()
  .regex(
    TENANT_PATTERN,
    'expected 1-63 lowercase letters, digits or dashes, starting with a letter or digit',
  );
const Username = z.string().regex(USERNAME_PATTERN, 'expected 1-128 letters, digits or . _ @ -');
const Groups = z
  .array(z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }))
  .min(1, 'expected at least one group');
const Scope = z
  .string()
  .refine((scope) => ALL_SCOPES.includes(scope), `expected one of ${ALL_SCOPES.join(', ')}`);
const Scopes = z.array(Scope).min(1, 'expected at least one scope');
const ClientName = z
  .string()
  .min(1)
  .max(128, 'expected at most 128 characters')
  .regex(/^[\p{L}\p{N} ._@()/-]+$/u, 'expected letters, digits, spaces or . _ @ ( ) / -');
const StoredHash = z.string().refine((value) => parseHash(value) !== undefined, 'expected a scrypt hash');
const Timestamp = z.iso.datetime();

const UserRecord = z
  .object({
    sub: z.uuid(),
    username: Username,
    tenant: Tenant,
    groups: Groups,
    passwordHash: StoredHash,
    createdAt: Timestamp,
  })
  .strict();
type UserRecord = z.infer<typeof UserRecord>;

const ClientRecord = z
  .object({
    clientId: z.string().regex(CLIENT_ID_PATTERN),
    name: ClientName.optional(),
    tenant: Tenant,
    scopes: Scopes,
    secretHash: StoredHash,
    createdAt: Timestamp,
  })
  .strict();
type ClientRecord = z.infer<typeof ClientRecord>;

const IdentityDocument = z
  .object({
    version: z.literal(1),
    users: z.array(UserRecord),
    clients: z.array(ClientRecord),
  })
  .strict()
  .superRefine((document, context) => {
    const names = new Set<string>();
    for (const user of document.users) {
      const key = usernameKey(user.username);
      if (names.has(key))
        context.addIssue({ code: 'custom', path: ['users'], message: `duplicate user ${user.username}` });
      names.add(key);
    }
    const ids = new Set<string>();
    for (const client of document.clients) {
      if (ids.has(client.clientId)) {
        context.addIssue({
          code: 'custom',
          path: ['clients'],
          message: `duplicate client ${client.clientId}`,
        });
      }
      ids.add(client.clientId);
    }
  });
type IdentityDocument = z.infer<typeof IdentityDocument>;

const emptyDocument = (): IdentityDocument => ({ version: 1, users: [], clients: [] });

export const NewUser = z
  .object({
    username: Username,
    password: z
      .string()
      .min(MIN_PASSWORD_LENGTH, `expected at least ${MIN_PASSWORD_LENGTH} characters`)
      .max(MAX_PASSWORD_LENGTH, `expected at most ${MAX_PASSWORD_LENGTH} characters`),
    tenant: Tenant,
    groups: Groups,
  })
  .strict();
/** Checked at run time (a CLI passes what the user typed), hence plain strings. */
export interface NewUserInput {
  readonly username: string;
  readonly password: string;
  readonly tenant: string;
  readonly groups: readonly string[];
}

export const NewClient = z
  .object({
    tenant: Tenant,
    scopes: Scopes,
    name: ClientName.optional(),
  })
  .strict();
export interface NewClientInput {
  readonly tenant: string;
  readonly scopes: readonly string[];
  readonly name?: string;
}

/** What listing and creating a user shows: never the hash. */
export interface UserSummary {
  readonly username: string;
  readonly sub: string;
  readonly tenant: string;
  readonly groups: readonly Role[];
  readonly createdAt: string;
}

export interface ClientSummary {
  readonly clientId: string;
  readonly name?: string;
  readonly tenant: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
}

/** An authenticated user or client, as the token issuer needs it. */
export type AuthenticatedUser = Omit<UserRecord, 'passwordHash'>;
export type AuthenticatedClient = Omit<ClientRecord, 'secretHash'>;

/** Usernames are unique and matched case-insensitively, so `Admin` cannot shadow `admin`. */
function usernameKey(username: string): string {
  return username.toLowerCase();
}

function userSummary({ username, sub, tenant, groups, createdAt }: UserRecord): UserSummary {
  return { username, sub, tenant, groups: [...groups], createdAt };
}

function clientSummary({ clientId, name, tenant, scopes, createdAt }: ClientRecord): ClientSummary {
  return { clientId, ...(name === undefined ? {} : { name }), tenant, scopes: [...scopes], createdAt };
}

function invalid(what: string, error: z.ZodError): ValidationError {
  const problems = error.issues.map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`,
  );
  return new ValidationError(`Invalid ${what}: ${problems.join('; ')}`, {
    cause: error,
    details: { issues: error.issues.map(({ code, path, message }) => ({ code, path, message })) },
  });
}

const CLIENT_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function newClientId(): string {
  let id = '';
  while (id.length < 26) {
    for (const byte of randomBytes(32)) {
      // Rejection sampling: 252 is the largest multiple of 36 below 256, so every character is equally likely.
      if (byte < 252 && id.length < 26) id += CLIENT_ID_ALPHABET[byte % 36];
    }
  }
  return id;
}

// ---------------------------------------------------------------------------------------------
// Storage: a file with atomic writes and a lock, or memory

interface IdentityStorage {
  read(): Promise<IdentityDocument>;
  /** Applies `mutate` to the current document and persists the result atomically. */
  update<T>(mutate: (document: IdentityDocument) => T): Promise<T>;
}

class MemoryIdentityStorage implements IdentityStorage {
  private document = emptyDocument();

  async read(): Promise<IdentityDocument> {
    return structuredClone(this.document);
  }

  async update<T>(mutate: (document: IdentityDocument) => T): Promise<T> {
    // `mutate` is synchronous, so no other update can interleave with this one.
    const next = structuredClone(this.document);
    const result = mutate(next);
    this.document = IdentityDocument.parse(next);
    return result;
  }
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return errorCode(error) === 'EPERM';
  }
}

const LockOwner = z.object({ pid: z.number().int(), host: z.string(), nonce: z.string() });

export interface FileLockTiming {
  /** A lock older than this is taken over: writers hold it for milliseconds. */
  readonly staleAfterMs: number;
  /** How long a writer waits for a live lock before giving up. */
  readonly waitMs: number;
}

const DEFAULT_LOCK_TIMING: FileLockTiming = { staleAfterMs: 10_000, waitMs: 15_000 };

class FileIdentityStorage implements IdentityStorage {
  readonly file: string;
  private readonly lockFile: string;

  constructor(
    private readonly dataDir: string,
    private readonly lockTiming: FileLockTiming = DEFAULT_LOCK_TIMING,
  ) {
    this.file = join(dataDir, IDENTITY_FILE);
    this.lockFile = `${this.file}.lock`;
  }

  async read(): Promise<IdentityDocument> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error: unknown) {
      if (errorCode(error) === 'ENOENT') return emptyDocument();
      throw new LocalStateError(
        `The identity store ${this.file} cannot be read (${errorCode(error) ?? 'unknown error'}); make it readable by this user`,
        { cause: error },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error: unknown) {
      throw this.corrupt('it is not valid JSON', error);
    }
    const result = IdentityDocument.safeParse(json);
    if (!result.success) {
      const first = result.error.issues[0];
      const where =
        first === undefined ? '' : ` at ${first.path.join('.') || 'the top level'}: ${first.message}`;
      throw this.corrupt(`it does not have the expected shape${where}`, result.error);
    }
    return result.data;
  }

  async update<T>(mutate: (document: IdentityDocument) => T): Promise<T> {
    try {
      await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    } catch (error: unknown) {
      throw new LocalStateError(
        `The data directory ${this.dataDir} cannot be used (${errorCode(error) ?? 'unknown error'}); set VAULTPILOT_DATA_DIR to a writable directory`,
        { cause: error },
      );
    }
    const release = await this.lock();
    try {
      const document = await this.read();
      const result = mutate(document);
      await this.write(IdentityDocument.parse(document));
      return result;
    } finally {
      await release();
    }
  }

  private corrupt(reason: string, cause: unknown): LocalStateError {
    return new LocalStateError(
      `The identity store ${this.file} is corrupt: ${reason}. Restore it from a backup, or move it away to start ` +
        'with no users and clients (the admin user is created again on the next start)',
      { cause },
    );
  }

  /** Temporary file in the same directory, fsync, rename over the old file, fsync the directory. */
  private async write(document: IdentityDocument): Promise<void> {
    const temporary = join(
      this.dataDir,
      `.${IDENTITY_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.file);
      await this.syncDirectory();
    } catch (error: unknown) {
      await rm(temporary, { force: true });
      throw new LocalStateError(
        `The identity store ${this.file} cannot be written (${errorCode(error) ?? 'unknown error'}); make ${this.dataDir} writable by this user`,
        { cause: error },
      );
    }
  }

  private async syncDirectory(): Promise<void> {
    // Makes the rename itself durable; not every platform can open a directory (Windows), which is fine.
    try {
      const directory = await open(this.dataDir, 'r');
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
    } catch {
      // Best effort only.
    }
  }

  /** An exclusively created lock file naming its owner; returns the function that releases it. */
  private async lock(): Promise<() => Promise<void>> {
    const owner = { pid: process.pid, host: hostname(), nonce: randomBytes(12).toString('hex') };
    const deadline = Date.now() + this.lockTiming.waitMs;
    for (;;) {
      try {
        const handle = await open(this.lockFile, 'wx', 0o600);
        try {
          await handle.writeFile(JSON.stringify(owner), 'utf8');
        } finally {
          await handle.close();
        }
        return () => this.unlock(owner.nonce);
      } catch (error: unknown) {
        if (errorCode(error) !== 'EEXIST') {
          throw new LocalStateError(
            `The identity store lock ${this.lockFile} cannot be created (${errorCode(error) ?? 'unknown error'}); make ${this.dataDir} writable by this user`,
            { cause: error },
          );
        }
      }
      if (await this.lockIsStale()) {
        await rm(this.lockFile, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new LocalStateError(
          `The identity store is locked by another process (${this.lockFile}); if no vaultpilot command or server is ` +
            'writing identities, delete that file and try again',
        );
      }
      await sleep(20 + Math.floor(Math.random() * 30));
    }
  }

  private async lockIsStale(): Promise<boolean> {
    try {
      const [{ mtimeMs }, text] = await Promise.all([stat(this.lockFile), readFile(this.lockFile, 'utf8')]);
      if (Date.now() - mtimeMs > this.lockTiming.staleAfterMs) return true;
      const parsed = LockOwner.safeParse(safeJson(text));
      // A half-written lock is fresh by definition (it was created within staleAfterMs).
      return parsed.success && parsed.data.host === hostname() && !isAlive(parsed.data.pid);
    } catch (error: unknown) {
      // Gone in between: not stale, just try again.
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  private async unlock(nonce: string): Promise<void> {
    try {
      const parsed = LockOwner.safeParse(safeJson(await readFile(this.lockFile, 'utf8')));
      // Only remove our own lock: if it was taken over as stale, it belongs to someone else now.
      if (parsed.success && parsed.data.nonce === nonce) await rm(this.lockFile, { force: true });
    } catch (error: unknown) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The store

export interface IdentityStoreOptions {
  /** undefined keeps everything in memory (nothing on disk). */
  readonly dataDir: string | undefined;
  /** Lower only in tests; the stored hash records its own cost, so entries stay verifiable. */
  readonly scryptCost?: ScryptCost;
  readonly lockTiming?: FileLockTiming;
  /** Shared by every hash this store computes; a gate of its own when not given. */
  readonly hashing?: HashingGate;
}

export class IdentityStore {
  private readonly hasher: SecretHasher;

  private constructor(
    private readonly storage: IdentityStorage,
    scryptCost: ScryptCost | undefined,
    /** The file, for messages; undefined in memory. */
    readonly file: string | undefined,
    hashing: HashingGate | undefined,
  ) {
    this.hasher = new SecretHasher(scryptCost, hashing);
  }

  /** Opens the store; a corrupt or unreadable file fails here with a `LocalStateError`. */
  static async open(options: IdentityStoreOptions): Promise<IdentityStore> {
    if (options.dataDir === undefined) {
      return new IdentityStore(new MemoryIdentityStorage(), options.scryptCost, undefined, options.hashing);
    }
    const storage = new FileIdentityStorage(options.dataDir, options.lockTiming);
    await storage.read();
    return new IdentityStore(storage, options.scryptCost, storage.file, options.hashing);
  }

  /**
   * Computes the dummy hash that unknown names are checked against. A server calls this once at
   * start, so that even the first sign-in with an unknown name costs one scrypt, not two.
   */
  prepareVerification(): Promise<void> {
    return this.hasher.prepare();
  }

  async addUser(input: NewUserInput): Promise<UserSummary> {
    const parsed = NewUser.safeParse(input);
    if (!parsed.success) throw invalid('user', parsed.error);
    const { username, password, tenant, groups } = parsed.data;
    // Hash before taking the lock: the lock is held for milliseconds, not for a scrypt.
    const passwordHash = await this.hasher.hash(password);
    const record: UserRecord = {
      sub: randomUUID(),
      username,
      tenant,
      groups: [...new Set(groups)],
      passwordHash,
      createdAt: new Date().toISOString(),
    };
    await this.storage.update((document) => {
      if (document.users.some((user) => usernameKey(user.username) === usernameKey(username))) {
        throw new ConflictError(`A user named ${username} already exists (usernames are case-insensitive)`);
      }
      document.users.push(record);
    });
    return userSummary(record);
  }

  /** Creates a machine client; the secret is returned only here and stored only as a hash. */
  async addClient(
    input: NewClientInput,
  ): Promise<{ clientId: string; clientSecret: string; client: ClientSummary }> {
    const parsed = NewClient.safeParse(input);
    if (!parsed.success) throw invalid('client', parsed.error);
    const { tenant, scopes, name } = parsed.data;
    const clientSecret = randomBytes(48).toString('base64url');
    const record: ClientRecord = {
      clientId: newClientId(),
      ...(name === undefined ? {} : { name }),
      tenant,
      scopes: [...new Set(scopes)],
      secretHash: await this.hasher.hash(clientSecret),
      createdAt: new Date().toISOString(),
    };
    await this.storage.update((document) => {
      if (document.clients.some((client) => client.clientId === record.clientId)) {
        throw new ConflictError('Client id collision; try again');
      }
      document.clients.push(record);
    });
    return { clientId: record.clientId, clientSecret, client: clientSummary(record) };
  }

  async listUsers(): Promise<UserSummary[]> {
    return (await this.storage.read()).users.map(userSummary);
  }

  async listClients(): Promise<ClientSummary[]> {
    return (await this.storage.read()).clients.map(clientSummary);
  }

  /**
   * On first start (no users at all) creates `admin` in tenant `default`, group `admin`, with
   * `password` or a generated one that the caller shows once. Never logs the password.
   */
  async ensureAdmin(password?: string): Promise<{ created: boolean; generatedPassword?: string }> {
    if ((await this.storage.read()).users.length > 0) return { created: false };
    const generatedPassword = password === undefined ? randomBytes(24).toString('base64url') : undefined;
    const parsed = NewUser.safeParse({
      username: ADMIN_USERNAME,
      password: password ?? generatedPassword,
      tenant: ADMIN_TENANT,
      groups: ['admin'],
    });
    if (!parsed.success) throw invalid('admin user', parsed.error);
    const record: UserRecord = {
      sub: randomUUID(),
      username: ADMIN_USERNAME,
      tenant: ADMIN_TENANT,
      groups: ['admin'],
      passwordHash: await this.hasher.hash(parsed.data.password),
      createdAt: new Date().toISOString(),
    };
    const created = await this.storage.update((document) => {
      // Checked again under the lock: a CLI may have added a user meanwhile.
      if (document.users.length > 0) return false;
      document.users.push(record);
      return true;
    });
    if (!created) return { created: false };
    return generatedPassword === undefined ? { created: true } : { created: true, generatedPassword };
  }

  /** The user if the password matches; undefined otherwise, after the same amount of work. */
  async authenticateUser(username: string, password: string): Promise<AuthenticatedUser | undefined> {
    const document = await this.storage.read();
    const user = document.users.find(
      (candidate) => usernameKey(candidate.username) === usernameKey(username),
    );
    const matches = await this.hasher.verify(password, user?.passwordHash);
    if (!matches || user === undefined) return undefined;
    const { passwordHash: _hash, ...authenticated } = user;
    return authenticated;
  }

  /** The client if the secret matches; undefined otherwise, after the same amount of work. */
  async authenticateClient(clientId: string, clientSecret: string): Promise<AuthenticatedClient | undefined> {
    const document = await this.storage.read();
    const client = document.clients.find((candidate) => candidate.clientId === clientId);
    const matches = await this.hasher.verify(clientSecret, client?.secretHash);
    if (!matches || client === undefined) return undefined;
    const { secretHash: _hash, ...authenticated } = client;
    return authenticated;
  }
}
