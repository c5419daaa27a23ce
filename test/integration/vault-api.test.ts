/**
 * Vault's KV version 2 API under `/v1/` (issue 17, item 1) as existing Vault clients use it:
 * `node-vault` from npm, unchanged apart from its endpoint and token, against the local runtime,
 * for every KV operation; then raw HTTP for what a client library hides: Vault's error shapes,
 * `X-Vault-Token` and `Authorization: Bearer`, the `LIST` method, merge patch, check-and-set
 * conflicts, and that `/v1` is the same store, policies and audit log as `/secrets`.
 */
import { request as httpRequest } from 'node:http';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ROUTES } from '../../lambdas/functions/index.js';
import { apiGatewayEvent } from '../../lambdas/local/api-gateway-event.js';
import { API_HANDLERS } from '../../lambdas/local/handler-registry.js';
import { invoke } from '../../lambdas/local/invocation.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { testContext } from '../support/events.js';
import { rsaKey, signJwt } from '../support/tokens.js';
import { type ApiAnswer, apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';

const PASSWORD = 'integration-password-123';
let runtime: LocalRuntime;
const tokens: Record<string, string> = {};

/** A node-vault client as its README configures it: endpoint and token, nothing else. */
function vaultClient(token: string | undefined) {
  return nodeVault({ apiVersion: 'v1', endpoint: runtime.url, token });
}

/**
 * A raw request through node:http, which sends the path exactly as given (fetch would resolve
 * `..` segments and add a Content-Type to a string body) and only the headers given.
 */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(runtime.url);
    const request = httpRequest({ hostname, port, path, method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text.length === 0 ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (typeof value === 'string') answerHeaders.set(name, value);
        }
        resolve({ status: response.statusCode ?? 0, headers: answerHeaders, text, json });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

function asVault(who: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  return raw(
    method,
    path,
    {
      'x-vault-token': tokens[who] ?? '',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body === undefined ? undefined : JSON.stringify(body),
  );
}

/** What a node-vault call rejected with: its status and Vault's error list. */
async function rejection(call: Promise<unknown>): Promise<{ status: number; errors: unknown }> {
  try {
    await call;
  } catch (error: unknown) {
    const response = (error as { response?: { statusCode?: number; body?: { errors?: unknown } } }).response;
    return { status: response?.statusCode ?? 0, errors: response?.body?.errors };
  }
  throw new Error('Expected the call to fail');
}

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD });
  await runtime.identity.addUser({
    username: 'olga',
    password: PASSWORD,
    tenant: 'default',
    groups: ['operator'],
  });
  await runtime.identity.addUser({
    username: 'vera',
    password: PASSWORD,
    tenant: 'default',
    groups: ['viewer'],
  });
  await runtime.identity.addUser({ username: 'bob', password: PASSWORD, tenant: 'other', groups: ['admin'] });
  for (const name of ['admin', 'olga', 'vera', 'bob'])
    tokens[name] = await signInLocal(runtime.url, name, PASSWORD);
}, 60_000);

afterAll(async () => {
  vi.useRealTimers();
  await runtime?.stop();
});

describe('node-vault against /v1 (unchanged apart from endpoint and token)', () => {
  it('writes, reads latest and given versions, and writes with check-and-set', async () => {
    // Prepare
    const vault = vaultClient(tokens.admin);

    // Act
    const first = await vault.write('secret/data/nv/app', { data: { user: 'app', password: 'one' } });
    const second = await vault.write('secret/data/nv/app', {
      data: { user: 'app', password: 'two' },
      options: { cas: 1 },
    });
    const latest = await vault.read('secret/data/nv/app');
    const v1 = await vault.read('secret/data/nv/app?version=1');
    const stale = await rejection(
      vault.write('secret/data/nv/app', { data: { password: 'x' }, options: { cas: 1 } }),
    );

    // Assess
    expect(first.data).toMatchObject({ version: 1, destroyed: false, deletion_time: '' });
    expect(second.data.version).toBe(2);
    expect(latest).toMatchObject({
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      wrap_info: null,
      auth: null,
    });
    expect(typeof latest.request_id).toBe('string');
    expect(latest.data.data).toEqual({ user: 'app', password: 'two' });
    expect(latest.data.metadata).toMatchObject({ version: 2, destroyed: false, deletion_time: '' });
    expect(v1.data.data.password).toBe('one');
    expect(stale).toEqual({
      status: 400,
      errors: ['check-and-set parameter did not match the current version'],
    });
  });

  it('patches with a JSON merge patch (update), keeping fields it does not name', async () => {
    // Prepare
    const vault = vaultClient(tokens.admin);
    await vault.write('secret/data/nv/patched', { data: { keep: 'k', change: 'old', drop: 'd' } });

    // Act
    const patched = await vault.update('secret/data/nv/patched', {
      data: { change: 'new', drop: null, add: 'a' },
    });
    const read = await vault.read('secret/data/nv/patched');
    const missing = await rejection(vault.update('secret/data/nv/never-written', { data: { a: 'b' } }));

    // Assess
    expect(patched.data.version).toBe(2);
    expect(read.data.data).toEqual({ keep: 'k', change: 'new', add: 'a' });
    expect(missing).toEqual({ status: 404, errors: [] });
  });

  it('lists with the LIST method, at the mount root and under a path; nothing under it is 404', async () => {
    // Prepare
    const vault = vaultClient(tokens.admin);
    await vault.write('secret/data/nv-list/a', { data: { v: '1' } });
    await vault.write('secret/data/nv-list/dir/b', { data: { v: '2' } });

    // Act
    const root = await vault.list('secret/metadata/');
    const under = await vault.list('secret/metadata/nv-list');
    const nested = await vault.list('secret/metadata/nv-list/dir/');
    const empty = await rejection(vault.list('secret/metadata/nv-list-nothing'));
    const viaGet = await nodeVault({
      endpoint: runtime.url,
      token: tokens.admin,
      noCustomHTTPVerbs: true,
    }).list('secret/metadata/nv-list');

    // Assess
    expect(root.data.keys).toEqual(expect.arrayContaining(['nv-list/', 'nv/']));
    expect(under.data.keys).toEqual(['a', 'dir/']);
    expect(nested.data.keys).toEqual(['b']);
    expect(empty).toEqual({ status: 404, errors: [] });
    expect(viaGet.data.keys).toEqual(['a', 'dir/']);
  });

  it('soft-deletes (latest and given versions), undeletes and destroys', async () => {
    // Prepare
    const vault = vaultClient(tokens.admin);
    for (const value of ['1', '2', '3']) await vault.write('secret/data/nv/versions', { data: { value } });

    // Act
    await vault.delete('secret/data/nv/versions');
    const latestGone = await rejection(vault.read('secret/data/nv/versions'));
    await vault.write('secret/delete/nv/versions', { versions: [1] });
    const v1Gone = await rejection(vault.read('secret/data/nv/versions?version=1'));
    await vault.write('secret/undelete/nv/versions', { versions: [1, 3] });
    const restored = await vault.read('secret/data/nv/versions');
    await vault.write('secret/destroy/nv/versions', { versions: [2] });
    const destroyed = await rejection(vault.read('secret/data/nv/versions?version=2'));
    const metadata = await vault.read('secret/metadata/nv/versions');

    // Assess
    expect(latestGone.status).toBe(404);
    expect(v1Gone.status).toBe(404);
    expect(restored.data.data).toEqual({ value: '3' });
    expect(destroyed.status).toBe(404);
    expect(metadata.data.versions['2'].destroyed).toBe(true);
    expect(metadata.data.versions['1'].deletion_time).toBe('');
  });

  it('reads and writes metadata, reads subkeys, and deletes metadata with every version', async () => {
    // Prepare
    const vault = vaultClient(tokens.admin);
    await vault.write('secret/data/nv/meta', { data: { user: 'u', password: 'p' } });

    // Act
    await vault.write('secret/metadata/nv/meta', {
      max_versions: 5,
      cas_required: true,
      custom_metadata: { owner: 'ops' },
    });
    const metadata = await vault.read('secret/metadata/nv/meta');
    const withoutCas = await rejection(vault.write('secret/data/nv/meta', { data: { user: 'v' } }));
    const subkeys = await vault.read('secret/subkeys/nv/meta');
    await vault.delete('secret/metadata/nv/meta');
    const gone = await rejection(vault.read('secret/metadata/nv/meta'));

    // Assess
    expect(metadata.data).toMatchObject({
      max_versions: 5,
      cas_required: true,
      current_version: 1,
      delete_version_after: '0s',
      custom_metadata: { owner: 'ops' },
    });
    expect(withoutCas.status).toBe(400);
    expect(withoutCas.errors).toEqual(['check-and-set parameter required for this secret']);
    expect(subkeys.data.subkeys).toEqual({ user: null, password: null });
    expect(JSON.stringify(subkeys)).not.toContain('"p"');
    expect(gone).toEqual({ status: 404, errors: [] });
  });

  it('answers health, mounts, the KV version preflight and token lookup', async () => {
    // Prepare
    const vault = vaultClient(tokens.olga);

    // Act
    const health = await vault.health();
    const mounts = await vault.mounts();
    const preflight = await vault.read('sys/internal/ui/mounts/secret/nv/app');
    const self = await vault.tokenLookupSelf();

    // Assess
    expect(health).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(mounts.data['secret/']).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect(mounts['secret/']).toMatchObject({ type: 'kv' });
    expect(preflight.data).toMatchObject({ path: 'secret/', type: 'kv', options: { version: '2' } });
    expect(self.data).toMatchObject({ display_name: 'olga', renewable: false, meta: { tenant: 'default' } });
    expect(self.data.ttl).toBeGreaterThan(0);
    expect(self.data.policies).toContain('operator');
  });

  it('answers status (seal status), leader, and refuses renewing the token as Vault refuses a non-renewable one', async () => {
    // Prepare
    const vault = vaultClient(tokens.olga);

    // Act
    const status = await vault.status();
    const initialized = await vault.initialized();
    const leader = await vault.leader();
    const self = await vault.tokenLookupSelf();
    const renewed = await rejection(vault.tokenRenewSelf());
    const renewedBy = await rejection(vault.tokenRenewSelf({ increment: '1h' }));

    // Assess
    expect(status).toMatchObject({ initialized: true, sealed: false, t: 0, n: 0, progress: 0 });
    expect(initialized).toEqual({ initialized: true });
    expect(leader).toMatchObject({ ha_enabled: false, is_self: false, leader_address: '' });
    expect(self.renewable).toBe(false);
    expect(self.data.renewable).toBe(false);
    for (const answer of [renewed, renewedBy]) {
      expect(answer).toEqual({ status: 400, errors: ['lease is not renewable'] });
    }
  });
});

describe('Vault HTTP shapes on /v1 (raw HTTP)', () => {
  it('accepts the token in X-Vault-Token and in Authorization: Bearer, through the same verifier', async () => {
    // Prepare
    await asVault('admin', 'POST', '/v1/secret/data/raw/token', { data: { a: 'b' } });

    // Act
    const viaVaultHeader = await asVault('admin', 'GET', '/v1/secret/data/raw/token');
    const viaBearer = await apiCall(runtime.url, tokens.admin, 'GET', '/v1/secret/data/raw/token');
    const none = await raw('GET', '/v1/secret/data/raw/token', {});
    const garbage = await raw('GET', '/v1/secret/data/raw/token', {
      'x-vault-token': 'hvs.not-a-vaultpilot-token',
    });

    // Assess
    expect(viaVaultHeader.status).toBe(200);
    expect(viaBearer.status).toBe(200);
    expect(viaBearer.json.data.data).toEqual({ a: 'b' });
    expect(none.status).toBe(403);
    expect(none.json).toEqual({ errors: ['permission denied'] });
    expect(garbage.status).toBe(403);
    expect(garbage.json).toEqual({ errors: ['permission denied'] });
  });

  it('answers 403 permission denied for a foreign and for an expired token', async () => {
    // Prepare: a token signed by a key the local issuer never published, with valid claims
    const foreignKey = rsaKey();
    const now = Math.floor(Date.now() / 1000);
    const foreign = signJwt(foreignKey, {
      sub: 'intruder',
      token_use: 'access',
      client_id: 'dashboard',
      username: 'admin',
      'custom:tenant': 'default',
      iat: now,
      exp: now + 600,
    });

    // Act
    const foreignAnswer = await raw('GET', '/v1/secret/data/raw/token', { 'x-vault-token': foreign });
    // The handlers run in this process: two days on, every token the issuer gave has expired.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 86_400_000 });
    let expiredAnswer: ApiAnswer;
    try {
      expiredAnswer = await asVault('admin', 'GET', '/v1/secret/data/raw/token');
    } finally {
      vi.useRealTimers();
    }

    // Assess
    expect(foreignAnswer.status).toBe(403);
    expect(foreignAnswer.json).toEqual({ errors: ['permission denied'] });
    expect(expiredAnswer.status).toBe(403);
    expect(expiredAnswer.json).toEqual({ errors: ['permission denied'] });
  });

  it('answers 404 with an empty error list for a missing secret, and for another tenant’s secret', async () => {
    // Prepare
    await asVault('admin', 'POST', '/v1/secret/data/raw/tenant-a', { data: { a: 'b' } });

    // Act
    const missing = await asVault('admin', 'GET', '/v1/secret/data/raw/never-written');
    const foreignTenant = await asVault('bob', 'GET', '/v1/secret/data/raw/tenant-a');
    const otherMount = await asVault('admin', 'GET', '/v1/kv/data/raw/tenant-a');

    // Assess
    for (const answer of [missing, foreignTenant, otherMount]) {
      expect(answer.status, answer.text).toBe(404);
      expect(answer.json).toEqual({ errors: [] });
    }
  });

  it.each([
    ['a `..` segment', '/v1/secret/data/raw/../escape'],
    ['an encoded `..` segment', '/v1/secret/data/raw/%2e%2e/escape'],
    ['an empty segment', '/v1/secret/data/raw//double'],
    ['a trailing slash', '/v1/secret/data/raw/trailing/'],
  ])('answers 400 in Vault’s shape for %s', async (_what, path) => {
    // Act
    const answer = await asVault('admin', 'GET', path);

    // Assess
    expect(answer.status, answer.text).toBe(400);
    expect(Array.isArray(answer.json.errors)).toBe(true);
    expect(answer.json.errors.length).toBeGreaterThan(0);
    expect(answer.json.error).toBeUndefined();
  });

  it('answers 400 for bad bodies, naming the field and never echoing a value', async () => {
    // Act
    const notString = await asVault('admin', 'POST', '/v1/secret/data/raw/bad', { data: { port: 5432 } });
    const noData = await asVault('admin', 'POST', '/v1/secret/data/raw/bad', { options: {} });
    const badVersions = await asVault('admin', 'POST', '/v1/secret/delete/raw/bad', { versions: ['one'] });

    // Assess
    for (const answer of [notString, noData, badVersions]) {
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json.errors.length).toBeGreaterThan(0);
    }
    expect((notString.json.errors as string[]).join(' ')).toContain('data.port');
    expect(notString.text).not.toContain('5432');
  });

  it('takes a JSON body without a Content-Type, as Vault’s Go client sends it, and versions as strings', async () => {
    // Act
    const written = await raw(
      'PUT',
      '/v1/secret/data/raw/no-type',
      { 'x-vault-token': tokens.admin ?? '' },
      JSON.stringify({ data: { a: '1' }, options: {} }),
    );
    await raw(
      'PUT',
      '/v1/secret/data/raw/no-type',
      { 'x-vault-token': tokens.admin ?? '' },
      JSON.stringify({ data: { a: '2' } }),
    );
    const deleted = await raw(
      'PUT',
      '/v1/secret/delete/raw/no-type',
      { 'x-vault-token': tokens.admin ?? '' },
      JSON.stringify({ versions: ['1', '2'] }),
    );
    const metadata = await asVault('admin', 'GET', '/v1/secret/metadata/raw/no-type');

    // Assess
    expect(written.status, written.text).toBe(200);
    expect(deleted.status, deleted.text).toBe(204);
    expect(metadata.json.data.versions['1'].deletion_time).not.toBe('');
    expect(metadata.json.data.versions['2'].deletion_time).not.toBe('');
  });

  it('takes merge-patch (or plain) JSON for PATCH, nothing else, and merges with check-and-set', async () => {
    // Prepare
    await asVault('admin', 'POST', '/v1/secret/data/raw/patch', { data: { a: '1' } });
    const headers = { 'x-vault-token': tokens.admin ?? '', 'content-type': 'application/merge-patch+json' };

    // Act
    const wrongType = await raw(
      'PATCH',
      '/v1/secret/data/raw/patch',
      { ...headers, 'content-type': 'text/plain' },
      JSON.stringify({ data: { b: '2' } }),
    );
    const stale = await raw(
      'PATCH',
      '/v1/secret/data/raw/patch',
      headers,
      JSON.stringify({ data: { b: '2' }, options: { cas: 7 } }),
    );
    const patched = await raw(
      'PATCH',
      '/v1/secret/data/raw/patch',
      headers,
      JSON.stringify({ data: { b: '2' }, options: { cas: 1 } }),
    );
    const read = await asVault('admin', 'GET', '/v1/secret/data/raw/patch');

    // Assess
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.errors[0]).toContain('application/merge-patch+json');
    expect(stale.status).toBe(400);
    expect(stale.json).toEqual({ errors: ['check-and-set parameter did not match the current version'] });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.data.version).toBe(2);
    expect(read.json.data.data).toEqual({ a: '1', b: '2' });
  });

  it('serves LIST as GET ?list=true does, and refuses LIST where nothing lists', async () => {
    // Prepare
    await asVault('admin', 'POST', '/v1/secret/data/raw-list/x', { data: { a: 'b' } });

    // Act
    const listed = await asVault('admin', 'LIST', '/v1/secret/metadata/raw-list');
    const viaGet = await asVault('admin', 'GET', '/v1/secret/metadata/raw-list?list=true');
    const empty = await asVault('admin', 'LIST', '/v1/secret/metadata/raw-list-nothing/');
    const notListable = await asVault('admin', 'LIST', '/v1/secret/data/raw-list/x');

    // Assess
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json.data.keys).toEqual(['x']);
    expect(viaGet.json.data.keys).toEqual(['x']);
    expect(empty.status).toBe(404);
    expect(empty.json).toEqual({ errors: [] });
    expect(notListable.status).toBe(405);
    expect(notListable.json.errors.length).toBe(1);
  });

  it('applies the same path policies as /secrets: a viewer reads metadata, never values or writes', async () => {
    // Prepare
    await asVault('admin', 'POST', '/v1/secret/data/raw/policy', { data: { a: 'b' } });

    // Act
    const metadata = await asVault('vera', 'GET', '/v1/secret/metadata/raw/policy');
    const value = await asVault('vera', 'GET', '/v1/secret/data/raw/policy');
    const write = await asVault('vera', 'POST', '/v1/secret/data/raw/policy', { data: { a: 'c' } });
    const sameViaSecrets = await apiCall(runtime.url, tokens.vera, 'GET', '/secrets/data/raw/policy');

    // Assess
    expect(metadata.status).toBe(200);
    expect(value.status).toBe(403);
    expect(value.json).toEqual({ errors: ['permission denied'] });
    expect(write.status).toBe(403);
    expect(sameViaSecrets.status).toBe(403);
  });

  it('is the same store as /secrets, and audits each /v1 operation as /secrets does', async () => {
    // Act
    const written = await asVault('olga', 'POST', '/v1/secret/data/raw/audited', { data: { a: 'b' } });
    const viaSecrets = await apiCall(runtime.url, tokens.olga, 'GET', '/secrets/data/raw/audited');
    await asVault('olga', 'DELETE', '/v1/secret/data/raw/audited');
    const events = await apiCall(runtime.url, tokens.admin, 'GET', '/audit?target=raw/audited&limit=100');

    // Assess
    expect(written.status).toBe(200);
    expect(viaSecrets.json.data.data).toEqual({ a: 'b' });
    const mine = (
      events.json.events as { action: string; outcome: string; target?: { path?: string }; actor?: unknown }[]
    )
      .filter((event) => event.target?.path === 'raw/audited')
      .map((event) => `${event.action}:${event.outcome}`);
    // Newest first: each /v1 change audited as attempted, then its outcome, as on /secrets.
    expect(mine).toEqual([
      'secret.delete:allowed',
      'secret.delete:attempted',
      'secret.read:allowed',
      'secret.write:allowed',
      'secret.write:attempted',
    ]);
    expect(events.text).not.toContain('"a":"b"');
  });

  it('documents the /v1 routes in the OpenAPI document, with Vault’s error shape and X-Vault-Token', async () => {
    // Act
    const answer = await raw('GET', '/openapi.json', {});
    const document = answer.json as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };

    // Assess
    const read = document.paths['/v1/{mount}/data/{path+}']?.get;
    expect(read?.security).toContainEqual({ vaultToken: [] });
    expect(JSON.stringify(read?.responses['404'])).toContain('VaultErrorBody');
    expect(read?.responses['401']).toBeUndefined();
    expect(document.paths['/v1/{mount}/data/{path+}']?.patch).toBeDefined();
    expect(document.paths['/v1/sys/health']?.get?.security).toEqual([]);
    // The catch-all, under API Gateway's own key for an ANY method: public, no success, 404 and 405.
    const catchAll = document.paths['/v1/{proxy+}']?.['x-amazon-apigateway-any-method'];
    expect(catchAll?.security).toEqual([]);
    expect(Object.keys(catchAll?.responses ?? {}).sort()).toEqual(['400', '404', '405', '500']);
    expect(JSON.stringify(catchAll?.responses['404'])).toContain('VaultErrorBody');
    expect(document.components.securitySchemes.vaultToken).toMatchObject({
      in: 'header',
      name: 'X-Vault-Token',
    });
  });

  it('answers router refusals under /v1 in Vault’s shape', async () => {
    // Act
    const noRoute = await asVault('admin', 'GET', '/v1/secret/unknown-endpoint');

    // Assess
    expect(noRoute.status).toBe(404);
    expect(noRoute.json).toEqual({ errors: [] });
  });

  it.each([
    ['GET', '/v1/auth/token/create'],
    ['POST', '/v1/auth/token/create'],
    ['GET', '/v1/sys/capabilities-self'],
    ['POST', '/v1/sys/mounts/secret/tune'],
    ['GET', '/v1/secret'],
    ['GET', '/v1/secret/data'],
    ['DELETE', '/v1/sys'],
    ['LIST', '/v1/auth/token/accessors'],
  ])(
    'answers %s %s (served nowhere) with Vault’s 404, the same with a valid, a bad or no token',
    async (method, path) => {
      // Act
      const answers = [
        await asVault('admin', method, path),
        await raw(method, path, { 'x-vault-token': 'hvs.not-a-token' }),
        await raw(method, path, {}),
      ];

      // Assess
      for (const answer of answers) {
        expect(answer.status, answer.text).toBe(404);
        expect(answer.json).toEqual({ errors: [] });
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      }
    },
  );

  it('answers a path naming another tenant’s secret exactly as one naming nothing', async () => {
    // Prepare
    await asVault('bob', 'POST', '/v1/secret/data/raw/bobs-only', { data: { a: 'b' } });

    // Act
    const foreign = await asVault('admin', 'GET', '/v1/secret/history/raw/bobs-only');
    const nothing = await asVault('admin', 'GET', '/v1/secret/history/raw/nobody-wrote-this');

    // Assess
    expect(foreign.status).toBe(404);
    expect([foreign.status, foreign.text]).toEqual([nothing.status, nothing.text]);
  });

  it('answers a method a served /v1 path does not take with 405 naming the allowed ones, without a token', async () => {
    // Act
    const deleteConfig = await raw('DELETE', '/v1/secret/config', {});
    const headMounts = await asVault('admin', 'HEAD', '/v1/sys/mounts');
    const putLookup = await asVault('admin', 'PUT', '/v1/auth/token/lookup-self', {});

    // Assess
    expect(deleteConfig.status).toBe(405);
    expect(deleteConfig.headers.get('allow')).toBe('GET, POST, PUT, OPTIONS');
    expect(deleteConfig.json).toEqual({ errors: ['Method DELETE is not allowed on /v1/secret/config'] });
    expect(headMounts.status).toBe(405);
    expect(headMounts.headers.get('allow')).toBe('GET, OPTIONS');
    expect(putLookup.status).toBe(405);
    expect(putLookup.headers.get('allow')).toBe('GET, OPTIONS');
  });
});

/**
 * The secrets function as API Gateway invokes it in AWS (lib/api-stack.ts): the mount is the
 * literal resource `/v1/secret/...`, so the event has no `mount` path parameter, and every other
 * `/v1` path and method arrives through `ANY /v1/{proxy+}` as `vaultUnknownPath`.
 */
describe('the secrets function with API Gateway’s events (literal mount, catch-all)', () => {
  async function invokeAsApiGateway(options: {
    method: string;
    resource: string;
    path: string;
    operationId: string;
    pathParameters: Record<string, string> | null;
    token?: string;
    body?: unknown;
  }): Promise<{ statusCode: number; headers: Record<string, unknown>; json: any }> {
    const route = ROUTES.find((candidate) => candidate.operationId === options.operationId);
    if (route === undefined) throw new Error(`No route ${options.operationId}`);
    const local = apiGatewayEvent(
      {
        method: options.method,
        path: options.path,
        query: new URLSearchParams(),
        rawHeaders: [
          ...(options.token === undefined ? [] : ['X-Vault-Token', options.token]),
          ...(options.body === undefined ? [] : ['Content-Type', 'application/json']),
        ],
        body: options.body === undefined ? '' : JSON.stringify(options.body),
        sourceIp: '198.51.100.7',
      },
      route,
      options.pathParameters,
      'dev',
    );
    // What API Gateway sends for the method CDK built: its own resource path, not the route table's.
    const event: APIGatewayProxyEvent = {
      ...local,
      resource: options.resource,
      requestContext: { ...local.requestContext, resourcePath: options.resource },
    };
    const handler = await API_HANDLERS.secrets();
    const result = await invoke(handler, event, testContext());
    return {
      statusCode: result.statusCode,
      headers: result.headers ?? {},
      json: result.body.length === 0 ? undefined : JSON.parse(result.body),
    };
  }

  it('serves /v1/secret/data/{path+} without a mount path parameter (the mount is the resource)', async () => {
    // Act
    const written = await invokeAsApiGateway({
      method: 'POST',
      resource: '/v1/secret/data/{path+}',
      path: '/v1/secret/data/gateway/app',
      operationId: 'writeVaultSecret',
      pathParameters: { path: 'gateway/app' },
      token: tokens.admin,
      body: { data: { user: 'gateway' } },
    });
    const read = await invokeAsApiGateway({
      method: 'GET',
      resource: '/v1/secret/data/{path+}',
      path: '/v1/secret/data/gateway/app',
      operationId: 'readVaultSecret',
      pathParameters: { path: 'gateway/app' },
      token: tokens.admin,
    });
    const viaRuntime = await asVault('admin', 'GET', '/v1/secret/data/gateway/app');

    // Assess
    expect(written.statusCode, JSON.stringify(written.json)).toBe(200);
    expect(written.json.data.version).toBe(1);
    expect(read.statusCode).toBe(200);
    expect(read.json.data.data).toEqual({ user: 'gateway' });
    expect(viaRuntime.json.data.data).toEqual({ user: 'gateway' });
  });

  it('refuses a resource of another mount (stack and function deployed with different mounts) with 404', async () => {
    // Act
    const answer = await invokeAsApiGateway({
      method: 'GET',
      resource: '/v1/kv/data/{path+}',
      path: '/v1/kv/data/gateway/app',
      operationId: 'readVaultSecret',
      pathParameters: { path: 'gateway/app' },
      token: tokens.admin,
    });

    // Assess
    expect(answer.statusCode).toBe(404);
    expect(answer.json).toEqual({ errors: [] });
  });

  it.each([
    ['POST', 'auth/token/create'],
    ['GET', 'sys/capabilities-self'],
    ['GET', 'kv/data/x'],
    ['GET', 'secret/data'],
    ['POST', 'sys/mounts/secret/tune'],
  ])(
    'answers %s /v1/%s through ANY /v1/{proxy+} with Vault’s 404, without a token',
    async (method, proxy) => {
      // Act
      const answer = await invokeAsApiGateway({
        method,
        resource: '/v1/{proxy+}',
        path: `/v1/${proxy}`,
        operationId: 'vaultUnknownPath',
        pathParameters: { proxy },
      });

      // Assess
      expect(answer.statusCode).toBe(404);
      expect(answer.json).toEqual({ errors: [] });
      expect(answer.headers['X-Content-Type-Options']).toBe('nosniff');
    },
  );

  it('answers a method a served path lacks (API Gateway falls through to the catch-all) with 405, as locally', async () => {
    // Act
    const postHealth = await invokeAsApiGateway({
      method: 'POST',
      resource: '/v1/{proxy+}',
      path: '/v1/sys/health',
      operationId: 'vaultUnknownPath',
      pathParameters: { proxy: 'sys/health' },
    });
    const deleteConfig = await invokeAsApiGateway({
      method: 'DELETE',
      resource: '/v1/{proxy+}',
      path: '/v1/secret/config',
      operationId: 'vaultUnknownPath',
      pathParameters: { proxy: 'secret/config' },
    });
    const local = await raw('POST', '/v1/sys/health', {});

    // Assess
    expect(postHealth.statusCode).toBe(405);
    expect(postHealth.headers.Allow).toBe('GET, HEAD, OPTIONS');
    expect(postHealth.json).toEqual(local.json);
    expect(local.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect(deleteConfig.statusCode).toBe(405);
    expect(deleteConfig.headers.Allow).toBe('GET, POST, PUT, OPTIONS');
  });
});

describe('what Vault clients call around KV (raw HTTP)', () => {
  it('answers sys/seal-status and sys/leader without a token, in Vault’s shapes, naming no tenant', async () => {
    // Act
    const status = await raw('GET', '/v1/sys/seal-status', {});
    const leader = await raw('GET', '/v1/sys/leader', {});
    const withBadToken = await raw('GET', '/v1/sys/seal-status', { 'x-vault-token': 'hvs.not-a-token' });
    const health = await raw('GET', '/v1/sys/health', {});

    // Assess
    expect(status.status).toBe(200);
    expect(status.json).toEqual({
      type: 'shamir',
      initialized: true,
      sealed: false,
      t: 0,
      n: 0,
      progress: 0,
      nonce: '',
      version: health.json.version,
      build_date: '',
      migration: false,
      cluster_name: health.json.cluster_name,
      cluster_id: health.json.cluster_id,
      recovery_seal: false,
      storage_type: 'vaultpilot',
    });
    expect(leader.status).toBe(200);
    expect(leader.json).toEqual({
      ha_enabled: false,
      is_self: false,
      active_time: '0001-01-01T00:00:00Z',
      leader_address: '',
      leader_cluster_address: '',
      performance_standby: false,
      performance_standby_last_remote_wal: 0,
    });
    expect(withBadToken.status).toBe(200);
    for (const answer of [status, leader]) {
      expect(answer.text).not.toMatch(/default|other|admin|olga|tenant/);
    }
  });

  it('answers HEAD sys/health with the GET’s status and no body (hvac’s default health check), and sys/init', async () => {
    // Act
    const head = await raw('HEAD', '/v1/sys/health', {});
    const get = await raw('GET', '/v1/sys/health', {});
    const init = await raw('GET', '/v1/sys/init', {});
    const postHealth = await raw('POST', '/v1/sys/health', {});

    // Assess
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(get.json.initialized).toBe(true);
    expect(init.status).toBe(200);
    expect(init.json).toEqual({ initialized: true });
    expect(postHealth.status).toBe(405);
    expect(postHealth.headers.get('allow')).toContain('HEAD');
  });

  it('refuses renew-self with 400 `lease is not renewable` (empty POST, PUT with increment), 403 without a valid token', async () => {
    // Prepare
    const headers = { 'x-vault-token': tokens.admin ?? '' };

    // Act
    const emptyPost = await raw('POST', '/v1/auth/token/renew-self', headers);
    const put = await raw('PUT', '/v1/auth/token/renew-self', headers, JSON.stringify({ increment: 3600 }));
    const badIncrement = await asVault('admin', 'POST', '/v1/auth/token/renew-self', { increment: 'soon' });
    const noToken = await raw('POST', '/v1/auth/token/renew-self', {});
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 86_400_000 });
    let expired: ApiAnswer;
    try {
      expired = await raw('POST', '/v1/auth/token/renew-self', headers);
    } finally {
      vi.useRealTimers();
    }
    const lookup = await asVault('admin', 'GET', '/v1/auth/token/lookup-self');

    // Assess
    for (const answer of [emptyPost, put]) {
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json).toEqual({ errors: ['lease is not renewable'] });
    }
    expect(badIncrement.status).toBe(400);
    expect((badIncrement.json.errors as string[]).join(' ')).toContain('increment');
    for (const answer of [noToken, expired]) {
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual({ errors: ['permission denied'] });
    }
    // What a client checks before renewing says the same: the token is not renewable.
    expect(lookup.json.renewable).toBe(false);
    expect(lookup.json.data.renewable).toBe(false);
  });

  it('reads the KV engine configuration from the real defaults, and refuses to change it with 405', async () => {
    // Prepare
    await asVault('admin', 'POST', '/v1/secret/data/raw/config-default', { data: { a: 'b' } });

    // Act
    const config = await asVault('vera', 'GET', '/v1/secret/config');
    const metadata = await asVault('admin', 'GET', '/v1/secret/metadata/raw/config-default');
    const otherMount = await asVault('admin', 'GET', '/v1/kv/config');
    const write = await asVault('admin', 'POST', '/v1/secret/config', {
      max_versions: 5,
      cas_required: true,
    });
    const writePut = await asVault('admin', 'PUT', '/v1/secret/config', { delete_version_after: '1h' });
    const badWrite = await asVault('admin', 'POST', '/v1/secret/config', { max_versions: 'many' });
    const otherMountWrite = await asVault('admin', 'POST', '/v1/kv/config', { max_versions: 5 });
    const noToken = await raw('GET', '/v1/secret/config', {});
    const after = await asVault('admin', 'GET', '/v1/secret/config');

    // Assess
    expect(config.status, config.text).toBe(200);
    expect(config.json).toMatchObject({ lease_id: '', renewable: false, wrap_info: null, auth: null });
    expect(config.json.data).toEqual({ cas_required: false, delete_version_after: '0s', max_versions: 10 });
    // A new secret gets exactly what the configuration says.
    expect(metadata.json.data).toMatchObject({
      max_versions: config.json.data.max_versions,
      cas_required: config.json.data.cas_required,
      delete_version_after: config.json.data.delete_version_after,
    });
    expect(otherMount.status).toBe(404);
    for (const answer of [write, writePut]) {
      expect(answer.status, answer.text).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET');
      expect(answer.json.errors).toHaveLength(1);
      expect(answer.json.errors[0]).toMatch(/^unsupported operation: .*secret\/metadata/);
    }
    expect(badWrite.status).toBe(400);
    expect(otherMountWrite.status).toBe(404);
    expect(noToken.status).toBe(403);
    expect(after.json.data).toEqual(config.json.data);
  });

  it('ignores X-Vault-Request and X-Vault-Namespace, as the Go client and namespaced clients send them', async () => {
    // Prepare
    const headers = {
      'x-vault-token': tokens.admin ?? '',
      'x-vault-request': 'true',
      'x-vault-namespace': 'team-a/',
      'content-type': 'application/json',
    };

    // Act
    const written = await raw(
      'PUT',
      '/v1/secret/data/raw/headers',
      headers,
      JSON.stringify({ data: { a: 'b' } }),
    );
    const read = await raw('GET', '/v1/secret/data/raw/headers', headers);
    const status = await raw('GET', '/v1/sys/seal-status', { 'x-vault-request': 'true' });

    // Assess
    expect(written.status, written.text).toBe(200);
    expect(read.status, read.text).toBe(200);
    expect(read.json.data.data).toEqual({ a: 'b' });
    expect(status.status).toBe(200);
  });

  it('rolls back as `vault kv rollback` does: preflight, pre-read, read the old version, check-and-set write', async () => {
    // Prepare: three versions
    for (const value of ['one', 'two', 'three'])
      await asVault('admin', 'POST', '/v1/secret/data/raw/rollback', { data: { value } });

    // Act: the CLI's requests, in its order (command/kv_rollback.go)
    const preflight = await asVault('admin', 'GET', '/v1/sys/internal/ui/mounts/secret/raw/rollback');
    const current = await asVault('admin', 'GET', '/v1/secret/data/raw/rollback');
    const old = await asVault('admin', 'GET', '/v1/secret/data/raw/rollback?version=1');
    const rolledBack = await asVault('admin', 'PUT', '/v1/secret/data/raw/rollback', {
      data: old.json.data.data,
      options: { cas: current.json.data.metadata.version },
    });
    // A second rollback from the same pre-read loses the check-and-set, as in Vault.
    const stale = await asVault('admin', 'PUT', '/v1/secret/data/raw/rollback', {
      data: old.json.data.data,
      options: { cas: current.json.data.metadata.version },
    });
    const latest = await asVault('admin', 'GET', '/v1/secret/data/raw/rollback');

    // Assess
    expect(preflight.json.data).toMatchObject({ path: 'secret/', options: { version: '2' } });
    expect(old.json.data.metadata).toMatchObject({ version: 1, deletion_time: '', destroyed: false });
    expect(rolledBack.status, rolledBack.text).toBe(200);
    expect(rolledBack.json.data.version).toBe(4);
    expect(stale.status).toBe(400);
    expect(stale.json).toEqual({ errors: ['check-and-set parameter did not match the current version'] });
    expect(latest.json.data.data).toEqual({ value: 'one' });
  });

  it('answers a deleted or destroyed version with Vault’s 404 carrying its metadata, and no value', async () => {
    // Prepare: v1 destroyed, v2 soft-deleted (the latest), v3 never written
    for (const value of ['one', 'two'])
      await asVault('admin', 'POST', '/v1/secret/data/raw/removed', { data: { value } });
    await asVault('admin', 'POST', '/v1/secret/destroy/raw/removed', { versions: [1] });
    await asVault('admin', 'DELETE', '/v1/secret/data/raw/removed');

    // Act
    const latest = await asVault('admin', 'GET', '/v1/secret/data/raw/removed');
    const destroyed = await asVault('admin', 'GET', '/v1/secret/data/raw/removed?version=1');
    const never = await asVault('admin', 'GET', '/v1/secret/data/raw/removed?version=3');
    const foreign = await asVault('bob', 'GET', '/v1/secret/data/raw/removed');
    const viewer = await asVault('vera', 'GET', '/v1/secret/data/raw/removed');

    // Assess
    expect(latest.status).toBe(404);
    expect(latest.json).toMatchObject({ lease_id: '', wrap_info: null, data: { data: null } });
    expect(latest.json.data.metadata).toMatchObject({ version: 2, destroyed: false });
    expect(latest.json.data.metadata.deletion_time).not.toBe('');
    expect(latest.json.errors).toBeUndefined();
    expect(destroyed.status).toBe(404);
    expect(destroyed.json.data).toMatchObject({ data: null, metadata: { version: 1, destroyed: true } });
    for (const answer of [never, foreign]) {
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({ errors: [] });
    }
    expect(viewer.status).toBe(403);
    for (const answer of [latest, destroyed]) expect(answer.text).not.toMatch(/"one"|"two"/);
  });

  it('patches metadata as `vault kv metadata patch` does: merge patch, custom_metadata key by key, 404 when missing', async () => {
    // Prepare
    await asVault('admin', 'POST', '/v1/secret/data/raw/meta-patch', { data: { a: 'b' } });
    await asVault('admin', 'POST', '/v1/secret/metadata/raw/meta-patch', {
      max_versions: 5,
      custom_metadata: { keep: 'k', drop: 'd' },
    });
    const headers = { 'x-vault-token': tokens.admin ?? '', 'content-type': 'application/merge-patch+json' };

    // Act
    const patched = await raw(
      'PATCH',
      '/v1/secret/metadata/raw/meta-patch',
      headers,
      JSON.stringify({ cas_required: true, custom_metadata: { drop: null, add: 'a' } }),
    );
    const afterPatch = await asVault('admin', 'GET', '/v1/secret/metadata/raw/meta-patch');
    const cleared = await raw(
      'PATCH',
      '/v1/secret/metadata/raw/meta-patch',
      headers,
      JSON.stringify({ custom_metadata: null }),
    );
    const afterClear = await asVault('admin', 'GET', '/v1/secret/metadata/raw/meta-patch');
    const missing = await raw(
      'PATCH',
      '/v1/secret/metadata/raw/meta-patch-never',
      headers,
      JSON.stringify({ max_versions: 3 }),
    );
    const byViewer = await raw(
      'PATCH',
      '/v1/secret/metadata/raw/meta-patch',
      { ...headers, 'x-vault-token': tokens.vera ?? '' },
      JSON.stringify({ max_versions: 3 }),
    );

    // Assess
    expect(patched.status, patched.text).toBe(204);
    expect(afterPatch.json.data).toMatchObject({
      max_versions: 5,
      cas_required: true,
      custom_metadata: { keep: 'k', add: 'a' },
    });
    expect(afterPatch.json.data.custom_metadata.drop).toBeUndefined();
    expect(cleared.status).toBe(204);
    expect(afterClear.json.data.custom_metadata).toBeNull();
    expect(afterClear.json.data.cas_required).toBe(true);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ errors: [] });
    expect(byViewer.status).toBe(403);
  });

  it('takes options.cas as a numeric string, as Terraform’s provider sends its options map', async () => {
    // Act
    const first = await asVault('admin', 'POST', '/v1/secret/data/raw/tf-cas', {
      data: { a: '1' },
      options: { cas: '0' },
      cas: 0,
    });
    const second = await asVault('admin', 'POST', '/v1/secret/data/raw/tf-cas', {
      data: { a: '2' },
      options: { cas: '1' },
    });
    const stale = await asVault('admin', 'POST', '/v1/secret/data/raw/tf-cas', {
      data: { a: '3' },
      options: { cas: '1' },
    });
    const notANumber = await asVault('admin', 'POST', '/v1/secret/data/raw/tf-cas', {
      data: { a: '3' },
      options: { cas: 'latest' },
    });

    // Assess
    expect(first.status, first.text).toBe(200);
    expect(second.json.data.version).toBe(2);
    expect(stale.status).toBe(400);
    expect(stale.json).toEqual({ errors: ['check-and-set parameter did not match the current version'] });
    expect(notANumber.status).toBe(400);
  });

  it('takes metadata as the Go client’s KVv2.PutMetadata sends it (every field, custom_metadata null)', async () => {
    // Prepare
    await asVault('admin', 'POST', '/v1/secret/data/raw/go-metadata', { data: { a: 'b' } });
    await asVault('admin', 'POST', '/v1/secret/metadata/raw/go-metadata', {
      max_versions: 4,
      custom_metadata: { owner: 'ops' },
    });

    // Act
    const put = await asVault('admin', 'POST', '/v1/secret/metadata/raw/go-metadata', {
      max_versions: 0,
      delete_version_after: '0s',
      cas_required: true,
      custom_metadata: null,
    });
    const metadata = await asVault('admin', 'GET', '/v1/secret/metadata/raw/go-metadata');

    // Assess
    expect(put.status, put.text).toBe(204);
    expect(metadata.json.data).toMatchObject({
      max_versions: 4,
      cas_required: true,
      custom_metadata: { owner: 'ops' },
    });
  });

  it('documents the new routes in the OpenAPI document; refused routes list no success', async () => {
    // Act
    const answer = await raw('GET', '/openapi.json', {});
    const paths = answer.json.paths as Record<
      string,
      Record<string, { security?: unknown[]; responses: Record<string, unknown> }>
    >;

    // Assess
    expect(paths['/v1/sys/seal-status']?.get?.security).toEqual([]);
    expect(paths['/v1/sys/leader']?.get?.security).toEqual([]);
    expect(paths['/v1/sys/init']?.get?.security).toEqual([]);
    expect(paths['/v1/sys/health']?.head?.responses['200']).toBeDefined();
    const renew = paths['/v1/auth/token/renew-self']?.post?.responses ?? {};
    expect(Object.keys(renew)).toContain('400');
    expect(Object.keys(renew).filter((status) => status.startsWith('2'))).toEqual([]);
    const configWrite = paths['/v1/{mount}/config']?.post?.responses ?? {};
    expect(Object.keys(configWrite)).toContain('405');
    expect(Object.keys(configWrite).filter((status) => status.startsWith('2'))).toEqual([]);
    expect(paths['/v1/{mount}/config']?.get?.responses['200']).toBeDefined();
  });
});
