/**
 * Vault clients write with PUT as well as POST: every KV write route of the local API takes both,
 * as the same operation (the route table serves `alsoPut` routes on both methods).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';

const PASSWORD = 'kv-put-password-0123456789';
let runtime: LocalRuntime;
let token: string;

const call = (method: string, path: string, body?: unknown) =>
  apiCall(runtime.url, token, method, path, body);

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD });
  token = await signInLocal(runtime.url, 'admin', PASSWORD);
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('KV writes with PUT', () => {
  it('writes versions with PUT and POST alike, check-and-set included', async () => {
    // Act
    const first = await call('PUT', '/secrets/data/apps/put/db', { data: { password: 'one' } });
    const second = await call('POST', '/secrets/data/apps/put/db', { data: { password: 'two' } });
    const stale = await call('PUT', '/secrets/data/apps/put/db', {
      data: { password: 'x' },
      options: { cas: 1 },
    });
    const read = await call('GET', '/secrets/data/apps/put/db');

    // Assess
    expect(first.status, first.text).toBe(200);
    expect(first.json.data.version).toBe(1);
    expect(second.json.data.version).toBe(2);
    expect(stale.status).toBe(409);
    expect(read.json.data.data).toEqual({ password: 'two' });
  });

  it('soft-deletes, undeletes and destroys versions and sets metadata with PUT', async () => {
    await call('PUT', '/secrets/data/apps/put/api', { data: { key: 'k1' } });

    const deleted = await call('PUT', '/secrets/delete/apps/put/api', { versions: [1] });
    const afterDelete = await call('GET', '/secrets/data/apps/put/api');
    const undeleted = await call('PUT', '/secrets/undelete/apps/put/api', { versions: [1] });
    const afterUndelete = await call('GET', '/secrets/data/apps/put/api');
    const metadata = await call('PUT', '/secrets/metadata/apps/put/api', {
      max_versions: 3,
      cas_required: true,
    });
    const readMetadata = await call('GET', '/secrets/metadata/apps/put/api');
    const destroyed = await call('PUT', '/secrets/destroy/apps/put/api', { versions: [1] });
    const afterDestroy = await call('GET', '/secrets/metadata/apps/put/api');

    expect(deleted.status, deleted.text).toBe(204);
    expect(afterDelete.status).toBe(404);
    expect(undeleted.status).toBe(204);
    expect(afterUndelete.json.data.data).toEqual({ key: 'k1' });
    expect(metadata.status).toBe(204);
    expect(readMetadata.json.data).toMatchObject({ max_versions: 3, cas_required: true });
    expect(destroyed.status).toBe(204);
    expect(afterDestroy.json.data.versions['1'].destroyed).toBe(true);
  });

  it('answers 405 for PUT on a route that serves only POST elsewhere', async () => {
    const answer = await call('PUT', '/admin/rewrap', {});

    expect(answer.status).toBe(405);
  });
});
