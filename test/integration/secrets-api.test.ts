/**
 * The secret store through the local API, as a client uses it: Vault KV v2 shapes, roles and
 * path policies, tenant isolation, error statuses, and no value in anything logged.
 */
import { type ApiAnswer, apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';

const PASSWORD = 'integration-password-123';
const CANARY = 'canary-7f3a9c21-value-must-never-be-logged';
const logged: string[] = [];
let runtime: LocalRuntime;
const tokens: Record<string, string> = {};

type Answer = ApiAnswer;

function call(who: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return apiCall(runtime.url, tokens[who], method, path, body);
}

function signIn(username: string): Promise<string> {
  return signInLocal(runtime.url, username, PASSWORD);
}

beforeAll(async () => {
  // Everything the handlers log (Powertools writes to stdout/stderr) is captured for the canary check.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    };
  }
  runtime = await startInMemoryRuntime({
    adminPassword: PASSWORD,
    logLevel: 'DEBUG',
    log: {
      info: (line) => logged.push(line),
      error: (line, extra) => logged.push(`${line} ${JSON.stringify(extra)}`),
    },
  });
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
  for (const name of ['admin', 'olga', 'vera', 'bob']) tokens[name] = await signIn(name);
});

afterAll(async () => {
  await runtime.stop();
});

describe('secrets API', () => {
  it('writes, reads latest and given versions, with check-and-set', async () => {
    // Act
    const first = await call('admin', 'POST', '/secrets/data/prod/db/billing', { data: { password: 'one' } });
    const second = await call('admin', 'POST', '/secrets/data/prod/db/billing', {
      data: { password: 'two' },
      options: { cas: 1 },
    });
    const stale = await call('admin', 'POST', '/secrets/data/prod/db/billing', {
      data: { password: 'three' },
      options: { cas: 1 },
    });
    const latest = await call('admin', 'GET', '/secrets/data/prod/db/billing');
    const v1 = await call('admin', 'GET', '/secrets/data/prod/db/billing?version=1');

    // Assess
    expect(first.status).toBe(200);
    expect(first.json.data).toMatchObject({ version: 1, created_by: 'user:admin', destroyed: false });
    expect(second.json.data.version).toBe(2);
    expect(stale.status).toBe(409);
    expect(stale.json.error.code).toBe('Conflict');
    expect(latest.json.data).toMatchObject({ data: { password: 'two' }, metadata: { version: 2 } });
    expect(latest.headers.get('cache-control')).toBe('no-store');
    expect(v1.json.data.data).toEqual({ password: 'one' });
  });

  it('soft-deletes, undeletes and destroys versions', async () => {
    // Prepare
    await call('admin', 'POST', '/secrets/data/app/token', { data: { token: 'a' } });
    await call('admin', 'POST', '/secrets/data/app/token', { data: { token: 'b' } });

    // Act / Assess
    expect((await call('admin', 'POST', '/secrets/delete/app/token', { versions: [1] })).status).toBe(204);
    expect((await call('admin', 'GET', '/secrets/data/app/token?version=1')).status).toBe(404);
    expect((await call('admin', 'POST', '/secrets/undelete/app/token', { versions: [1] })).status).toBe(204);
    expect((await call('admin', 'GET', '/secrets/data/app/token?version=1')).json.data.data).toEqual({
      token: 'a',
    });
    expect((await call('admin', 'POST', '/secrets/destroy/app/token', { versions: [1] })).status).toBe(204);
    expect((await call('admin', 'GET', '/secrets/data/app/token?version=1')).status).toBe(404);
    const metadata = await call('admin', 'GET', '/secrets/metadata/app/token');
    expect(metadata.json.data.versions['1'].destroyed).toBe(true);
    expect(metadata.json.data.current_version).toBe(2);
  });

  it('writes metadata, lists by prefix and deletes everything', async () => {
    // Act
    const meta = await call('admin', 'POST', '/secrets/metadata/app/token', {
      max_versions: 5,
      custom_metadata: { owner: 'payments' },
    });
    const listed = await call('admin', 'GET', '/secrets/metadata/app?list=true');
    const root = await call('admin', 'GET', '/secrets/metadata?list=true');
    const gone = await call('admin', 'DELETE', '/secrets/metadata/app/token');
    const after = await call('admin', 'GET', '/secrets/data/app/token');

    // Assess
    expect(meta.status).toBe(204);
    expect(listed.json.data.keys).toEqual(['token']);
    expect(root.json.data.keys).toEqual(expect.arrayContaining(['app/', 'prod/']));
    expect(gone.status).toBe(204);
    expect(after.status).toBe(404);
  });

  it('refuses a write without cas once the secret requires check-and-set, and takes one with it', async () => {
    // Prepare
    await call('admin', 'POST', '/secrets/data/cas/only', { data: { key: 'v1' } });
    expect((await call('admin', 'POST', '/secrets/metadata/cas/only', { cas_required: true })).status).toBe(
      204,
    );

    // Act
    const without = await call('admin', 'POST', '/secrets/data/cas/only', { data: { key: 'v2' } });
    const stale = await call('admin', 'POST', '/secrets/data/cas/only', {
      data: { key: 'v2' },
      options: { cas: 0 },
    });
    const right = await call('admin', 'POST', '/secrets/data/cas/only', {
      data: { key: 'v2' },
      options: { cas: 1 },
    });

    // Assess
    expect(without.status).toBe(400);
    expect(without.json.error.message).toBe('check-and-set parameter required for this secret');
    expect(stale.status).toBe(409);
    expect(right.status).toBe(200);
    expect(right.json.data.version).toBe(2);
  });

  it('lets an operator write but not destroy, and a viewer see metadata but never values', async () => {
    // Prepare
    await call('admin', 'POST', '/secrets/data/team/api-key', { data: { key: 'k1' } });

    // Act
    const operatorWrite = await call('olga', 'POST', '/secrets/data/team/api-key', { data: { key: 'k2' } });
    const operatorDestroy = await call('olga', 'POST', '/secrets/destroy/team/api-key', { versions: [1] });
    const viewerRead = await call('vera', 'GET', '/secrets/data/team/api-key');
    const viewerMetadata = await call('vera', 'GET', '/secrets/metadata/team/api-key');
    const viewerList = await call('vera', 'GET', '/secrets/metadata/team?list=true');
    const viewerWrite = await call('vera', 'POST', '/secrets/data/team/api-key', { data: { key: 'x' } });

    // Assess
    expect(operatorWrite.status).toBe(200);
    expect(operatorDestroy.status).toBe(403);
    expect(viewerRead.status).toBe(403);
    expect(JSON.stringify(viewerRead.json)).not.toContain('k2');
    expect(viewerMetadata.status).toBe(200);
    expect(viewerList.json.data.keys).toEqual(['api-key']);
    expect(viewerWrite.status).toBe(403);
  });

  it("answers another tenant's secret exactly like a missing one", async () => {
    // Prepare
    await call('admin', 'POST', '/secrets/data/shared/name', { data: { v: 'default-tenant' } });

    // Act
    const foreign = await call('bob', 'GET', '/secrets/data/shared/name');
    const missing = await call('bob', 'GET', '/secrets/data/shared/none');
    const foreignList = await call('bob', 'GET', '/secrets/metadata?list=true');

    // Assess
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(foreign.json.error.code).toBe(missing.json.error.code);
    expect(foreignList.json.data.keys).toEqual([]);
  });

  it.each([
    // (fetch normalises `..` away before sending, so the dot-segment case lives in the unit tests)
    ['an empty path segment', 'POST', '/secrets/data/prod//db', { data: { a: 'b' } }, 400],
    ['a forbidden character', 'POST', '/secrets/data/prod/db%24name', { data: { a: 'b' } }, 400],
    ['a non-object value', 'POST', '/secrets/data/x/y', { data: 'plain' }, 400],
    ['a non-string field', 'POST', '/secrets/data/x/y', { data: { a: 1 } }, 400],
    ['an unknown field', 'POST', '/secrets/data/x/y', { data: { a: 'b' }, extra: true }, 400],
    ['an oversize value', 'POST', '/secrets/data/x/big', { data: { a: 'x'.repeat(70 * 1024) } }, 413],
    ['a version that does not exist', 'GET', '/secrets/data/prod/db/billing?version=99', undefined, 404],
    ['version zero', 'GET', '/secrets/data/prod/db/billing?version=0', undefined, 400],
    ['an unknown query parameter', 'GET', '/secrets/metadata/prod/db/billing?foo=1', undefined, 400],
  ])('answers %s with the JSON error shape', async (_name, method, path, body, status) => {
    const answer = await call('admin', method, path, body);
    expect(answer.status).toBe(status);
    expect(answer.json.error).toMatchObject({ code: expect.any(String), requestId: expect.any(String) });
  });

  it('applies policies an admin manages: a group policy narrows a role, deny wins', async () => {
    // Prepare
    await call('admin', 'POST', '/secrets/data/prod/payments/key', { data: { key: 'p' } });
    await call('admin', 'POST', '/secrets/data/dev/payments/key', { data: { key: 'd' } });

    // Act
    const created = await call('admin', 'PUT', '/policies/no-prod', {
      rules: [
        { path: 'prod/*', capabilities: ['deny'] },
        { path: '*', capabilities: ['read', 'list', 'create', 'update', 'delete'] },
      ],
      revision: 0,
    });
    const stale = await call('admin', 'PUT', '/policies/no-prod', {
      rules: [{ path: '*', capabilities: ['read'] }],
      revision: 0,
    });
    const attached = await call('admin', 'PUT', '/policies/attachments/groups/operator', {
      policies: ['no-prod'],
    });
    const operatorProd = await call('olga', 'GET', '/secrets/data/prod/payments/key');
    const operatorDev = await call('olga', 'GET', '/secrets/data/dev/payments/key');
    const viewerManage = await call('vera', 'PUT', '/policies/sneaky', {
      rules: [{ path: '*', capabilities: ['read'] }],
    });
    const invalid = await call('admin', 'PUT', '/policies/bad', {
      rules: [{ path: 'a/*/b', capabilities: ['read'] }],
    });
    const listing = await call('admin', 'GET', '/policies/attachments');
    await call('admin', 'PUT', '/policies/attachments/groups/operator', { policies: [] });

    // Assess
    expect(created.status).toBe(200);
    expect(created.json.data).toMatchObject({ name: 'no-prod', revision: 1 });
    expect(stale.status).toBe(409);
    expect(attached.status).toBe(204);
    expect(operatorProd.status).toBe(403);
    expect(operatorDev.status).toBe(200);
    expect(viewerManage.status).toBe(403);
    expect(invalid.status).toBe(400);
    expect(listing.json.data.groups).toEqual({ operator: ['no-prod'] });
  });

  it('never logs a secret value', async () => {
    // Act: every operation on a value that carries the canary, each of which must really run
    // (an answer of 401 to every call would log nothing and prove nothing).
    const path = '/secrets/data/canary/secret';
    const from = logged.length;
    const answers = [
      await call('admin', 'POST', path, { data: { password: CANARY } }),
      await call('admin', 'POST', path, { data: { password: CANARY }, options: { cas: 0 } }),
      await call('admin', 'GET', path),
      await call('vera', 'GET', path),
      await call('admin', 'GET', '/secrets/metadata/canary/secret'),
      await call('admin', 'POST', '/secrets/delete/canary/secret', {}),
      await call('admin', 'POST', '/secrets/undelete/canary/secret', { versions: [1] }),
      await call('admin', 'POST', '/secrets/destroy/canary/secret', { versions: [1] }),
      await call('admin', 'DELETE', '/secrets/metadata/canary/secret'),
    ];

    // Assess: the value went in and came back out (so it passed through every layer that logs),
    // the refusals are the ones expected, and what was captured is these requests' own lines:
    // the runtime's access log and the handlers' structured log of the refusals.
    expect(answers.map((answer) => answer.status)).toEqual([200, 409, 200, 403, 200, 204, 204, 204, 204]);
    expect(answers[1]?.json.error.code).toBe('Conflict');
    expect(answers[2]?.json.data.data.password).toBe(CANARY);
    const lines = logged.slice(from).join('\n');
    expect(lines).toContain(`POST ${path} 200`);
    expect(lines).toContain(`GET ${path} 403`);
    for (const status of [409, 403]) {
      const refusal = answers.find((answer) => answer.status === status);
      expect(lines).toContain(`"correlation_id":"${refusal?.headers.get('x-correlation-id') ?? 'missing'}"`);
    }
    expect(logged.join('\n')).not.toContain(CANARY);
  });
});
