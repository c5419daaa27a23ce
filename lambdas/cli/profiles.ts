/**
 * Named profiles and their tokens in the user's config directory:
 *
 *   $VAULTPILOT_CONFIG_DIR, else $XDG_CONFIG_HOME/vaultpilot, else ~/.config/vaultpilot
 *     profiles.json   { "profiles": { "<name>": { apiUrl, auth } } }
 *     tokens.json     { "<name>": { accessToken, expiresAt, refreshToken?, clientSecret? } }
 *
 * Both files hold what lets someone act as the user, so both are written 0600 in a 0700
 * directory, and a file that others can read (or that another user owns) is refused rather than
 * used: a token that leaked must not keep working silently.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ProfileError } from './errors.js';
import type { Profile, ProfilesFile, StoredTokens } from './profile-schemas.js';

export type { AuthSettings, Profile, StoredTokens } from './profile-schemas.js';

export const PROFILE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const LOCK_STALE_MS = 60_000;

/**
 * node:fs/promises, loaded for a write or a refresh only: it brings a dozen more of Node's own
 * modules, which a command that only reads its profile (kv get) would compile for nothing.
 */
function fsPromises() {
  return import('node:fs/promises');
}

/** The schemas, loaded on the first read or write of a file (see profile-schemas.ts). */
function schemas() {
  return import('./profile-schemas.js');
}

export function configDirectory(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env.VAULTPILOT_CONFIG_DIR;
  if (explicit !== undefined && explicit.length > 0) return explicit;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg.length > 0) return join(xdg, 'vaultpilot');
  return join(env.HOME ?? homedir(), '.config', 'vaultpilot');
}

/**
 * Reads a private JSON file; undefined when it does not exist. The checks look at the file that
 * is read (fstat of the open descriptor, not a second lookup of the name). Synchronous on
 * purpose: a command reads two small files, and each step of an asynchronous read is a round trip
 * through libuv's thread pool, paid in start-up time (`npm run bench -- cli`).
 */
async function readPrivateJson(file: string): Promise<unknown> {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the command (refused below).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error: unknown) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw new ProfileError(`cannot read ${file}`, { cause: error });
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new ProfileError(`${file} is not a regular file; it is not used`);
    if (process.platform !== 'win32') {
      if ((info.mode & 0o077) !== 0) {
        const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
        throw new ProfileError(
          `${file} has mode ${mode}: others can read or change it, so it is not used. ` +
            `Run 'chmod 600 ${file}' if you trust its content, or delete it and sign in again`,
        );
      }
      const uid = process.getuid?.();
      if (uid !== undefined && info.uid !== uid)
        throw new ProfileError(`${file} belongs to another user (uid ${info.uid}); it is not used`);
    }
    let text: string;
    try {
      text = readFileSync(fd, 'utf8');
    } catch (error: unknown) {
      throw new ProfileError(`cannot read ${file}`, { cause: error });
    }
    try {
      return JSON.parse(text);
    } catch (error: unknown) {
      throw new ProfileError(`${file} is not valid JSON; fix or delete it`, { cause: error });
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes through a fresh 0600 file and a rename, so a reader never sees half a file. */
async function writePrivateJson(dir: string, file: string, value: unknown): Promise<void> {
  const { chmod, mkdir, rename, unlink, writeFile } = await fsPromises();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Loaded here: a command that only reads its profile (kv get) does not pay for node:crypto.
  const { randomBytes } = await import('node:crypto');
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error: unknown) {
    await unlink(temporary).catch(() => undefined);
    throw new ProfileError(`cannot write ${file}`, { cause: error });
  }
}

export class ProfileStore {
  readonly profilesFile: string;
  readonly tokensFile: string;

  constructor(readonly dir: string) {
    this.profilesFile = join(dir, 'profiles.json');
    this.tokensFile = join(dir, 'tokens.json');
  }

  private async profiles(): Promise<ProfilesFile> {
    const raw = await readPrivateJson(this.profilesFile);
    if (raw === undefined) return { profiles: {} };
    const { ProfilesFile, parsed } = await schemas();
    return parsed(ProfilesFile, raw, this.profilesFile);
  }

  private async tokens(): Promise<Record<string, StoredTokens>> {
    const raw = await readPrivateJson(this.tokensFile);
    if (raw === undefined) return {};
    const { TokensFile, parsed } = await schemas();
    return parsed(TokensFile, raw, this.tokensFile);
  }

  async profile(name: string): Promise<Profile | undefined> {
    const { profiles } = await this.profiles();
    return Object.hasOwn(profiles, name) ? profiles[name] : undefined;
  }

  async listProfiles(): Promise<Readonly<Record<string, Profile>>> {
    return (await this.profiles()).profiles;
  }

  async saveProfile(name: string, profile: Profile): Promise<void> {
    const file = await this.profiles();
    await writePrivateJson(this.dir, this.profilesFile, {
      profiles: { ...file.profiles, [name]: (await schemas()).Profile.parse(profile) },
    });
  }

  async storedTokens(name: string): Promise<StoredTokens | undefined> {
    const tokens = await this.tokens();
    return Object.hasOwn(tokens, name) ? tokens[name] : undefined;
  }

  async saveTokens(name: string, tokens: StoredTokens): Promise<void> {
    const all = await this.tokens();
    const { StoredTokens: schema } = await schemas();
    await writePrivateJson(this.dir, this.tokensFile, { ...all, [name]: schema.parse(tokens) });
  }

  /**
   * Runs `work` while holding the profile's refresh lock (an exclusive lock file), so processes
   * that find the token expired at once refresh it once: the local issuer rotates refresh tokens
   * and treats a second use of the old one as theft, ending the session.
   */
  async withRefreshLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const { mkdir, open, stat, unlink } = await fsPromises();
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lock = join(this.dir, `.${name}.refresh.lock`);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await (await open(lock, 'wx', 0o600)).close();
        break;
      } catch (error: unknown) {
        if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST') || attempt >= 300)
          throw new ProfileError(
            `cannot take the refresh lock ${lock}; delete it if no vaultpilot is running`,
            {
              cause: error,
            },
          );
        // A lock left by a process that died is older than any refresh takes.
        const age = await stat(lock).then(
          (info) => Date.now() - info.mtimeMs,
          () => 0,
        );
        if (age > LOCK_STALE_MS) await unlink(lock).catch(() => undefined);
        else await new Promise((done) => setTimeout(done, 50));
      }
    }
    try {
      return await work();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }

  /** True when tokens were dropped. */
  async dropTokens(name: string): Promise<boolean> {
    const all = await this.tokens();
    if (!Object.hasOwn(all, name)) return false;
    const { [name]: _dropped, ...others } = all;
    await writePrivateJson(this.dir, this.tokensFile, others);
    return true;
  }
}
