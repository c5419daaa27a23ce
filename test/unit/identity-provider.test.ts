/**
 * The local identity provider with real files in a temporary data directory: the signing key,
 * tokens with Cognito's claims (verified by aws-jwt-verify, as the API verifies them), sign-in
 * failures that do not reveal which usernames exist, and the first-start admin (sign-in limits:
 * sign-in-limits.test.ts).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtVerifier } from 'aws-jwt-verify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, UnauthorizedError, ValidationError } from '../../lambdas/core/errors.js';
import { principalFromClaims } from '../../lambdas/core/identity.js';
import {
  LocalIdentityProvider,
  OAuth2Error,
  type LocalIdentityProviderOptions,
} from '../../lambdas/local/identity.js';
import { LocalStateError } from '../../lambdas/local/local-state-error.js';
import { ALL_SCOPES } from '../../lambdas/shared/scopes.js';

const ISSUER = 'http://127.0.0.1:3000';
const DASHBOARD = 'vaultpilot-local-dashboard';
/** Cheap scrypt for tests only; the default is the secure cost. */
const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'correct-horse-battery-staple';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vp-idp-'));
}

function openIdp(
  dataDir: string | undefined,
  overrides: Partial<LocalIdentityProviderOptions> = {},
): Promise<LocalIdentityProvider> {
  return LocalIdentityProvider.open({
    dataDir,
    issuer: ISSUER,
    tokenTtlSeconds: 900,
    userClientId: DASHBOARD,
    scryptCost: FAST_SCRYPT,
    ...overrides,
  });
}

function verifierFor(idp: LocalIdentityProvider) {
  const verifier = JwtVerifier.create({ issuer: ISSUER, audience: null });
  verifier.cacheJwks(idp.jwks() as Parameters<typeof verifier.cacheJwks>[0]);
  return verifier;
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

/**
 * One in-memory provider for the tests that need no fresh state (an RSA key takes a while to
 * generate); they use names of their own.
 */
let shared: LocalIdentityProvider;
let nameCount = 0;
const uniqueName = (prefix: string): string => `${prefix}${(nameCount += 1)}`;

beforeAll(async () => {
  shared = await openIdp(undefined);
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('LocalIdentityProvider signing key', () => {
  it('creates the key 0600 in a 0700 directory on first start and reuses it on reopen', async () => {
    // Prepare
    const dataDir = tempDir();

    // Act
    const first = await openIdp(dataDir);
    const second = await openIdp(dataDir);

    // Assess
    const keyFile = join(dataDir, 'keys', 'idp-signing-key.pem');
    expect(readFileSync(keyFile, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    expect(modeOf(keyFile)).toBe(0o600);
    expect(modeOf(join(dataDir, 'keys'))).toBe(0o700);
    expect(second.jwks()).toEqual(first.jwks());
  });

  it('publishes only the public key, with an RFC 7638 thumbprint as kid', async () => {
    // Act
    const { keys } = shared.jwks();

    // Assess
    expect(keys).toHaveLength(1);
    const [key] = keys;
    expect(Object.keys(key ?? {}).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(key).toMatchObject({
      kty: 'RSA',
      alg: 'RS256',
      use: 'sig',
      kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
  });

  it('refuses a corrupt key file with a LocalStateError naming the file', async () => {
    // Prepare
    const dataDir = tempDir();
    mkdirSync(join(dataDir, 'keys'), { mode: 0o700 });
    writeFileSync(join(dataDir, 'keys', 'idp-signing-key.pem'), 'not a key', { mode: 0o600 });

    // Act
    const error = await rejection(openIdp(dataDir));

    // Assess
    expect(error).toBeInstanceOf(LocalStateError);
    expect((error as Error).message).toContain(join(dataDir, 'keys', 'idp-signing-key.pem'));
    expect((error as Error).message).toMatch(/move it away/);
  });

  it('narrows a key file that was left readable by others', async () => {
    // Prepare
    const dataDir = tempDir();
    await openIdp(dataDir);
    const keyFile = join(dataDir, 'keys', 'idp-signing-key.pem');
    chmodSync(keyFile, 0o644);

    // Act
    await openIdp(dataDir);

    // Assess
    expect(modeOf(keyFile)).toBe(0o600);
  });
});

describe('LocalIdentityProvider password sign-in', () => {
  it('issues an ID token and an access token with Cognito claims that aws-jwt-verify accepts', async () => {
    // Prepare
    const idp = shared;
    const username = uniqueName('alice');
    const alice = await idp.addUser({
      username,
      password: PASSWORD,
      tenant: 'acme',
      groups: ['operator', 'viewer'],
    });
    const verifier = verifierFor(idp);

    // Act
    const tokens = await idp.passwordLogin(username, PASSWORD);
    const id = await verifier.verify(tokens.idToken);
    const access = await verifier.verify(tokens.accessToken);

    // Assess
    expect(tokens).toMatchObject({ expiresIn: 900, tokenType: 'Bearer' });
    const header = JSON.parse(
      Buffer.from(tokens.idToken.split('.')[0] ?? '', 'base64url').toString(),
    ) as object;
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: idp.jwks().keys[0]?.kid });
    expect(id).toMatchObject({
      iss: ISSUER,
      sub: alice.sub,
      aud: DASHBOARD,
      token_use: 'id',
      'cognito:username': username,
      'cognito:groups': ['operator', 'viewer'],
      'custom:tenant': 'acme',
    });
    expect(access).toMatchObject({
      iss: ISSUER,
      sub: alice.sub,
      client_id: DASHBOARD,
      token_use: 'access',
      username,
      'cognito:groups': ['operator', 'viewer'],
      'custom:tenant': 'acme',
      version: 2,
      scope: ['aws.cognito.signin.user.admin', ...ALL_SCOPES].join(' '),
    });
    expect(access.aud).toBeUndefined();
    for (const claims of [id, access]) {
      expect(claims.exp).toBe((claims.iat ?? 0) + 900);
      expect(claims.auth_time).toBe(claims.iat);
      expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
      expect(claims.origin_jti).toMatch(/^[0-9a-f-]{36}$/);
      expect(claims.event_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(id.jti).not.toBe(access.jti);
    expect(id.origin_jti).toBe(access.origin_jti);
    expect(principalFromClaims(access, { userClientIds: [DASHBOARD] })).toMatchObject({
      kind: 'user',
      username,
      tenant: 'acme',
      roles: ['operator', 'viewer'],
    });
  });

  it('keeps a user subject stable across sign-ins and matches usernames case-insensitively', async () => {
    // Prepare
    const idp = shared;
    const username = uniqueName('Bob');
    await idp.addUser({ username, password: PASSWORD, tenant: 'acme', groups: ['viewer'] });
    const verifier = verifierFor(idp);

    // Act
    const first = await verifier.verify((await idp.passwordLogin(username, PASSWORD)).idToken);
    const second = await verifier.verify((await idp.passwordLogin(username.toLowerCase(), PASSWORD)).idToken);
    const duplicate = await rejection(
      idp.addUser({
        username: username.toUpperCase(),
        password: PASSWORD,
        tenant: 'acme',
        groups: ['viewer'],
      }),
    );

    // Assess
    expect(second.sub).toBe(first.sub);
    expect(second['cognito:username']).toBe(username);
    expect(duplicate).toBeInstanceOf(ConflictError);
  });

  it('answers a wrong password and an unknown user with the same error', async () => {
    // Prepare
    const idp = shared;
    const username = uniqueName('alice');
    await idp.addUser({ username, password: PASSWORD, tenant: 'acme', groups: ['viewer'] });

    // Act
    const wrongPassword = await rejection(idp.passwordLogin(username, 'not-the-password-1'));
    const unknownUser = await rejection(idp.passwordLogin(uniqueName('mallory'), PASSWORD));

    // Assess
    expect(wrongPassword).toBeInstanceOf(UnauthorizedError);
    expect(unknownUser).toBeInstanceOf(UnauthorizedError);
    expect((wrongPassword as Error).message).toBe('Invalid username or password');
    expect((unknownUser as Error).message).toBe((wrongPassword as Error).message);
  });

  it('never lists hashes and never writes the password in plain text', async () => {
    // Prepare
    const dataDir = tempDir();
    const idp = await openIdp(dataDir);

    // Act
    await idp.addUser({ username: 'alice', password: PASSWORD, tenant: 'acme', groups: ['viewer'] });
    const users = await idp.listUsers();
    const file = readFileSync(join(dataDir, 'identity.json'), 'utf8');

    // Assess
    expect(users).toEqual([
      {
        username: 'alice',
        sub: expect.any(String),
        tenant: 'acme',
        groups: ['viewer'],
        createdAt: expect.any(String),
      },
    ]);
    expect(JSON.stringify(users)).not.toContain('scrypt');
    expect(file).not.toContain(PASSWORD);
    expect(file).toMatch(/"passwordHash": "scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+"/);
    expect(modeOf(join(dataDir, 'identity.json'))).toBe(0o600);
  });

  it.each([
    ['a short password', { password: 'too-short' }, /password: expected at least 12/],
    ['a bad username', { username: 'al ice' }, /username: /],
    ['a bad tenant', { tenant: 'Acme' }, /tenant: /],
    ['no group', { groups: [] }, /groups: expected at least one group/],
    ['an unknown group', { groups: ['root'] }, /groups\.0: expected one of admin/],
  ])('refuses a user with %s', async (_case, override, message) => {
    // Act
    const error = await rejection(
      shared.addUser({
        username: uniqueName('alice'),
        password: PASSWORD,
        tenant: 'acme',
        groups: ['viewer'],
        ...override,
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(PASSWORD);
  });
});

describe('LocalIdentityProvider.ensureAdmin', () => {
  it('creates admin once with the password from the environment', async () => {
    // Prepare
    const dataDir = tempDir();
    const idp = await openIdp(dataDir);

    // Act
    const first = await idp.ensureAdmin('admin-password-from-env');
    const second = await (await openIdp(dataDir)).ensureAdmin('another-password-123');

    // Assess
    expect(first).toEqual({ created: true });
    expect(second).toEqual({ created: false });
    expect(await idp.listUsers()).toEqual([
      expect.objectContaining({ username: 'admin', tenant: 'default', groups: ['admin'] }),
    ]);
    await expect(idp.passwordLogin('admin', 'admin-password-from-env')).resolves.toMatchObject({
      tokenType: 'Bearer',
    });
    await expect(idp.passwordLogin('admin', 'another-password-123')).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
  });

  it('generates a long password when none is given, and returns it once', async () => {
    // Prepare
    const idp = await openIdp(undefined);

    // Act
    const first = await idp.ensureAdmin();
    const second = await idp.ensureAdmin();

    // Assess
    expect(first.created).toBe(true);
    expect(first.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    expect(second).toEqual({ created: false });
    await expect(idp.passwordLogin('admin', first.generatedPassword ?? '')).resolves.toMatchObject({
      tokenType: 'Bearer',
    });
  });

  it('creates no admin when users exist already', async () => {
    // Prepare
    const idp = await openIdp(undefined);
    await idp.addUser({ username: 'alice', password: PASSWORD, tenant: 'acme', groups: ['admin'] });

    // Act
    const result = await idp.ensureAdmin();

    // Assess
    expect(result).toEqual({ created: false });
    expect((await idp.listUsers()).map((user) => user.username)).toEqual(['alice']);
  });
});

describe('LocalIdentityProvider client credentials', () => {
  it('issues a machine access token with the granted scopes and the client tenant', async () => {
    // Prepare
    const idp = shared;
    const { clientId, clientSecret } = await idp.addClient({
      tenant: 'acme',
      scopes: ['vaultpilot/read', 'vaultpilot/write'],
    });
    const verifier = verifierFor(idp);

    // Act
    const all = await idp.clientCredentials(clientId, clientSecret);
    const narrowed = await idp.clientCredentials(clientId, clientSecret, ['vaultpilot/read']);
    const claims = await verifier.verify(all.accessToken);

    // Assess
    expect(clientId).toMatch(/^[a-z0-9]{26}$/);
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: clientId,
      client_id: clientId,
      token_use: 'access',
      scope: 'vaultpilot/read vaultpilot/write',
      'custom:tenant': 'acme',
      version: 2,
    });
    expect(claims.exp).toBe((claims.iat ?? 0) + 900);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.username).toBeUndefined();
    expect(claims.aud).toBeUndefined();
    expect((await verifier.verify(narrowed.accessToken)).scope).toBe('vaultpilot/read');
    expect(principalFromClaims(claims, { userClientIds: [DASHBOARD] })).toMatchObject({
      kind: 'machine',
      tenant: 'acme',
      scopes: ['vaultpilot/read', 'vaultpilot/write'],
    });
    expect(JSON.stringify(await idp.listClients())).not.toContain('scrypt');
  });

  it('refuses a scope the client was not granted, and a wrong secret or unknown client alike', async () => {
    // Prepare
    const idp = shared;
    const { clientId, clientSecret } = await idp.addClient({ tenant: 'acme', scopes: ['vaultpilot/read'] });

    // Act
    const ungranted = await rejection(idp.clientCredentials(clientId, clientSecret, ['vaultpilot/admin']));
    const unknownScope = await rejection(idp.clientCredentials(clientId, clientSecret, ['openid']));
    const wrongSecret = await rejection(idp.clientCredentials(clientId, `${clientSecret}x`));
    const unknownClient = await rejection(idp.clientCredentials('a'.repeat(26), clientSecret));

    // Assess
    expect(ungranted).toMatchObject({ name: 'OAuth2Error', error: 'invalid_scope' });
    expect(unknownScope).toMatchObject({ error: 'invalid_scope' });
    expect(wrongSecret).toBeInstanceOf(OAuth2Error);
    expect(wrongSecret).toMatchObject({ error: 'invalid_client', message: 'Client authentication failed' });
    expect(unknownClient).toMatchObject({ error: 'invalid_client', message: 'Client authentication failed' });
  });

  it('refuses a client without scopes or with an unknown scope', async () => {
    // Act / Assess
    const idp = shared;
    await expect(idp.addClient({ tenant: 'acme', scopes: [] })).rejects.toThrow(
      /scopes: expected at least one scope/,
    );
    await expect(idp.addClient({ tenant: 'acme', scopes: ['vaultpilot/everything'] })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('LocalIdentityProvider shared data directory', () => {
  it('sees users and clients that another instance (the CLI) added while it runs', async () => {
    // Prepare: the "server" is open before the "CLI" writes.
    const dataDir = tempDir();
    const server = await openIdp(dataDir);
    const cli = await openIdp(dataDir);

    // Act
    await cli.addUser({ username: 'carol', password: PASSWORD, tenant: 'acme', groups: ['auditor'] });
    const { clientId, clientSecret } = await cli.addClient({ tenant: 'acme', scopes: ['vaultpilot/audit'] });

    // Assess
    await expect(server.passwordLogin('carol', PASSWORD)).resolves.toMatchObject({ tokenType: 'Bearer' });
    await expect(server.clientCredentials(clientId, clientSecret)).resolves.toMatchObject({
      scope: 'vaultpilot/audit',
    });
  });

  it('keeps every update when two instances write at the same time', async () => {
    // Prepare
    const dataDir = tempDir();
    const [a, b] = await Promise.all([openIdp(dataDir), openIdp(dataDir)]);
    const names = Array.from({ length: 8 }, (_, index) => `user${index}`);

    // Act
    await Promise.all(
      names.map((username, index) =>
        (index % 2 === 0 ? a : b).addUser({
          username,
          password: PASSWORD,
          tenant: 'acme',
          groups: ['viewer'],
        }),
      ),
    );

    // Assess
    expect((await a.listUsers()).map((user) => user.username).sort()).toEqual(names);
  });
});
