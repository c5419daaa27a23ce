/**
 * The identity endpoints of the local runtime, standing in for Cognito's:
 *
 *   GET  /.well-known/jwks.json               the issuer's public keys
 *   GET  /.well-known/openid-configuration    a minimal discovery document
 *   POST /auth/token                          user sign-in (JSON), VaultPilot's error shape
 *   POST /oauth2/token                        client credentials (form), OAuth 2.0's error shape
 *
 * Framework-free: the local HTTP server hands over method, path, lower-cased headers and the body,
 * and writes back what this returns; `undefined` means "not an identity route".
 */
import type * as z from 'zod';
import {
  DependencyUnavailableError,
  DomainError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  TooManyRequestsError,
  ValidationError,
} from '../core/errors.js';
import {
  ClientCredentialsResponse,
  PasswordLoginRequest,
  PasswordLoginResponse,
} from '../shared/contracts/identity.js';
import { toHttpError, validationErrorFrom } from '../shared/http-errors.js';
import { SECURITY_HEADERS } from '../shared/http-headers.js';
import { ALL_SCOPES } from '../shared/scopes.js';
import { OAuth2Error, type LocalIdentityProvider, type OAuth2ErrorCode } from './identity.js';
import { AUTHORIZE_PATH, DASHBOARD_SCOPES, LOGOUT_PATH, REVOKE_PATH } from './oauth-authorize-endpoints.js';

export interface IdentityRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
  /** Named in error bodies, as the API's own errors do. */
  readonly requestId: string;
  /**
   * The client address the server sees (the socket's peer; X-Forwarded-For is not trusted), the
   * "source" of the sign-in limits.
   */
  readonly sourceIp?: string;
}

export interface IdentityResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export const JWKS_PATH = '/.well-known/jwks.json';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const SIGN_IN_PATH = '/auth/token';
export const TOKEN_PATH = '/oauth2/token';

/** Credentials and a few scopes fit in far less; a bigger body is not a sign-in. */
const MAX_IDENTITY_BODY_BYTES = 8 * 1024;

type Route = (idp: LocalIdentityProvider, request: IdentityRequest) => Promise<IdentityResponse>;

const ROUTES: Readonly<Record<string, { readonly method: 'GET' | 'POST'; readonly answer: Route }>> = {
  [JWKS_PATH]: { method: 'GET', answer: async (idp, request) => publicJson(request, idp.jwks()) },
  [DISCOVERY_PATH]: {
    method: 'GET',
    answer: async (idp, request) => publicJson(request, discoveryDocument(idp.issuer)),
  },
  [SIGN_IN_PATH]: { method: 'POST', answer: passwordSignIn },
  [TOKEN_PATH]: { method: 'POST', answer: clientCredentialsGrant },
};

export async function handleIdentityRequest(
  idp: LocalIdentityProvider,
  request: IdentityRequest,
): Promise<IdentityResponse | undefined> {
  const route = Object.hasOwn(ROUTES, request.path) ? ROUTES[request.path] : undefined;
  if (route === undefined) return undefined;
  const method = request.method.toUpperCase();
  if (method !== route.method && !(route.method === 'GET' && method === 'HEAD')) {
    return apiError(
      request,
      new MethodNotAllowedError(
        `Method ${method} is not allowed on ${request.path}`,
        route.method === 'GET' ? ['GET', 'HEAD', 'OPTIONS'] : [route.method, 'OPTIONS'],
      ),
    );
  }
  return route.answer(idp, request);
}

// ---------------------------------------------------------------------------------------------
// Responses

function respond(
  request: IdentityRequest,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): IdentityResponse {
  return {
    statusCode,
    headers: {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json',
      'X-Request-Id': request.requestId,
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

/** Keys and discovery are public and change only with the key: caches may keep them briefly. */
function publicJson(request: IdentityRequest, body: unknown): IdentityResponse {
  return respond(request, 200, body, { 'Cache-Control': 'public, max-age=300' });
}

/** Token responses must never be cached (RFC 6749 §5.1). */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

function apiError(request: IdentityRequest, error: unknown): IdentityResponse {
  const mapped = toHttpError(error, request.requestId);
  return respond(request, mapped.statusCode, mapped.body, { ...NO_STORE, ...mapped.headers });
}

function oauthError(
  request: IdentityRequest,
  statusCode: number,
  error: OAuth2ErrorCode | 'too_many_requests' | 'temporarily_unavailable',
  description: string,
  headers: Readonly<Record<string, string>> = {},
): IdentityResponse {
  return respond(request, statusCode, { error, error_description: description }, { ...NO_STORE, ...headers });
}

function discoveryDocument(issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    token_endpoint: `${issuer}${TOKEN_PATH}`,
    // The dashboard's code flow with PKCE (oauth-authorize.ts).
    authorization_endpoint: `${issuer}${AUTHORIZE_PATH}`,
    revocation_endpoint: `${issuer}${REVOKE_PATH}`,
    end_session_endpoint: `${issuer}${LOGOUT_PATH}`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    scopes_supported: [...new Set([...DASHBOARD_SCOPES, ...ALL_SCOPES])],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    // Not OAuth: users sign in to the local runtime with a JSON POST here (SRP with Cognito in AWS).
    'x-vaultpilot-sign-in-endpoint': `${issuer}${SIGN_IN_PATH}`,
  };
}

function mediaType(headers: IdentityRequest['headers']): string {
  return (headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

// ---------------------------------------------------------------------------------------------
// POST /auth/token

async function passwordSignIn(
  idp: LocalIdentityProvider,
  request: IdentityRequest,
): Promise<IdentityResponse> {
  try {
    if (Buffer.byteLength(request.body, 'utf8') > MAX_IDENTITY_BODY_BYTES) {
      throw new PayloadTooLargeError(`Request body exceeds ${MAX_IDENTITY_BODY_BYTES} bytes`);
    }
    if (mediaType(request.headers) !== 'application/json') {
      throw new ValidationError('Content-Type must be application/json');
    }
    let json: unknown;
    try {
      json = JSON.parse(request.body);
    } catch (error: unknown) {
      throw new ValidationError('Request body is not valid JSON', { cause: error });
    }
    const parsed = PasswordLoginRequest.safeParse(json);
    if (!parsed.success) throw validationErrorFrom(parsed.error, 'request body');
    const tokens = await idp.passwordLogin(parsed.data.username, parsed.data.password, request.sourceIp);
    const body: z.input<typeof PasswordLoginResponse> = tokens;
    return respond(request, 200, PasswordLoginResponse.parse(body), NO_STORE);
  } catch (error: unknown) {
    if (error instanceof DomainError) return apiError(request, error);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// POST /oauth2/token

interface ClientAuthentication {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly viaBasic: boolean;
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

function basicCredentials(header: string): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return {
    clientId: formDecode(decoded.slice(0, colon)),
    clientSecret: formDecode(decoded.slice(colon + 1)),
  };
}

class TokenRequestError extends Error {
  constructor(
    readonly code: OAuth2ErrorCode,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

function clientAuthentication(request: IdentityRequest, form: URLSearchParams): ClientAuthentication {
  const header = request.headers.authorization;
  const bodyId = form.get('client_id');
  const bodySecret = form.get('client_secret');
  if (header !== undefined && header.length > 0) {
    // One authentication method per request (RFC 6749 §2.3).
    if (bodySecret !== null)
      throw new TokenRequestError('invalid_request', 'Use one client authentication method only');
    const credentials = basicCredentials(header);
    if (credentials === undefined)
      throw new TokenRequestError('invalid_client', 'Malformed client authentication', 401);
    if (bodyId !== null && bodyId !== credentials.clientId) {
      throw new TokenRequestError('invalid_request', 'client_id does not match the authenticated client');
    }
    return { ...credentials, viaBasic: true };
  }
  if (bodyId === null || bodyId.length === 0 || bodySecret === null || bodySecret.length === 0) {
    throw new TokenRequestError('invalid_client', 'Client authentication is required', 401);
  }
  return { clientId: bodyId, clientSecret: bodySecret, viaBasic: false };
}

const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="vaultpilot", charset="UTF-8"' } as const;

async function clientCredentialsGrant(
  idp: LocalIdentityProvider,
  request: IdentityRequest,
): Promise<IdentityResponse> {
  let viaBasic = request.headers.authorization !== undefined;
  try {
    if (Buffer.byteLength(request.body, 'utf8') > MAX_IDENTITY_BODY_BYTES) {
      throw new TokenRequestError('invalid_request', `Request body exceeds ${MAX_IDENTITY_BODY_BYTES} bytes`);
    }
    if (mediaType(request.headers) !== 'application/x-www-form-urlencoded') {
      throw new TokenRequestError(
        'invalid_request',
        'Content-Type must be application/x-www-form-urlencoded',
      );
    }
    const form = new URLSearchParams(request.body);
    for (const name of new Set(form.keys())) {
      // Parameters must not repeat (RFC 6749 §3.2).
      if (form.getAll(name).length > 1)
        throw new TokenRequestError('invalid_request', `Parameter ${name} is repeated`);
    }
    const grantType = form.get('grant_type');
    if (grantType === null || grantType.length === 0) {
      throw new TokenRequestError('invalid_request', 'grant_type is required');
    }
    if (grantType !== 'client_credentials') {
      throw new TokenRequestError(
        'unsupported_grant_type',
        'Only grant_type=client_credentials is supported',
      );
    }
    const client = clientAuthentication(request, form);
    viaBasic = client.viaBasic;
    const scope = form.get('scope');
    const requested = scope === null ? undefined : scope.split(' ').filter((part) => part.length > 0);
    const tokens = await idp.clientCredentials(
      client.clientId,
      client.clientSecret,
      requested,
      request.sourceIp,
    );
    const body: z.input<typeof ClientCredentialsResponse> = {
      access_token: tokens.accessToken,
      expires_in: tokens.expiresIn,
      token_type: tokens.tokenType,
    };
    return respond(request, 200, ClientCredentialsResponse.parse(body), NO_STORE);
  } catch (error: unknown) {
    if (error instanceof TokenRequestError) {
      const challenge = error.statusCode === 401 ? BASIC_CHALLENGE : {};
      return oauthError(request, error.statusCode, error.code, error.message, challenge);
    }
    if (error instanceof OAuth2Error) {
      // RFC 6749 §5.2: 401 with a challenge when the client tried HTTP Basic, else 400 as Cognito answers.
      const invalidClient = error.error === 'invalid_client';
      const statusCode = invalidClient && viaBasic ? 401 : 400;
      return oauthError(
        request,
        statusCode,
        error.error,
        error.message,
        invalidClient && viaBasic ? BASIC_CHALLENGE : {},
      );
    }
    if (error instanceof TooManyRequestsError) {
      return oauthError(request, 429, 'too_many_requests', error.message, {
        'Retry-After': String(error.retryAfterSeconds),
      });
    }
    if (error instanceof DependencyUnavailableError) {
      // Busy password hashing (or storage): RFC 6749's code for "try again later".
      return oauthError(request, 503, 'temporarily_unavailable', error.message, {
        'Retry-After': String(error.retryAfterSeconds),
      });
    }
    throw error;
  }
}
