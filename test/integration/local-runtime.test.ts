/**
 * The local runtime end to end, in process: dynalite in memory, the identity provider, the API
 * server on a free port, real HTTP requests.
 */
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/runtime.js';

const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';
const silent = { info: () => undefined, error: () => undefined };
let runtime: LocalRuntime;

async function call(path: string, init: RequestInit = {}) {
  const response = await fetch(`${runtime.url}${path}`, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: json as Record<string, any> };
}

async function addMachineClient(scopes: string[]) {
  return runtime.identity.addClient({ tenant: 'acme', scopes, name: 'integration-test' });
}

async function login(username = 'admin', password = ADMIN_PASSWORD) {
  return call('/auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  runtime = await startLocalRuntime(
    parseLocalRuntimeConfig({
      PORT: '0',
      VAULTPILOT_IN_MEMORY: 'true',
      VAULTPILOT_SCHEDULER: 'false',
      VAULTPILOT_ADMIN_PASSWORD: ADMIN_PASSWORD,
    }),
    silent,
  );
});

afterAll(async () => {
  await runtime.stop();
});

describe('local runtime', () => {
  it('answers /health without a token, with security headers', async () => {
    // Act
    const response = await call('/health');

    // Assess
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ status: 'ok', service: 'vaultpilot', runtime: 'local' });
    expect(response.headers.get('strict-transport-security')).toContain('max-age=');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creates the admin from VAULTPILOT_ADMIN_PASSWORD and shows no generated password', () => {
    expect(runtime.adminCreated).toBe(true);
    expect(runtime.generatedAdminPassword).toBeUndefined();
  });

  it('signs the admin in and /me answers with the access token and with the ID token', async () => {
    // Act
    const tokens = await login();
    const viaAccess = await call('/me', {
      headers: { authorization: `Bearer ${String(tokens.json.accessToken)}` },
    });
    const viaId = await call('/me', { headers: { authorization: `Bearer ${String(tokens.json.idToken)}` } });

    // Assess
    expect(tokens.status).toBe(200);
    expect(tokens.json).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600 });
    expect(tokens.headers.get('cache-control')).toBe('no-store');
    for (const me of [viaAccess, viaId]) {
      expect(me.status).toBe(200);
      expect(me.json).toMatchObject({ kind: 'user', username: 'admin', tenant: 'default', roles: ['admin'] });
    }
    expect(viaAccess.json.scopes).toEqual(expect.arrayContaining(['vaultpilot/read', 'vaultpilot/admin']));
  });

  it('refuses a wrong password with 401 in the error shape', async () => {
    const response = await login('admin', 'wrong-password-123');
    expect(response.status).toBe(401);
    expect(response.json).toEqual({
      error: { code: 'Unauthorized', message: expect.any(String), requestId: expect.any(String) },
    });
  });

  it.each([
    ['no token', undefined],
    ['a malformed header', 'Bearer'],
    ['garbage', 'Bearer abc.def.ghi'],
  ])('answers /me with %s with 401', async (_name, authorization) => {
    const response = await call('/me', authorization === undefined ? {} : { headers: { authorization } });
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('Unauthorized');
    expect(response.text).not.toMatch(/\s+at\s/);
  });

  it('answers unknown routes with 404 and wrong methods with 405', async () => {
    // Act
    const missing = await call('/nope');
    const wrongMethod = await call('/health', { method: 'DELETE' });

    // Assess
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('NotFound');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, OPTIONS');
    expect(wrongMethod.json.error.code).toBe('MethodNotAllowed');
  });

  it('answers a non-JSON body where JSON is expected with 400', async () => {
    const response = await call('/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username": "admin", ',
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('ValidationError');
  });

  it('serves JWKS and the OpenAPI 3.1 document generated from the contracts', async () => {
    // Act
    const jwks = await call('/.well-known/jwks.json');
    const openapi = await call('/openapi.json');

    // Assess
    expect(jwks.json.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.json.keys[0].d).toBeUndefined();
    expect(openapi.json.openapi).toBe('3.1.0');
    expect(openapi.json.paths['/me'].get.operationId).toBe('getMe');
    expect(openapi.json.components.schemas.MeResponse.required).toContain('tenant');
  });

  it('answers CORS preflight for the dashboard origin only', async () => {
    // Act
    const allowed = await call('/me', { method: 'OPTIONS', headers: { origin: 'http://localhost:5173' } });
    const foreign = await call('/me', { method: 'OPTIONS', headers: { origin: 'https://evil.example.com' } });

    // Assess
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('issues client-credentials tokens to a machine client, which /me sees as a machine', async () => {
    // Prepare: the identity provider's own store, as the `vaultpilot clients add` command uses it.
    const { clientId, clientSecret } = await addMachineClient(['vaultpilot/read']);

    // Act
    const token = await call('/oauth2/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const me = await call('/me', { headers: { authorization: `Bearer ${String(token.json.access_token)}` } });
    const wrongSecret = await call('/oauth2/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:nope`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });

    // Assess
    expect(token.status).toBe(200);
    expect(token.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(me.status).toBe(200);
    expect(me.json).toEqual({
      subject: clientId,
      kind: 'machine',
      tenant: 'acme',
      roles: [],
      scopes: ['vaultpilot/read'],
      clientId,
    });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.json).toMatchObject({ error: 'invalid_client' });
  });

  it('exposes DynamoDB on loopback with the tables from the specs', async () => {
    // Prepare
    const client = new DynamoDBClient({
      endpoint: runtime.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });

    // Act
    const { TableNames } = await client.send(new ListTablesCommand({}));
    client.destroy();

    // Assess
    expect(TableNames).toEqual([
      'vaultpilot-audit',
      'vaultpilot-credentials',
      'vaultpilot-rotations',
      'vaultpilot-secrets',
      'vaultpilot-settings',
    ]);
  });
});
