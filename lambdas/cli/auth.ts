/**
 * Signing in without a browser and keeping a usable access token: password (local runtime) and
 * client credentials, and the OAuth 2.0 token request the browser sign-in (browser-sign-in.ts)
 * ends with. Tokens are refreshed shortly before they expire: with the refresh token (browser
 * sign-in) or by asking again with the stored client secret (machine clients). A password
 * sign-in has no refresh token, so it ends with the access token.
 *
 * A `kv get` with a signed-in profile loads this module (Session), so it imports no more than
 * HTTP: the browser sign-in's loopback server, PKCE and browser opener live apart.
 */
import {
  apiErrorFrom,
  OAuthErrorAnswer,
  OAuthTokenAnswer,
  parseJsonReply,
  PasswordLoginAnswer,
  refusalBody,
} from './answers.js';
import { ApiError, NotSignedInError, printable, requestIdOf } from './errors.js';
import { exchange } from './http.js';
import type { AuthSettings, ProfileStore, StoredTokens } from './profiles.js';

/** Refresh this long before the expiry, so a request never leaves with a token about to lapse. */
const EXPIRY_MARGIN_MS = 30_000;

export interface TokenAnswer {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken?: string;
}

/** POST a form to an OAuth 2.0 token endpoint; OAuth errors become ApiErrors with their code. */
export async function tokenRequest(
  endpoint: string,
  form: Readonly<Record<string, string>>,
  basic?: { id: string; secret: string },
): Promise<TokenAnswer> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (basic !== undefined) {
    const id = encodeURIComponent(basic.id);
    const secret = encodeURIComponent(basic.secret);
    headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
  }
  const answer = await exchange({
    method: 'POST',
    url: new URL(endpoint),
    headers,
    body: new URLSearchParams(form).toString(),
  });
  const what = `the answer of the token endpoint ${new URL(endpoint).origin} (HTTP ${answer.status})`;
  if (answer.status !== 200) {
    const refusal = OAuthErrorAnswer().safeParse(refusalBody(answer.text));
    throw new ApiError(
      answer.status,
      refusal.success ? printable(refusal.data.error, 64) : `http_${answer.status}`,
      refusal.success && refusal.data.error_description !== undefined
        ? printable(refusal.data.error_description)
        : 'the token endpoint refused',
      requestIdOf(answer.headers),
    );
  }
  const body = parseJsonReply(OAuthTokenAnswer(), answer, what);
  return {
    accessToken: body.access_token,
    // RFC 6749 makes expires_in optional; Cognito's and the local issuer's last an hour.
    expiresIn: body.expires_in ?? 3600,
    ...(body.refresh_token === undefined ? {} : { refreshToken: body.refresh_token }),
  };
}

export function stored(answer: TokenAnswer, extra: Partial<StoredTokens> = {}): StoredTokens {
  return {
    accessToken: answer.accessToken,
    expiresAt: Date.now() + answer.expiresIn * 1000,
    ...extra,
    ...(answer.refreshToken === undefined ? {} : { refreshToken: answer.refreshToken }),
  };
}

export async function passwordSignIn(
  endpoint: string,
  username: string,
  password: string,
): Promise<StoredTokens> {
  const answer = await exchange({
    method: 'POST',
    url: new URL(endpoint),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const what = `the answer to POST ${new URL(endpoint).pathname} (HTTP ${answer.status})`;
  if (answer.status !== 200) {
    throw apiErrorFrom(answer.status, refusalBody(answer.text), answer.headers);
  }
  const body = parseJsonReply(PasswordLoginAnswer(), answer, what);
  return stored({ accessToken: body.accessToken, expiresIn: body.expiresIn });
}

export async function clientCredentialsSignIn(
  auth: Extract<AuthSettings, { kind: 'client' }>,
  secret: string,
): Promise<StoredTokens> {
  const answer = await tokenRequest(
    auth.tokenEndpoint,
    {
      grant_type: 'client_credentials',
      ...(auth.scopes === undefined ? {} : { scope: auth.scopes.join(' ') }),
    },
    { id: auth.clientId, secret },
  );
  return stored(answer, { clientSecret: secret });
}

/** The access token of a profile, refreshed first when it is about to expire. */
export class Session {
  constructor(
    private readonly store: ProfileStore,
    readonly profileName: string,
    private readonly auth: AuthSettings | undefined,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  async accessToken(): Promise<string> {
    const tokens = await this.store.storedTokens(this.profileName);
    if (tokens === undefined)
      throw new NotSignedInError(`not signed in (profile ${this.profileName}): run 'vaultpilot login'`);
    if (tokens.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return tokens.accessToken;
    return this.refreshOnce(tokens.accessToken);
  }

  /** After a 401 with a token that looked valid: one refresh, if the sign-in allows it. */
  async renew(): Promise<string> {
    const tokens = await this.store.storedTokens(this.profileName);
    if (tokens === undefined)
      throw new NotSignedInError(`not signed in (profile ${this.profileName}): run 'vaultpilot login'`);
    return this.refreshOnce(tokens.accessToken);
  }

  /** Refreshes under the profile's lock, unless another process already replaced `stale`. */
  private refreshOnce(stale: string): Promise<string> {
    return this.store.withRefreshLock(this.profileName, async () => {
      const current = await this.store.storedTokens(this.profileName);
      if (current === undefined)
        throw new NotSignedInError(`not signed in (profile ${this.profileName}): run 'vaultpilot login'`);
      if (current.accessToken !== stale && current.expiresAt - EXPIRY_MARGIN_MS > Date.now())
        return current.accessToken;
      return (await this.refresh(current)).accessToken;
    });
  }

  private async refresh(tokens: StoredTokens): Promise<StoredTokens> {
    const expired = new NotSignedInError(
      `the session of profile ${this.profileName} has expired: run 'vaultpilot login'`,
    );
    let renewed: StoredTokens;
    try {
      if (this.auth?.kind === 'browser' && tokens.refreshToken !== undefined) {
        const answer = await tokenRequest(this.auth.tokenEndpoint, {
          grant_type: 'refresh_token',
          client_id: this.auth.clientId,
          refresh_token: tokens.refreshToken,
        });
        // Cognito keeps the refresh token (the old one stays); the local issuer rotates it (the new one wins).
        renewed = stored(answer, { refreshToken: tokens.refreshToken });
      } else if (this.auth?.kind === 'client') {
        const secret = this.env.VAULTPILOT_CLIENT_SECRET ?? tokens.clientSecret;
        if (secret === undefined) throw expired;
        renewed = await clientCredentialsSignIn(this.auth, secret);
      } else {
        throw expired;
      }
    } catch (error: unknown) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        // invalid_grant and friends: the refresh token is dead.
        await this.store.dropTokens(this.profileName);
        throw expired;
      }
      throw error;
    }
    await this.store.saveTokens(this.profileName, renewed);
    return renewed;
  }
}
