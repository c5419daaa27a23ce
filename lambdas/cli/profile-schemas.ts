/**
 * The schemas of the profile and token files (profiles.ts), apart so that a command that never
 * reads them (VAULTPILOT_TOKEN in CI) does not load zod at start-up.
 */
// zod/mini: the same checks as zod, with less code to load.
import * as z from 'zod/mini';
import { ProfileError } from './errors.js';
import { PROFILE_NAME } from './profiles.js';

const Url = z.url({ protocol: /^https?$/ });
function Text(min: number, max: number) {
  return z.string().check(z.minLength(min), z.maxLength(max));
}

export const AuthSettings = z.discriminatedUnion('kind', [
  /** Local runtime only: POST /auth/token with a username and password (no refresh token). */
  z.strictObject({ kind: z.literal('password'), username: Text(1, 128), signInEndpoint: Url }),
  /** Authorization code with PKCE in the browser (Cognito Hosted UI, or the local issuer). */
  z.strictObject({
    kind: z.literal('browser'),
    clientId: Text(1, 128),
    authorizationEndpoint: Url,
    tokenEndpoint: Url,
    scopes: z.array(Text(1, 256)).check(z.minLength(1)),
  }),
  /** OAuth 2.0 client credentials of a machine client. */
  z.strictObject({
    kind: z.literal('client'),
    clientId: Text(1, 128),
    tokenEndpoint: Url,
    scopes: z.optional(z.array(Text(1, 256))),
  }),
]);
export type AuthSettings = z.infer<typeof AuthSettings>;

export const Profile = z.strictObject({ apiUrl: Url, auth: z.optional(AuthSettings) });
export type Profile = z.infer<typeof Profile>;

const ProfileName = z.string().check(z.regex(PROFILE_NAME));
export const ProfilesFile = z.strictObject({ profiles: z.record(ProfileName, Profile) });
export type ProfilesFile = z.infer<typeof ProfilesFile>;

export const StoredTokens = z.strictObject({
  accessToken: z.string().check(z.minLength(1)),
  /** Milliseconds since the epoch. */
  expiresAt: z.int(),
  refreshToken: z.optional(z.string().check(z.minLength(1))),
  /** Client credentials keep their secret, as the AWS CLI keeps keys in ~/.aws/credentials. */
  clientSecret: z.optional(z.string().check(z.minLength(1))),
});
export type StoredTokens = z.infer<typeof StoredTokens>;

export const TokensFile = z.record(ProfileName, StoredTokens);

/** Parses a file's content, or says which field is wrong (never its value). */
export function parsed<T>(schema: z.ZodMiniType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? '' : ` at ${issue.path.join('.') || '(top)'}: ${issue.message}`;
    throw new ProfileError(`${file} is not a valid VaultPilot file${where}; fix or delete it`);
  }
  return result.data;
}
