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
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { ProfileError } from './errors.js';

export const PROFILE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const Url = z.url({ protocol: /^https?$/ });

const AuthSettings = z.discriminatedUnion('kind', [
  /** Local runtime only: POST /auth/token with a username and password (no refresh token). */
  z
    .object({ kind: z.literal('password'), username: z.string().min(1).max(128), signInEndpoint: Url })
    .strict(),
  /** Authorization code with PKCE in the browser (Cognito Hosted UI, or the local issuer). */
  z
    .object({
      kind: z.literal('browser'),
      clientId: z.string().min(1).max(128),
      authorizationEndpoint: Url,
      tokenEndpoint: Url,
      scopes: z.array(z.string().min(1).max(256)).min(1),
    })
    .strict(),
  /** OAuth 2.0 client credentials of a machine client. */
  z
    .object({
      kind: z.literal('client'),
      clientId: z.string().min(1).max(128),
      tokenEndpoint: Url,
      scopes: z.array(z.string().min(1).max(256)).optional(),
    })
    .strict(),
]);
export type AuthSettings = z.infer<typeof AuthSettings>;

const Profile = z.object({ apiUrl: Url, auth: AuthSettings.optional() }).strict();
export type Profile = z.infer<typeof Profile>;

const ProfilesFile = z.object({ profiles: z.record(z.string().regex(PROFILE_NAME), Profile) }).strict();
type ProfilesFile = z.infer<typeof ProfilesFile>;

const StoredTokens = z
  .object({
    accessToken: z.string().min(1),
    /** Milliseconds since the epoch. */
    expiresAt: z.number().int(),
    refreshToken: z.string().min(1).optional(),
    /** Client credentials keep their secret, as the AWS CLI keeps keys in ~/.aws/credentials. */
    clientSecret: z.string().min(1).optional(),
  })
  .strict();
export type StoredTokens = z.infer<typeof StoredTokens>;

const TokensFile = z.record(z.string().regex(PROFILE_NAME), StoredTokens);

export function configDirectory(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env.VAULTPILOT_CONFIG_DIR;
  if (explicit !== undefined && explicit.length > 0) return explicit;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg.length > 0) return join(xdg, 'vaultpilot');
  return join(env.HOME ?? homedir(), '.config', 'vaultpilot');
}

/** Reads a private JSON file; undefined when it does not exist. */
async function readPrivateJson(file: string): Promise<unknown> {
  let info;
  try {
    info = await stat(file);
  } catch (error: unknown) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw new ProfileError(`cannot read ${file}`, { cause: error });
  }
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
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error: unknown) {
    throw new ProfileError(`${file} is not valid JSON; fix or delete it`, { cause: error });
  }
}

/** Writes through a fresh 0600 file and a rename, so a reader never sees half a file. */
async function writePrivateJson(dir: string, file: string, value: unknown): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
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

function parsed<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? '' : ` at ${issue.path.join('.') || '(top)'}: ${issue.message}`;
    throw new ProfileError(`${file} is not a valid VaultPilot file${where}; fix or delete it`);
  }
  return result.data;
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
    return raw === undefined ? { profiles: {} } : parsed(ProfilesFile, raw, this.profilesFile);
  }

  private async tokens(): Promise<Record<string, StoredTokens>> {
    const raw = await readPrivateJson(this.tokensFile);
    return raw === undefined ? {} : parsed(TokensFile, raw, this.tokensFile);
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
      profiles: { ...file.profiles, [name]: Profile.parse(profile) },
    });
  }

  async storedTokens(name: string): Promise<StoredTokens | undefined> {
    const tokens = await this.tokens();
    return Object.hasOwn(tokens, name) ? tokens[name] : undefined;
  }

  async saveTokens(name: string, tokens: StoredTokens): Promise<void> {
    const all = await this.tokens();
    await writePrivateJson(this.dir, this.tokensFile, { ...all, [name]: StoredTokens.parse(tokens) });
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
