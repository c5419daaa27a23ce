/**
 * The dashboard's sign-in at the local issuer: OAuth 2.0 authorization code with PKCE (S256) for
 * the public client `vaultpilot-dashboard`, the same flow the dashboard runs against Cognito's
 * Hosted UI in AWS, so it has one sign-in path.
 *
 *   GET  /oauth2/authorize   validates the request, shows the sign-in page (oauth-authorize-page.ts)
 *   POST /oauth2/authorize   checks the password with the identity provider's one sign-in
 *                            function (its lockout applies) and redirects with a code
 *   POST /oauth2/token       grant_type=authorization_code | refresh_token (client credentials
 *                            stay in identity-routes.ts)
 *   POST /oauth2/revoke      revokes a refresh token and its rotations (RFC 7009)
 *   GET  /logout             redirects to the dashboard's signed-out page
 *
 * Codes are single-use, live 60 seconds and are bound to client, redirect URI and challenge; a
 * code presented twice also revokes the refresh token issued for it (RFC 6749 §4.1.2). Refresh
 * tokens are opaque, kept in memory only (a restart signs everyone out), rotated on every use;
 * presenting a rotated one again revokes the whole sign-in session (OAuth 2.0 Security BCP §4.14).
 * The session ends at most 8 hours after sign-in, like the Cognito app client's refresh validity.
 *
 * The sign-in form is CSRF-safe without script: a short-lived form token, an HMAC over the
 * request and a nonce held in a SameSite=Strict, HttpOnly cookie, and the Origin header checked.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { TooManyRequestsError, UnauthorizedError } from '../core/errors.js';
import { SECURITY_HEADERS } from '../shared/http-headers.js';
import { ALL_SCOPES } from '../shared/scopes.js';
import type { LocalIdentityProvider, UserTokens } from './identity.js';
import { TOKEN_PATH } from './identity-routes.js';
import {
  AUTHORIZE_PATH,
  CALLBACK_PATH,
  DASHBOARD_SCOPES,
  LOGOUT_PATH,
  REVOKE_PATH,
  SIGNED_OUT_PATH,
} from './oauth-authorize-endpoints.js';
import { renderAuthorizeErrorPage, renderSignInPage, signInPageCsp } from './oauth-authorize-page.js';
import type { LocalHttpResponse, LocalRequestInfo } from './server.js';

const CODE_TTL_SECONDS = 60;
const FORM_TTL_SECONDS = 600;
const SESSION_TTL_SECONDS = 8 * 3600;
/** Bounds the memory that unused codes and abandoned sessions can take. */
const MAX_ENTRIES = 10_000;
const MAX_BODY_BYTES = 8 * 1024;
const FORM_COOKIE = 'vp_signin';

const KNOWN_SCOPES = new Set<string>([...DASHBOARD_SCOPES, ...ALL_SCOPES]);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

// ---------------------------------------------------------------------------------------------
// The authorization request

/** RFC 6749 §4.1.1 plus RFC 7636 §4.3; `state` is required, the dashboard checks it on return. */
const AuthorizationRequest = z.object({
  response_type: z.string(),
  client_id: z.string().max(128),
  redirect_uri: z.string().max(2048),
  state: z.string().regex(/^[\x21-\x7e]{8,512}$/, 'state must be 8 to 512 visible ASCII characters'),
  code_challenge: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'code_challenge must be a base64url SHA-256 (43 characters)'),
  code_challenge_method: z.literal('S256', 'code_challenge_method must be S256'),
  scope: z.string().max(1024).optional(),
});
type AuthorizationRequest = z.infer<typeof AuthorizationRequest>;

const AUTHORIZATION_FIELDS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'scope',
] as const;

/** A loopback origin serving the dashboard: `http://127.0.0.1:5173/callback` and the like. */
export function isLoopbackUri(value: string, path: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'http:' &&
    LOOPBACK_HOSTS.has(url.hostname) &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === path &&
    url.search === '' &&
    url.hash === '' &&
    // No `http://127.0.0.1:80/callback#` variants: the URI must be exactly its normal form.
    url.href === value
  );
}

type Checked =
  | { readonly ok: true; readonly request: AuthorizationRequest }
  /** Answered with a page: the redirect URI cannot be trusted (RFC 6749 §4.1.2.1). */
  | { readonly ok: false; readonly page: string }
  /** Answered by redirecting to the (trusted) redirect URI with an error. */
  | {
      readonly ok: false;
      readonly redirectUri: string;
      readonly error: string;
      readonly description: string;
      readonly state?: string;
    };

function singleValued(params: URLSearchParams): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  for (const name of new Set(params.keys())) {
    const all = params.getAll(name);
    if (all.length > 1) return undefined;
    values[name] = all[0] ?? '';
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Codes and sessions (memory)

interface IssuedCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly subject: string;
  readonly expiresAt: number;
  /** The session its exchange created, revoked if the code comes back (RFC 6749 §4.1.2). */
  sessionId?: string;
}

interface RefreshSession {
  readonly id: string;
  readonly clientId: string;
  readonly subject: string;
  readonly expiresAt: number;
  /** Hash of the one refresh token that is valid now. */
  currentHash: string;
  /** Hashes of the tokens it replaced: presenting one again means it was stolen. */
  readonly rotatedHashes: Set<string>;
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Drops expired entries, then the oldest, once a map reaches its bound. */
function makeRoom<V extends { readonly expiresAt: number }>(map: Map<string, V>, now: number): void {
  if (map.size < MAX_ENTRIES) return;
  for (const [key, value] of map) if (value.expiresAt <= now) map.delete(key);
  while (map.size >= MAX_ENTRIES) {
    const oldest = map.keys().next();
    if (oldest.done === true) break;
    map.delete(oldest.value);
  }
}

/** A token-endpoint failure in OAuth 2.0's error shape (RFC 6749 §5.2). */
class TokenGrantError extends Error {
  constructor(
    readonly code: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type',
    message: string,
  ) {
    super(message);
    this.name = 'TokenGrantError';
  }
}

export interface LocalAuthorizationServerOptions {
  readonly identity: LocalIdentityProvider;
  /** The dashboard's public client id: the `aud` and `client_id` of its tokens. */
  readonly clientId: string;
  /** Milliseconds since the epoch; injectable so expiry can be tested. */
  readonly clock?: () => number;
}

export class LocalAuthorizationServer {
  private readonly formKey = randomBytes(32);
  private readonly codes = new Map<string, IssuedCode>();
  /** Hashes of codes already exchanged, until they would have expired. */
  private readonly spentCodes = new Map<string, IssuedCode>();
  private readonly sessions = new Map<string, RefreshSession>();
  /** Refresh-token hash (current or rotated) → session id. */
  private readonly tokenIndex = new Map<string, { readonly sessionId: string; readonly expiresAt: number }>();
  private readonly clock: () => number;

  constructor(private readonly options: LocalAuthorizationServerOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** The side route of the local server; undefined for every request that is not its own. */
  readonly handle = async (request: LocalRequestInfo): Promise<LocalHttpResponse | undefined> => {
    const method = request.method.toUpperCase();
    switch (request.path) {
      case AUTHORIZE_PATH:
        if (method === 'GET' || method === 'HEAD') return this.showSignIn(request);
        if (method === 'POST') return this.signIn(request);
        return methodNotAllowed(request, 'GET, HEAD, POST, OPTIONS');
      case LOGOUT_PATH:
        if (method === 'GET' || method === 'HEAD') return this.logout(request);
        return methodNotAllowed(request, 'GET, HEAD, OPTIONS');
      case REVOKE_PATH:
        if (method === 'POST') return this.revoke(request);
        return methodNotAllowed(request, 'POST, OPTIONS');
      case TOKEN_PATH:
        return method === 'POST' ? this.tokenGrant(request) : undefined;
      default:
        return undefined;
    }
  };

  // -------------------------------------------------------------------------------------------
  // GET and POST /oauth2/authorize

  private check(params: URLSearchParams): Checked {
    const values = singleValued(params);
    if (values === undefined) return { ok: false, page: 'A parameter of the sign-in request is repeated.' };
    if (values.client_id !== this.options.clientId) {
      return { ok: false, page: 'Unknown client_id: only the VaultPilot dashboard signs in here.' };
    }
    const redirectUri = values.redirect_uri ?? '';
    if (!isLoopbackUri(redirectUri, CALLBACK_PATH)) {
      return {
        ok: false,
        page: `redirect_uri must be ${CALLBACK_PATH} on a loopback origin, such as http://127.0.0.1:3000${CALLBACK_PATH}.`,
      };
    }
    const rawState = values.state;
    const state =
      rawState !== undefined && AuthorizationRequest.shape.state.safeParse(rawState).success
        ? rawState
        : undefined;
    const refuse = (error: string, description: string): Checked => ({
      ok: false,
      redirectUri,
      error,
      description,
      ...(state === undefined ? {} : { state }),
    });
    if (values.response_type !== 'code')
      return refuse('unsupported_response_type', 'response_type must be code');
    const parsed = AuthorizationRequest.safeParse(values);
    if (!parsed.success) {
      return refuse('invalid_request', parsed.error.issues.map((issue) => issue.message).join('; '));
    }
    const scopes = (parsed.data.scope ?? 'openid').split(' ').filter((scope) => scope.length > 0);
    const unknown = scopes.filter((scope) => !KNOWN_SCOPES.has(scope));
    if (unknown.length > 0) return refuse('invalid_scope', `Unknown scope: ${unknown.join(' ')}`);
    return { ok: true, request: parsed.data };
  }

  private refused(request: LocalRequestInfo, checked: Exclude<Checked, { ok: true }>): LocalHttpResponse {
    if ('page' in checked) {
      return {
        statusCode: 400,
        headers: htmlHeaders(request, signInPageCsp("'none'")),
        body: renderAuthorizeErrorPage(checked.page),
      };
    }
    const target = new URL(checked.redirectUri);
    target.searchParams.set('error', checked.error);
    target.searchParams.set('error_description', checked.description);
    if (checked.state !== undefined) target.searchParams.set('state', checked.state);
    return redirect(request, target.href, 302);
  }

  private showSignIn(request: LocalRequestInfo): LocalHttpResponse {
    const checked = this.check(new URLSearchParams(request.search));
    if (!checked.ok) return this.refused(request, checked);
    return this.signInPage(request, checked.request, 200);
  }

  private signInPage(
    request: LocalRequestInfo,
    authorization: AuthorizationRequest,
    statusCode: number,
    extra: { username?: string; error?: string; headers?: Record<string, string> } = {},
  ): LocalHttpResponse {
    const nonce = randomBytes(16).toString('base64url');
    const expiresAt = Math.floor(this.clock() / 1000) + FORM_TTL_SECONDS;
    const hiddenFields: Record<string, string> = {};
    for (const field of AUTHORIZATION_FIELDS) {
      const value = authorization[field];
      if (value !== undefined) hiddenFields[field] = value;
    }
    hiddenFields.form_token = `${expiresAt}.${this.formMac(nonce, expiresAt, authorization)}`;
    return {
      statusCode,
      headers: {
        ...htmlHeaders(request, signInPageCsp(new URL(authorization.redirect_uri).origin)),
        'Set-Cookie': `${FORM_COOKIE}=${nonce}; Path=${AUTHORIZE_PATH}; Max-Age=${FORM_TTL_SECONDS}; HttpOnly; SameSite=Strict`,
        ...extra.headers,
      },
      body: renderSignInPage({
        hiddenFields,
        formAction: AUTHORIZE_PATH,
        ...(extra.username === undefined ? {} : { username: extra.username }),
        ...(extra.error === undefined ? {} : { error: extra.error }),
      }),
    };
  }

  private formMac(nonce: string, expiresAt: number, authorization: AuthorizationRequest): string {
    const bound = JSON.stringify([
      nonce,
      expiresAt,
      ...AUTHORIZATION_FIELDS.map((field) => authorization[field] ?? null),
    ]);
    return createHmac('sha256', this.formKey).update(bound, 'utf8').digest('base64url');
  }

  /** True when the form came from a page this server rendered for this browser, recently. */
  private formIsGenuine(
    request: LocalRequestInfo,
    token: string,
    authorization: AuthorizationRequest,
  ): boolean {
    const origin = request.headers.origin;
    const host = request.headers.host;
    // Browsers send Origin on every POST; when present it must be this server itself.
    if (origin !== undefined && origin !== 'null' && (host === undefined || origin !== `http://${host}`))
      return false;
    if (origin === 'null') return false;
    const nonce = cookie(request.headers.cookie, FORM_COOKIE);
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (nonce === undefined || match?.[1] === undefined || match[2] === undefined) return false;
    const expiresAt = Number(match[1]);
    if (expiresAt < Math.floor(this.clock() / 1000)) return false;
    return sameText(match[2], this.formMac(nonce, expiresAt, authorization));
  }

  private async signIn(request: LocalRequestInfo): Promise<LocalHttpResponse> {
    if (
      Buffer.byteLength(request.body, 'utf8') > MAX_BODY_BYTES ||
      mediaType(request) !== 'application/x-www-form-urlencoded'
    ) {
      return {
        statusCode: 400,
        headers: htmlHeaders(request, signInPageCsp("'none'")),
        body: renderAuthorizeErrorPage('The sign-in form was not sent as a form.'),
      };
    }
    const form = new URLSearchParams(request.body);
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const formToken = form.get('form_token') ?? '';
    for (const name of ['username', 'password', 'form_token']) form.delete(name);
    const checked = this.check(form);
    if (!checked.ok) return this.refused(request, checked);
    const authorization = checked.request;
    if (!this.formIsGenuine(request, formToken, authorization)) {
      return this.signInPage(request, authorization, 403, {
        username,
        error: 'This sign-in form has expired or did not come from this page. Please sign in again.',
      });
    }
    if (username.length === 0 || username.length > 128 || password.length === 0 || password.length > 256) {
      return this.signInPage(request, authorization, 400, {
        username,
        error: 'Enter your username and password.',
      });
    }
    let tokens: UserTokens;
    try {
      tokens = await this.options.identity.passwordLogin(username, password, request.sourceIp);
    } catch (error: unknown) {
      if (error instanceof UnauthorizedError) {
        return this.signInPage(request, authorization, 401, {
          username,
          error: 'Invalid username or password.',
        });
      }
      if (error instanceof TooManyRequestsError) {
        return this.signInPage(request, authorization, 429, {
          username,
          error: `Too many failed sign-in attempts. Try again in ${error.retryAfterSeconds} seconds.`,
          headers: { 'Retry-After': String(error.retryAfterSeconds) },
        });
      }
      throw error;
    }
    const now = this.clock();
    makeRoom(this.codes, now);
    const code = randomBytes(32).toString('base64url');
    this.codes.set(sha256(code), {
      clientId: authorization.client_id,
      redirectUri: authorization.redirect_uri,
      codeChallenge: authorization.code_challenge,
      subject: tokens.subject,
      expiresAt: now + CODE_TTL_SECONDS * 1000,
    });
    const target = new URL(authorization.redirect_uri);
    target.searchParams.set('code', code);
    target.searchParams.set('state', authorization.state);
    const response = redirect(request, target.href, 303);
    // The form nonce has done its work; a second POST of the same page must start over.
    return {
      ...response,
      headers: {
        ...response.headers,
        'Set-Cookie': `${FORM_COOKIE}=; Path=${AUTHORIZE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict`,
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // POST /oauth2/token (authorization_code, refresh_token)

  private async tokenGrant(request: LocalRequestInfo): Promise<LocalHttpResponse | undefined> {
    if (
      mediaType(request) !== 'application/x-www-form-urlencoded' ||
      Buffer.byteLength(request.body, 'utf8') > MAX_BODY_BYTES
    ) {
      return undefined;
    }
    const form = new URLSearchParams(request.body);
    const grantType = form.get('grant_type');
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') return undefined;
    try {
      const values = singleValued(form);
      if (values === undefined) throw new TokenGrantError('invalid_request', 'A parameter is repeated');
      // A public client: it has no secret, so none may be presented (RFC 6749 §2.3).
      if (request.headers.authorization !== undefined || values.client_secret !== undefined) {
        throw new TokenGrantError('invalid_client', 'This client is public and has no secret');
      }
      if (values.client_id !== this.options.clientId)
        throw new TokenGrantError('invalid_client', 'Unknown client_id');
      const body =
        grantType === 'authorization_code' ? await this.exchangeCode(values) : await this.refresh(values);
      return json(request, 200, body);
    } catch (error: unknown) {
      if (error instanceof TokenGrantError) {
        return json(request, error.code === 'invalid_client' ? 401 : 400, {
          error: error.code,
          error_description: error.message,
        });
      }
      throw error;
    }
  }

  private async exchangeCode(values: Record<string, string>): Promise<Record<string, unknown>> {
    const { code, redirect_uri: redirectUri, code_verifier: verifier } = values;
    if (code === undefined || redirectUri === undefined || verifier === undefined) {
      throw new TokenGrantError('invalid_request', 'code, redirect_uri and code_verifier are required');
    }
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) {
      throw new TokenGrantError('invalid_request', 'code_verifier must be 43 to 128 unreserved characters');
    }
    const now = this.clock();
    const key = sha256(code);
    const issued = this.codes.get(key);
    if (issued === undefined) {
      const spent = this.spentCodes.get(key);
      if (spent !== undefined && spent.sessionId !== undefined) this.endSession(spent.sessionId);
      throw new TokenGrantError('invalid_grant', 'The code is invalid, expired or already used');
    }
    // Single use, whatever the outcome.
    this.codes.delete(key);
    makeRoom(this.spentCodes, now);
    this.spentCodes.set(key, issued);
    if (issued.expiresAt <= now)
      throw new TokenGrantError('invalid_grant', 'The code is invalid, expired or already used');
    if (issued.clientId !== values.client_id || issued.redirectUri !== redirectUri) {
      throw new TokenGrantError('invalid_grant', 'The code was issued to another client or redirect_uri');
    }
    if (!sameText(sha256(verifier), issued.codeChallenge)) {
      throw new TokenGrantError('invalid_grant', 'code_verifier does not match the code_challenge');
    }
    const tokens = await this.options.identity.reissueUserTokens(issued.subject);
    if (tokens === undefined) throw new TokenGrantError('invalid_grant', 'The user no longer exists');
    const session: RefreshSession = {
      id: randomBytes(16).toString('base64url'),
      clientId: issued.clientId,
      subject: issued.subject,
      expiresAt: now + SESSION_TTL_SECONDS * 1000,
      currentHash: '',
      rotatedHashes: new Set(),
    };
    makeRoom(this.sessions, now);
    this.sessions.set(session.id, session);
    issued.sessionId = session.id;
    return tokenBody(tokens, this.rotate(session));
  }

  private async refresh(values: Record<string, string>): Promise<Record<string, unknown>> {
    const token = values.refresh_token;
    if (token === undefined || token.length === 0)
      throw new TokenGrantError('invalid_request', 'refresh_token is required');
    const now = this.clock();
    const hash = sha256(token);
    const indexed = this.tokenIndex.get(hash);
    const session = indexed === undefined ? undefined : this.sessions.get(indexed.sessionId);
    if (session === undefined || session.expiresAt <= now) {
      throw new TokenGrantError('invalid_grant', 'The refresh token is invalid, expired or revoked');
    }
    if (session.currentHash !== hash) {
      // A replaced token came back: someone kept a copy. End the session for both holders.
      this.endSession(session.id);
      throw new TokenGrantError('invalid_grant', 'The refresh token is invalid, expired or revoked');
    }
    if (session.clientId !== values.client_id)
      throw new TokenGrantError('invalid_grant', 'The refresh token belongs to another client');
    const tokens = await this.options.identity.reissueUserTokens(session.subject);
    if (tokens === undefined) {
      this.endSession(session.id);
      throw new TokenGrantError('invalid_grant', 'The user no longer exists');
    }
    return tokenBody(tokens, this.rotate(session));
  }

  /** A new refresh token for the session; the one it replaces stays known, to catch its reuse. */
  private rotate(session: RefreshSession): string {
    const token = randomBytes(32).toString('base64url');
    if (session.currentHash !== '') session.rotatedHashes.add(session.currentHash);
    session.currentHash = sha256(token);
    makeRoom(this.tokenIndex, this.clock());
    this.tokenIndex.set(session.currentHash, { sessionId: session.id, expiresAt: session.expiresAt });
    return token;
  }

  private endSession(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return;
    this.sessions.delete(sessionId);
    this.tokenIndex.delete(session.currentHash);
    for (const hash of session.rotatedHashes) this.tokenIndex.delete(hash);
  }

  // -------------------------------------------------------------------------------------------
  // POST /oauth2/revoke, GET /logout

  private revoke(request: LocalRequestInfo): LocalHttpResponse {
    if (
      mediaType(request) !== 'application/x-www-form-urlencoded' ||
      Buffer.byteLength(request.body, 'utf8') > MAX_BODY_BYTES
    ) {
      return json(request, 400, {
        error: 'invalid_request',
        error_description: 'Send a form with token and client_id',
      });
    }
    const values = singleValued(new URLSearchParams(request.body));
    if (values?.token === undefined) {
      return json(request, 400, { error: 'invalid_request', error_description: 'token is required' });
    }
    if (values.client_id !== this.options.clientId) {
      return json(request, 401, { error: 'invalid_client', error_description: 'Unknown client_id' });
    }
    const indexed = this.tokenIndex.get(sha256(values.token));
    const session = indexed === undefined ? undefined : this.sessions.get(indexed.sessionId);
    if (session !== undefined && session.clientId === values.client_id) this.endSession(session.id);
    // RFC 7009 §2.2: an unknown or already revoked token is answered the same way.
    return json(request, 200, {});
  }

  /** No browser session exists here (each sign-in asks for the password), so only the redirect. */
  private logout(request: LocalRequestInfo): LocalHttpResponse {
    const values = singleValued(new URLSearchParams(request.search));
    const logoutUri = values?.logout_uri ?? '';
    if (values?.client_id !== this.options.clientId || !isLoopbackUri(logoutUri, SIGNED_OUT_PATH)) {
      return {
        statusCode: 400,
        headers: htmlHeaders(request, signInPageCsp("'none'")),
        body: renderAuthorizeErrorPage(
          `Sign-out needs client_id ${this.options.clientId} and a logout_uri of ${SIGNED_OUT_PATH} on a loopback origin.`,
        ),
      };
    }
    return redirect(request, logoutUri, 302);
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

function tokenBody(tokens: UserTokens, refreshToken: string): Record<string, unknown> {
  return {
    access_token: tokens.accessToken,
    id_token: tokens.idToken,
    refresh_token: refreshToken,
    expires_in: tokens.expiresIn,
    token_type: tokens.tokenType,
  };
}

function mediaType(request: LocalRequestInfo): string {
  return (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function htmlHeaders(request: LocalRequestInfo, csp: string): Record<string, string> {
  return {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': csp,
    // Chromium sends `Origin: null` on a form POST from a no-referrer page; the sign-in form
    // needs its real origin checked, and nothing else learns this page's address.
    'Referrer-Policy': 'same-origin',
    'X-Request-Id': request.requestId,
  };
}

function json(request: LocalRequestInfo, statusCode: number, body: unknown): LocalHttpResponse {
  return {
    statusCode,
    headers: {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json',
      'X-Request-Id': request.requestId,
      // Token responses must never be cached (RFC 6749 §5.1).
      Pragma: 'no-cache',
    },
    body: JSON.stringify(body),
  };
}

function redirect(request: LocalRequestInfo, location: string, statusCode: 302 | 303): LocalHttpResponse {
  return {
    statusCode,
    headers: { ...SECURITY_HEADERS, Location: location, 'X-Request-Id': request.requestId },
    body: '',
  };
}

function methodNotAllowed(request: LocalRequestInfo, allow: string): LocalHttpResponse {
  return {
    ...json(request, 405, {
      error: 'invalid_request',
      error_description: `Method ${request.method} is not allowed`,
    }),
    headers: { ...json(request, 405, {}).headers, Allow: allow },
  };
}
