import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiLambda } from '../../lambdas/shared/api-handler.js';
import { resetFunctions } from '../../lambdas/platform/cold-start.js';
import { proxyEvent, testContext } from '../support/events.js';
import { rsaKey, serveJwks, signJwt, unsignedJwt, type TestKey } from '../support/tokens.js';

const trusted = rsaKey();
const stranger = rsaKey();
let issuer: string;
let closeJwks: () => Promise<void>;
let me: ApiLambda;

const now = (): number => Math.floor(Date.now() / 1000);

function userIdToken(overrides: Record<string, unknown> = {}, key: TestKey = trusted): string {
  return signJwt(key, {
    iss: issuer,
    sub: 'user-1',
    aud: 'dashboard',
    token_use: 'id',
    'cognito:username': 'alice',
    'cognito:groups': ['admin'],
    'custom:tenant': 'default',
    iat: now(),
    exp: now() + 600,
    ...overrides,
  });
}

function machineToken(scope: string): string {
  return signJwt(trusted, {
    iss: issuer,
    sub: 'client-1',
    client_id: 'client-1',
    token_use: 'access',
    scope,
    'custom:tenant': 'acme',
    iat: now(),
    exp: now() + 600,
  });
}

async function callMe(authorization?: string) {
  const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
  const response = await me(proxyEvent({ resource: '/me', operationName: 'getMe', headers }), testContext());
  return { ...response, json: JSON.parse(response.body) as Record<string, unknown> };
}

beforeAll(async () => {
  const jwks = await serveJwks([trusted]);
  issuer = jwks.url;
  closeJwks = jwks.close;
  Object.assign(process.env, {
    // The local issuer's tokens are verified by the local platform.
    VAULTPILOT_RUNTIME: 'local',
    VAULTPILOT_AUTH_MODE: 'local',
    VAULTPILOT_LOCAL_ISSUER: issuer,
    VAULTPILOT_LOCAL_JWKS_URI: `${issuer}/.well-known/jwks.json`,
    VAULTPILOT_USER_CLIENT_IDS: 'dashboard',
    VAULTPILOT_CORS_ORIGINS: 'https://dashboard.example.com',
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  resetFunctions();
  ({ handler: me } = await import('../../lambdas/functions/me/handler.js'));
});

afterAll(async () => {
  await closeJwks();
  resetFunctions();
});

describe('authentication middleware', () => {
  it('puts the verified user principal on the request', async () => {
    // Act
    const response = await callMe(`Bearer ${userIdToken()}`);

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({
      subject: 'user-1',
      kind: 'user',
      username: 'alice',
      tenant: 'default',
      roles: ['admin'],
      scopes: [],
      clientId: 'dashboard',
    });
  });

  it('accepts a machine client with a scope the route allows', async () => {
    const response = await callMe(`Bearer ${machineToken('vaultpilot/read')}`);
    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ kind: 'machine', tenant: 'acme', scopes: ['vaultpilot/read'] });
  });

  it('refuses a machine client without any of the route scopes with 403', async () => {
    const response = await callMe(`Bearer ${machineToken('other/scope')}`);
    expect(response.statusCode).toBe(403);
    expect(response.json).toMatchObject({ error: { code: 'Forbidden', requestId: 'req-test' } });
  });

  const badTokens: [string, () => string | undefined][] = [
    ['no Authorization header', () => undefined],
    ['a malformed Authorization header', () => 'Token abc'],
    ['a Basic header', () => 'Basic YWRtaW46YWRtaW4='],
    ['an expired token', () => `Bearer ${userIdToken({ exp: now() - 3600, iat: now() - 7200 })}`],
    ['a token signed by another key', () => `Bearer ${userIdToken({}, stranger)}`],
    [
      'a token with a forged kid',
      () => `Bearer ${signJwt(stranger, { iss: issuer, token_use: 'id' }, { kid: trusted.kid })}`,
    ],
    [
      'alg none',
      () => `Bearer ${unsignedJwt({ iss: issuer, sub: 'user-1', token_use: 'id', aud: 'dashboard' })}`,
    ],
    [
      'a wrong issuer',
      () => `Bearer ${userIdToken({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x' })}`,
    ],
    ['a wrong audience', () => `Bearer ${userIdToken({ aud: 'someone-else' })}`],
    ['a wrong token_use', () => `Bearer ${userIdToken({ token_use: 'refresh' })}`],
    ['a token that is not yet valid', () => `Bearer ${userIdToken({ nbf: now() + 3600 })}`],
    ['garbage', () => 'Bearer a.b.c'],
    // Signed by the trusted key: only the verifier's own rules stand between them and access.
    ['a token without exp', () => `Bearer ${userIdToken({ exp: undefined })}`],
    [
      'a token with an unknown crit header',
      () =>
        `Bearer ${signJwt(trusted, { iss: issuer, sub: 'user-1', aud: 'dashboard', token_use: 'id', 'cognito:username': 'alice', 'cognito:groups': ['admin'], 'custom:tenant': 'default', iat: now(), exp: now() + 600 }, { crit: ['x-vaultpilot-ext'], 'x-vaultpilot-ext': true })}`,
    ],
  ];

  it.each(badTokens)('answers 401 with the error shape for %s', async (_name, header) => {
    // Act
    const response = await callMe(header());

    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.headers?.['WWW-Authenticate']).toBe('Bearer');
    expect(Object.keys(response.json)).toEqual(['error']);
    expect(response.json.error).toEqual({
      code: 'Unauthorized',
      message: expect.any(String) as string,
      requestId: 'req-test',
    });
    expect(response.body).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('sets security headers and CORS for allowed origins only', async () => {
    // Act
    const allowed = await me(
      proxyEvent({
        resource: '/me',
        operationName: 'getMe',
        headers: { Origin: 'https://dashboard.example.com' },
      }),
      testContext(),
    );
    const foreign = await me(
      proxyEvent({
        resource: '/me',
        operationName: 'getMe',
        headers: { Origin: 'https://evil.example.com' },
      }),
      testContext(),
    );

    // Assess
    expect(allowed.statusCode).toBe(401);
    expect(allowed.headers).toMatchObject({
      'Access-Control-Allow-Origin': 'https://dashboard.example.com',
      'Strict-Transport-Security': expect.stringContaining('max-age=') as string,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      'X-Request-Id': 'req-test',
    });
    expect(foreign.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
  });
});
