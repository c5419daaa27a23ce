/**
 * The identity endpoints as the local HTTP server calls them: JWKS and discovery, user sign-in
 * in VaultPilot's error shape, and the client-credentials grant in OAuth 2.0's, like Cognito's.
 */
import { JwtVerifier } from 'aws-jwt-verify';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalIdentityProvider } from '../../lambdas/local/identity.js';
import { handleIdentityRequest, type IdentityRequest } from '../../lambdas/local/identity-routes.js';

const ISSUER = 'http://127.0.0.1:3000';
const PASSWORD = 'correct-horse-battery-staple';

let idp: LocalIdentityProvider;
let client: { clientId: string; clientSecret: string };
let nameCount = 0;
const uniqueName = (prefix: string): string => `${prefix}${(nameCount += 1)}`;

beforeAll(async () => {
  idp = await LocalIdentityProvider.open({
    dataDir: undefined,
    issuer: ISSUER,
    tokenTtlSeconds: 3600,
    userClientId: 'vaultpilot-local-dashboard',
    scryptCost: { N: 2 ** 10, r: 8, p: 1 },
  });
  await idp.addUser({ username: 'alice', password: PASSWORD, tenant: 'acme', groups: ['operator'] });
  client = await idp.addClient({ tenant: 'acme', scopes: ['vaultpilot/read', 'vaultpilot/write'] });
});

async function call(request: Partial<IdentityRequest> & { path: string }) {
  const response = await handleIdentityRequest(idp, {
    method: 'GET',
    headers: {},
    body: '',
    requestId: 'req-1',
    ...request,
  });
  if (response === undefined) throw new Error(`${request.path} is not an identity route`);
  return { ...response, json: JSON.parse(response.body) as Record<string, any> };
}

function signIn(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return call({ method: 'POST', path: '/auth/token', headers, body });
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

function token(body: string, headers: Record<string, string> = {}) {
  return call({
    method: 'POST',
    path: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
}

describe('handleIdentityRequest routing', () => {
  it('passes on paths that are not identity routes', async () => {
    expect(
      await handleIdentityRequest(idp, { method: 'GET', path: '/me', headers: {}, body: '', requestId: 'r' }),
    ).toBeUndefined();
    expect(
      await handleIdentityRequest(idp, {
        method: 'GET',
        path: '/auth/token/x',
        headers: {},
        body: '',
        requestId: 'r',
      }),
    ).toBeUndefined();
  });

  it('answers a wrong method with 405 and Allow', async () => {
    // Act
    const response = await call({ method: 'GET', path: '/auth/token' });

    // Assess
    expect(response.statusCode).toBe(405);
    expect(response.headers.Allow).toBe('POST, OPTIONS');
    expect(response.json.error).toMatchObject({ code: 'MethodNotAllowed', requestId: 'req-1' });
  });
});

describe('GET /.well-known/*', () => {
  it('serves the JWKS, cacheable for five minutes', async () => {
    // Act
    const response = await call({ path: '/.well-known/jwks.json' });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers['Content-Type']).toBe('application/json');
    expect(response.headers['Cache-Control']).toBe('public, max-age=300');
    expect(response.json).toEqual(idp.jwks());
    expect(response.json.keys[0].d).toBeUndefined();
  });

  it('serves a discovery document pointing at the JWKS and token endpoint', async () => {
    // Act
    const response = await call({ path: '/.well-known/openid-configuration' });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      token_endpoint: `${ISSUER}/oauth2/token`,
      grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
    });
  });
});

describe('POST /auth/token', () => {
  it('signs a user in with tokens that are never cached', async () => {
    // Act
    const response = await signIn(JSON.stringify({ username: 'alice', password: PASSWORD }));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers['Cache-Control']).toBe('no-store');
    expect(response.headers['Content-Type']).toBe('application/json');
    expect(Object.keys(response.json).sort()).toEqual(['accessToken', 'expiresIn', 'idToken', 'tokenType']);
    expect(response.json).toMatchObject({ expiresIn: 3600, tokenType: 'Bearer' });
  });

  it.each([
    ['bad JSON', '{"username": "alice", '],
    ['a missing password', JSON.stringify({ username: 'alice' })],
    ['an unknown field', JSON.stringify({ username: 'alice', password: PASSWORD, admin: true })],
    ['an array', '[]'],
  ])('answers %s with 400 in the error shape', async (_case, body) => {
    // Act
    const response = await signIn(body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.headers['Cache-Control']).toBe('no-store');
    expect(Object.keys(response.json)).toEqual(['error']);
    expect(response.json.error).toMatchObject({
      code: 'ValidationError',
      message: expect.any(String),
      requestId: 'req-1',
    });
    expect(response.body).not.toContain(PASSWORD);
  });

  it('reports the zod issues of an invalid body', async () => {
    const response = await signIn(JSON.stringify({ username: 'alice', password: 5 }));
    expect(response.json.error.details.issues[0]).toMatchObject({ path: ['password'] });
  });

  it('requires Content-Type application/json', async () => {
    // Act
    const response = await signIn(JSON.stringify({ username: 'alice', password: PASSWORD }), {
      'content-type': 'text/plain',
    });
    const withCharset = await signIn(JSON.stringify({ username: 'alice', password: PASSWORD }), {
      'content-type': 'application/json; charset=utf-8',
    });

    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.json.error.message).toMatch(/Content-Type/);
    expect(withCharset.statusCode).toBe(200);
  });

  it('answers a wrong password and an unknown user with the same 401', async () => {
    // Act
    const wrong = await signIn(JSON.stringify({ username: 'alice', password: 'wrong-password-1' }));
    const unknown = await signIn(JSON.stringify({ username: uniqueName('mallory'), password: PASSWORD }));

    // Assess
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json).toEqual({
      error: { code: 'Unauthorized', message: 'Invalid username or password', requestId: 'req-1' },
    });
    expect(unknown.body).toBe(wrong.body);
  });

  it('answers 429 with Retry-After once one source has failed 3 times for one username', async () => {
    // Prepare
    const username = uniqueName('bob');
    await idp.addUser({ username, password: PASSWORD, tenant: 'acme', groups: ['viewer'] });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await signIn(JSON.stringify({ username, password: 'wrong-password-1' }))).statusCode).toBe(401);
    }

    // Act
    const locked = await signIn(JSON.stringify({ username, password: PASSWORD }));
    const otherUser = await signIn(JSON.stringify({ username: 'alice', password: PASSWORD }));

    // Assess
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['Retry-After']).toBe('1');
    expect(locked.json.error.code).toBe('TooManyRequests');
    expect(otherUser.statusCode).toBe(200);
  });
});

describe('POST /oauth2/token', () => {
  it('issues an access token to a client authenticated with HTTP Basic', async () => {
    // Prepare
    const verifier = JwtVerifier.create({ issuer: ISSUER, audience: null });
    verifier.cacheJwks(idp.jwks() as Parameters<typeof verifier.cacheJwks>[0]);

    // Act
    const response = await token('grant_type=client_credentials', {
      authorization: basic(client.clientId, client.clientSecret),
    });
    const claims = await verifier.verify(String(response.json.access_token));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers['Cache-Control']).toBe('no-store');
    expect(response.headers.Pragma).toBe('no-cache');
    expect(response.json).toEqual({
      access_token: expect.any(String),
      expires_in: 3600,
      token_type: 'Bearer',
    });
    expect(claims).toMatchObject({
      sub: client.clientId,
      client_id: client.clientId,
      scope: 'vaultpilot/read vaultpilot/write',
    });
  });

  it('accepts client_id and client_secret in the body and narrows to the requested scope', async () => {
    // Act
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      scope: 'vaultpilot/read',
    });
    const response = await token(body.toString());

    // Assess
    expect(response.statusCode).toBe(200);
    const payload = JSON.parse(
      Buffer.from(String(response.json.access_token).split('.')[1] ?? '', 'base64url').toString(),
    );
    expect(payload.scope).toBe('vaultpilot/read');
  });

  it('answers a scope the client was not granted with invalid_scope', async () => {
    const response = await token('grant_type=client_credentials&scope=vaultpilot%2Fadmin', {
      authorization: basic(client.clientId, client.clientSecret),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json.error).toBe('invalid_scope');
  });

  it('answers a wrong secret with 401 invalid_client and a Basic challenge', async () => {
    // Act
    const response = await token('grant_type=client_credentials', {
      authorization: basic(client.clientId, 'wrong'),
    });

    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.json.error).toBe('invalid_client');
    expect(response.headers['WWW-Authenticate']).toMatch(/^Basic /);
    expect(response.body).not.toContain(client.clientSecret);
  });

  it('answers a wrong secret in the body with 400 invalid_client, as Cognito does', async () => {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'b'.repeat(26),
      client_secret: 'x',
    });
    const response = await token(body.toString());
    expect(response.statusCode).toBe(400);
    expect(response.json.error).toBe('invalid_client');
  });

  it('answers a request without client authentication with 401 invalid_client', async () => {
    const response = await token('grant_type=client_credentials');
    expect(response.statusCode).toBe(401);
    expect(response.json.error).toBe('invalid_client');
  });

  it.each([
    ['another grant type', 'grant_type=password&username=a&password=b', 'unsupported_grant_type'],
    ['no grant type', 'scope=vaultpilot%2Fread', 'invalid_request'],
    [
      'a repeated parameter',
      'grant_type=client_credentials&grant_type=client_credentials',
      'invalid_request',
    ],
  ])('answers %s with 400 %s', async (_case, body, error) => {
    const response = await token(body, { authorization: basic(client.clientId, client.clientSecret) });
    expect(response.statusCode).toBe(400);
    expect(response.json.error).toBe(error);
    expect(response.headers['Cache-Control']).toBe('no-store');
  });

  it('answers a JSON body with 400 invalid_request', async () => {
    const response = await call({
      method: 'POST',
      path: '/oauth2/token',
      headers: {
        'content-type': 'application/json',
        authorization: basic(client.clientId, client.clientSecret),
      },
      body: '{"grant_type":"client_credentials"}',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json.error).toBe('invalid_request');
  });

  it('refuses two client authentication methods at once', async () => {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_secret: client.clientSecret,
    });
    const response = await token(body.toString(), {
      authorization: basic(client.clientId, client.clientSecret),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json.error).toBe('invalid_request');
  });

  it('answers 429 with Retry-After once one source has failed 3 times for one client', async () => {
    // Prepare
    const victim = await idp.addClient({ tenant: 'acme', scopes: ['vaultpilot/read'] });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await token('grant_type=client_credentials', { authorization: basic(victim.clientId, 'wrong') });
    }

    // Act
    const locked = await token('grant_type=client_credentials', {
      authorization: basic(victim.clientId, victim.clientSecret),
    });

    // Assess
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['Retry-After']).toBe('1');
    expect(locked.json.error).toBe('too_many_requests');
  });
});
