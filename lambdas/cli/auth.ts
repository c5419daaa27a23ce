/**
 * Signing in and keeping a usable access token: password (local runtime), authorization code with
 * PKCE S256 through a loopback redirect (Cognito Hosted UI or the local issuer), and client
 * credentials. Tokens are refreshed shortly before they expire: with the refresh token (browser
 * sign-in) or by asking again with the stored client secret (machine clients). A password
 * sign-in has no refresh token, so it ends with the access token.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, NotSignedInError } from './errors.js';
import { exchange } from './http.js';
import type { ClientIo } from './io.js';
import type { AuthSettings, ProfileStore, StoredTokens } from './profiles.js';

/** Refresh this long before the expiry, so a request never leaves with a token about to lapse. */
const EXPIRY_MARGIN_MS = 30_000;

interface TokenAnswer {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken?: string;
}

function json(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function requestIdOf(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const value = headers['x-request-id'] ?? headers['x-amzn-requestid'];
  return typeof value === 'string' ? value : undefined;
}

/** POST a form to an OAuth 2.0 token endpoint; OAuth errors become ApiErrors with their code. */
async function tokenRequest(
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
  const body = json(answer.text);
  if (answer.status !== 200 || typeof body?.access_token !== 'string') {
    const code = typeof body?.error === 'string' ? body.error : `http_${answer.status}`;
    const description =
      typeof body?.error_description === 'string' ? body.error_description : 'the token endpoint refused';
    throw new ApiError(answer.status, code, description, requestIdOf(answer.headers));
  }
  return {
    accessToken: body.access_token,
    expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 3600,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
  };
}

function stored(answer: TokenAnswer, extra: Partial<StoredTokens> = {}): StoredTokens {
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
  const body = json(answer.text);
  if (answer.status !== 200 || typeof body?.accessToken !== 'string')
    throw apiErrorFrom(answer.status, body, answer.headers);
  return stored({
    accessToken: body.accessToken,
    expiresIn: typeof body.expiresIn === 'number' ? body.expiresIn : 3600,
  });
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

/** The API's error body (`{"error":{code,message,requestId}}`) as an ApiError. */
export function apiErrorFrom(
  status: number,
  body: Record<string, unknown> | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): ApiError {
  const error = body?.error;
  if (typeof error === 'object' && error !== null) {
    const fields = error as Record<string, unknown>;
    return new ApiError(
      status,
      typeof fields.code === 'string' ? fields.code : `http_${status}`,
      typeof fields.message === 'string' ? fields.message : `HTTP ${status}`,
      typeof fields.requestId === 'string' ? fields.requestId : requestIdOf(headers),
      fields.details,
    );
  }
  // API Gateway's own answers ({"message": "..."}) and anything else.
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${status}`;
  return new ApiError(status, `http_${status}`, message, requestIdOf(headers));
}

export interface BrowserSignInOptions {
  /** The loopback port; 0 picks a free one (Cognito needs a fixed one listed in its app client). */
  readonly port: number;
  /**
   * The redirect the app client lists (`http://localhost:<port>/callback`, from the deployment's
   * `/config.json`): the server listens on its port, and it is sent as is.
   */
  readonly redirectUri?: string | undefined;
  /** Try xdg-open / open; never in CI. */
  readonly openBrowser: boolean;
  readonly timeoutMs: number;
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

const CALLBACK_PAGE = (message: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>VaultPilot</title></head><body><p>${message}</p></body></html>`;

/**
 * Authorization code with PKCE (RFC 7636, S256) and a loopback redirect (RFC 8252 §7.3): the
 * code comes back to a one-shot server on 127.0.0.1, which checks `state` before anything else.
 */
export async function browserSignIn(
  auth: Extract<AuthSettings, { kind: 'browser' }>,
  io: ClientIo,
  options: BrowserSignInOptions,
): Promise<StoredTokens> {
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier, 'ascii').digest());
  const state = base64url(randomBytes(16));
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const fixed = options.redirectUri === undefined ? undefined : Number(new URL(options.redirectUri).port);
    server.listen(fixed ?? options.port, '127.0.0.1', () => resolve());
  });
  try {
    const { port } = server.address() as AddressInfo;
    const redirectUri = options.redirectUri ?? `http://127.0.0.1:${port}/callback`;
    const url = new URL(auth.authorizationEndpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: auth.clientId,
      redirect_uri: redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: auth.scopes.join(' '),
    }).toString();
    const code = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new NotSignedInError('no sign-in arrived in time; run vaultpilot login again')),
        options.timeoutMs,
      );
      server.on('request', (request, response) => {
        const received = new URL(request.url ?? '/', redirectUri);
        if (received.pathname !== '/callback') {
          response.writeHead(404).end();
          return;
        }
        const params = received.searchParams;
        const finish = (status: number, message: string): void => {
          response
            .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
            .end(CALLBACK_PAGE(message));
        };
        if (params.get('state') !== state) {
          // Not our request (or a forged one): refuse it and keep waiting for the real one.
          finish(400, 'This sign-in response does not belong to the waiting vaultpilot login.');
          return;
        }
        clearTimeout(timer);
        const error = params.get('error');
        const value = params.get('code');
        if (error !== null || value === null) {
          finish(400, 'Sign-in failed. You can close this tab.');
          reject(new NotSignedInError(`sign-in failed: ${error ?? 'no code in the response'}`));
          return;
        }
        finish(200, 'Signed in to VaultPilot. You can close this tab and return to the terminal.');
        resolve(value);
      });
    });
    io.stderr.write(
      `Open this address in a browser to sign in:\n\n  ${url.href}\n\nWaiting for the sign-in...\n`,
    );
    if (options.openBrowser) openInBrowser(url.href);
    const answer = await tokenRequest(auth.tokenEndpoint, {
      grant_type: 'authorization_code',
      client_id: auth.clientId,
      code: await code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    return stored(answer);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

function openInBrowser(href: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [href], { stdio: 'ignore', detached: true });
    // No opener installed: the printed address is enough.
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // Same: the address is printed above.
  }
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
