/**
 * Changing a managed credential's rotation through `PATCH /credentials/{id}` of the local runtime,
 * as a client does: the due time follows the policy and the exemption tag (on the real sparse
 * `dueForRotation` index of dynalite), a new generator is what the next rotation uses, invalid
 * policies and settings for discovered credentials answer 400, a running rotation's secret path
 * answers 409, and a credential registered without rotation gets a binding.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDueCredentials } from '../../lambdas/adapters/aws/dynamodb-due-credentials.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import {
  type ApiAnswer,
  apiCall,
  localDocumentClient,
  signInLocal,
  startInMemoryRuntime,
} from '../support/local-api.js';
import { registerVaultSecret, settledRotation } from '../support/local-rotation.js';

const PASSWORD = 'integration-password-123';
const OLD = 'old-value-that-must-never-be-logged-77';
const DAY = 86_400_000;
const TENANT = 'default';
let runtime: LocalRuntime;
let documents: DynamoDBDocumentClient;
let token: string;

function call(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  return apiCall(runtime.url, token, method, path, body);
}

/** Writes a value at `path` and registers a vault-secret credential rotating it. */
function register(path: string, extra: Record<string, unknown> = {}): Promise<any> {
  return registerVaultSecret(call, path, OLD, extra);
}

async function patch(id: string, body: Record<string, unknown>): Promise<ApiAnswer> {
  return call('PATCH', `/credentials/${id}`, body);
}

/** The ids on the `dueForRotation` index, as the scheduler reads it. */
async function dueIds(): Promise<string[]> {
  const ids: string[] = [];
  const index = new DynamoDbDueCredentials(documents, localTableName('credentials'));
  for await (const page of index.dueBefore('9999-12-31T00:00:00.000Z', 100)) {
    ids.push(...page.map((item) => item.credentialId));
  }
  return ids;
}

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD });
  documents = localDocumentClient(runtime, { marshallOptions: { removeUndefinedValues: true } });
  token = await signInLocal(runtime.url, 'admin', PASSWORD);
}, 60_000);

afterAll(async () => {
  documents?.destroy();
  await runtime?.stop();
});

describe('PATCH /credentials/{id} on rotation fields', () => {
  it('moves the due time when the interval changes', async () => {
    const created = await register('apps/interval/token');
    const before = Date.parse(created.rotation.dueAt as string);

    const answer = await patch(created.id as string, { rotationPolicy: { intervalDays: 90 } });

    expect(answer.status).toBe(200);
    expect(Date.parse(answer.json.data.rotation.dueAt as string) - before).toBe(60 * DAY);
    expect(answer.json.data.rotation.policy).toEqual({ intervalDays: 90 });
    const read = await call('GET', `/credentials/${String(created.id)}`);
    expect(read.json.data.rotation.dueAt).toBe(answer.json.data.rotation.dueAt);
    expect(read.json.data.history[0]).toMatchObject({
      action: 'updated',
      changes: {
        'rotation.policy': { to: { intervalDays: 90 } },
        'rotation.dueAt': { to: answer.json.data.rotation.dueAt },
      },
    });
  });

  it('takes an exempted credential off the due index, and puts it back when the tag goes', async () => {
    const created = await register('apps/exempt/token');
    const id = created.id as string;
    expect(await dueIds()).toContain(id);

    const exempt = await patch(id, { tags: { 'vaultpilot:rotation-exempt': 'true' } });
    const offIndex = await dueIds();
    const back = await patch(id, { tags: {} });

    expect(exempt.status).toBe(200);
    expect(exempt.json.data.rotation.dueAt).toBeUndefined();
    expect(offIndex).not.toContain(id);
    expect(back.json.data.rotation.dueAt).toBe(created.rotation.dueAt);
    expect(await dueIds()).toContain(id);
  });

  it('rotates with a patched generator', async () => {
    const created = await register('apps/generator/token');
    const id = created.id as string;

    const patched = await patch(id, { generator: { length: 20, field: 'token' } });
    const started = await call('POST', `/credentials/${id}/rotate`);
    const rotation = await settledRotation(call, started.json.data.rotationId as string);

    expect(patched.status).toBe(200);
    expect(patched.json.data.rotation.settings).toEqual({ generator: { length: 20, field: 'token' } });
    expect(started.status).toBe(202);
    expect(rotation.state).toBe('succeeded');
    const secret = await call('GET', '/secrets/data/apps/generator/token');
    expect(secret.json.data.data.token).toHaveLength(20);
    const history = (await call('GET', `/credentials/${id}`)).json.data.history as unknown[];
    expect(JSON.stringify(history)).not.toContain(OLD);
    expect(JSON.stringify(history)).not.toContain(secret.json.data.data.token as string);
  });

  it('answers 400 for an invalid inline policy or generator, naming the field', async () => {
    const created = await register('apps/invalid/token');
    const id = created.id as string;

    const policy = await patch(id, { rotationPolicy: { intervalDays: 30, deactivateAfterDays: -1 } });
    const generator = await patch(id, { generator: { length: 4, field: 'token' } });
    const notASetting = await patch(id, { connection: { host: 'db.internal' } });

    expect([policy.status, generator.status, notASetting.status]).toEqual([400, 400, 400]);
    expect(policy.json.error.code).toBe('ValidationError');
    expect(policy.json.error.details.issues[0].path).toBe('deactivateAfterDays');
    expect(generator.json.error.details.issues[0].path).toBe('generator.length');
    expect(notASetting.json.error.details.issues[0].path).toBe('connection');
    expect((await call('GET', `/credentials/${id}`)).json.data.revision).toBe(1);
  });

  it('answers 400 for rotation settings of a discovered credential', async () => {
    expect((await call('POST', '/secrets/data/apps/found/token', { data: { token: OLD } })).status).toBe(200);
    const run = await call('POST', '/discovery/runs');
    expect(run.status).toBe(202);
    const discovered = await waitForDiscovered('apps/found/token');

    const settings = await patch(discovered, { secretPath: 'apps/found/token', generator: { length: 32 } });
    const inline = await patch(discovered, { rotationPolicy: { intervalDays: 30 } });
    const owner = await patch(discovered, { owner: 'team-platform' });

    expect(settings.status).toBe(400);
    expect(settings.json.error.details.fields).toEqual(['secretPath', 'generator']);
    expect(inline.status).toBe(400);
    expect(owner.status).toBe(200);
    expect(owner.json.data.rotation).toBeUndefined();
  });

  it('answers 409 for a new secret path while a rotation runs, and still takes tags', async () => {
    const created = await register('apps/running/token');
    const id = created.id as string;
    // A rotation in flight, as the engine records it when it starts.
    const store = new DynamoDbCredentialStore(documents, localTableName('credentials'));
    const stored = await store.get(TENANT, id);
    await store.replace(
      { ...stored!, rotationState: 'rotating', revision: stored!.revision + 1 },
      stored!.revision,
    );

    const path = await patch(id, { secretPath: 'apps/running/other' });
    const tags = await patch(id, { tags: { team: 'platform' } });

    expect(path.status).toBe(409);
    expect(path.json.error.code).toBe('Conflict');
    expect(tags.status).toBe(200);
    expect(tags.json.data.rotation.secretPath).toBe('apps/running/token');
  });

  it('adds rotation to a managed credential registered without it', async () => {
    expect((await call('POST', '/secrets/data/apps/later/token', { data: { token: OLD } })).status).toBe(200);
    const created = await call('POST', '/credentials', { type: 'vault-secret', name: 'later' });
    const id = created.json.data.id as string;

    const withoutPath = await patch(id, { rotationPolicy: { intervalDays: 7 } });
    const bound = await patch(id, {
      secretPath: 'apps/later/token',
      generator: { length: 24, field: 'token' },
      rotationPolicy: { intervalDays: 7, deactivateAfterDays: 0, deleteAfterDays: 0 },
    });
    const started = await call('POST', `/credentials/${id}/rotate`);
    const rotation = await settledRotation(call, started.json.data.rotationId as string);

    expect(created.json.data.rotation).toBeUndefined();
    expect(withoutPath.status).toBe(400);
    expect(withoutPath.json.error.details.issues[0].path).toBe('secretPath');
    expect(bound.status).toBe(200);
    expect(Date.parse(bound.json.data.rotation.dueAt as string)).toBeGreaterThan(Date.now() + 6 * DAY);
    expect(await dueIds()).toContain(id);
    expect(rotation.state).toBe('succeeded');
    const secret = await call('GET', '/secrets/data/apps/later/token');
    expect(secret.json.data.data.token).toHaveLength(24);
  });
});

/** The id of the discovered credential of a stored secret, once the run has recorded it. */
async function waitForDiscovered(path: string): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const listed = await call('GET', `/credentials?source=discovered&q=${encodeURIComponent(path)}`);
    const found = (listed.json.data.credentials as { id: string; name: string }[]).find(
      (credential) => credential.name === path,
    );
    if (found !== undefined) return found.id;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} was not discovered`);
}
