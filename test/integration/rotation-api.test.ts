/**
 * Rotation through the local API and its in-process queue and scheduler, as a client uses it:
 * register a rotated credential (POST /credentials), request a rotation with an idempotency key
 * (202), watch its steps, list a credential's rotations, roll back, manage policies (invalid ones
 * answer 400), and let the scheduler find a due credential on the sparse index and rotate it.
 */
import {
  type ApiAnswer,
  type ApiCaller,
  apiCall,
  signInLocal,
  startInMemoryRuntime,
} from '../support/local-api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRotationQueue } from '../../lambdas/adapters/local/in-process-rotation-queue.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { registerVaultSecret, settledRotation } from '../support/local-rotation.js';

const PASSWORD = 'integration-password-123';
const OLD = 'old-value-that-must-never-be-logged-42';
const logged: string[] = [];
let runtime: LocalRuntime;
const tokens: Record<string, string> = {};

function call(
  who: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer> {
  return apiCall(runtime.url, tokens[who], method, path, body, headers);
}

function signIn(username: string): Promise<string> {
  return signInLocal(runtime.url, username, PASSWORD);
}

const asAdmin: ApiCaller = (method, path, body) => call('admin', method, path, body);

function settled(rotationId: string): Promise<any> {
  return settledRotation(asAdmin, rotationId);
}

/** Registers a vault-secret credential rotating a new secret at `path`; returns its id. */
async function register(path: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await registerVaultSecret(asAdmin, path, OLD, extra)).id as string;
}

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    };
  }
  runtime = await startInMemoryRuntime({
    adminPassword: PASSWORD,
    env: { VAULTPILOT_SCHEDULER: 'true' },
    log: {
      info: (line) => logged.push(line),
      error: (line, extra) => logged.push(`${line} ${JSON.stringify(extra)}`),
    },
  });
  await runtime.identity.addUser({
    username: 'vera',
    password: PASSWORD,
    tenant: 'default',
    groups: ['viewer'],
  });
  tokens.admin = await signIn('admin');
  tokens.vera = await signIn('vera');
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('the rotation API', () => {
  it('rotates a registered credential through the queue, once per idempotency key', async () => {
    const id = await register('apps/one/token');

    const first = await call('admin', 'POST', `/credentials/${id}/rotate`, undefined, {
      'idempotency-key': 'k-1',
    });
    const again = await call('admin', 'POST', `/credentials/${id}/rotate`, undefined, {
      'idempotency-key': 'k-1',
    });

    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.json.data.rotationId).toBe(first.json.data.rotationId);
    const rotation = await settled(first.json.data.rotationId);
    expect(rotation.state).toBe('succeeded');
    const steps = rotation.steps as { step: string; status: string }[];
    expect(steps.map((step) => [step.step, step.status])).toEqual([
      ['create', 'succeeded'],
      ['set', 'succeeded'],
      ['test', 'succeeded'],
      ['finish', 'succeeded'],
    ]);
    const secret = await call('admin', 'GET', '/secrets/data/apps/one/token');
    expect(secret.json.data.data.token).toHaveLength(48);
    expect(secret.json.data.metadata.version).toBe(2);
    const listed = await call('vera', 'GET', `/credentials/${id}/rotations`);
    expect(listed.status).toBe(200);
    const rotations = listed.json.data.rotations as { rotationId: string }[];
    expect(rotations.map((item) => item.rotationId)).toEqual([first.json.data.rotationId]);
    const credential = await call('admin', 'GET', `/credentials/${id}`);
    expect(credential.json.data.lastRotatedAt).toBeDefined();
    expect(Date.parse(credential.json.data.rotation.dueAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });

  it('makes version 1 of a generated secret registered at a path that holds no value yet', async () => {
    // Prepare: no value at the path, only the credential.
    const registered = await call('admin', 'POST', '/credentials', {
      type: 'vault-secret',
      name: 'token apps/fresh/token',
      secretPath: 'apps/fresh/token',
      generator: { length: 48, field: 'token' },
      rotationPolicy: { intervalDays: 30, deactivateAfterDays: 0, deleteAfterDays: 0 },
    });
    expect(registered.status, JSON.stringify(registered.json)).toBe(201);

    // Act
    const started = await call('admin', 'POST', `/credentials/${registered.json.data.id}/rotate`);
    const rotation = await settled(started.json.data.rotationId);

    // Assess
    expect(rotation.state, JSON.stringify(rotation)).toBe('succeeded');
    const secret = await call('admin', 'GET', '/secrets/data/apps/fresh/token');
    expect(secret.status).toBe(200);
    expect(secret.json.data.metadata.version).toBe(1);
    expect(secret.json.data.data.token).toHaveLength(48);
  });

  it('rolls back on request and refuses a viewer', async () => {
    const id = await register('apps/two/token');
    const started = await call('admin', 'POST', `/credentials/${id}/rotate`);
    await settled(started.json.data.rotationId);

    const denied = await call('vera', 'POST', `/rotations/${started.json.data.rotationId}/rollback`);
    const rolledBack = await call('admin', 'POST', `/rotations/${started.json.data.rotationId}/rollback`);

    expect(denied.status).toBe(403);
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.json.data.state).toBe('rolled-back');
    const secret = await call('admin', 'GET', '/secrets/data/apps/two/token');
    expect(secret.json.data.data.token).toBe(OLD);
    // Runs in the worker (invoked as Lambda Invoke would): its refusals keep their status and code.
    const again = await call('admin', 'POST', `/rotations/${started.json.data.rotationId}/rollback`);
    expect(again.status).toBe(200);
    expect(again.json.data.state).toBe('rolled-back');
    const next = await call('admin', 'POST', `/credentials/${id}/rotate`);
    await settled(next.json.data.rotationId);
    const latest = await call('admin', 'POST', `/credentials/${id}/rotate`);
    await settled(latest.json.data.rotationId);
    const stale = await call('admin', 'POST', `/rotations/${next.json.data.rotationId}/rollback`);
    expect(stale.status).toBe(409);
    expect(stale.json.error.code).toBe('Conflict');
    expect(stale.json.error.message).toMatch(/latest rotation/);
  });

  it('answers 404 for unknown credentials and rotations, 400 for invalid registrations', async () => {
    expect((await call('admin', 'POST', '/credentials/cr_000000000000000000000000/rotate')).status).toBe(404);
    expect((await call('admin', 'GET', '/rotations/rot_nothing')).status).toBe(404);
    const invalid = await call('admin', 'POST', '/credentials', {
      type: 'vault-secret',
      name: 'bad',
      secretPath: 'apps/bad',
      rotationPolicy: { intervalDays: 30, deactivateAfterDays: -1 },
    });
    expect(invalid.status).toBe(400);
    const noRotator = await call('admin', 'POST', '/credentials', {
      type: 'github-token',
      name: 'gh',
      secretPath: 'apps/gh',
      rotationPolicy: { intervalDays: 30 },
    });
    expect(noRotator.status).toBe(400);
  });

  it('answers a rotation of a credential without a policy with 400 saying how to give it one', async () => {
    // Prepare: registered without a policy (it is optional), and no tenant policy applies.
    const id = (
      await registerVaultSecret(asAdmin, 'apps/no-policy/token', OLD, { rotationPolicy: undefined })
    ).id as string;

    // Act
    const refused = await call('admin', 'POST', `/credentials/${id}/rotate`);
    const patched = await call('admin', 'PATCH', `/credentials/${id}`, {
      rotationPolicy: { intervalDays: 30 },
    });
    const started = await call('admin', 'POST', `/credentials/${id}/rotate`);

    // Assess: the answer names the field and both ways to give it one; done so, it rotates.
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(
      new RegExp(`no rotation policy: give it one with PATCH /credentials/${id} \\(rotationPolicy: `),
    );
    expect(refused.json.error.message).toContain('PUT /rotation-policies/{name}');
    expect(refused.json.error.details).toEqual({ field: 'rotationPolicy' });
    expect(patched.status, patched.text).toBe(200);
    expect(started.status, started.text).toBe(202);
    expect((await settled(started.json.data.rotationId)).state).toBe('succeeded');
  });

  it('manages rotation policies and refuses invalid ones with 400', async () => {
    const put = await call('admin', 'PUT', '/rotation-policies/quarterly', {
      policy: { intervalDays: 90, window: { schedule: 'cron(0 2 ? * SUN *)', duration: '4h' } },
    });
    const bad = await Promise.all([
      call('admin', 'PUT', '/rotation-policies/bad', { policy: { deleteAfterDays: -1 } }),
      call('admin', 'PUT', '/rotation-policies/bad', { policy: { rotator: 'ftp' } }),
      call('admin', 'PUT', '/rotation-policies/bad', {
        policy: { intervalDays: 1, window: { schedule: 'rate(7 days)', duration: '1h' } },
      }),
    ]);
    const listed = await call('admin', 'GET', '/rotation-policies');
    const viewer = await call('vera', 'PUT', '/rotation-policies/x', { policy: {} });

    expect(put.status).toBe(200);
    expect(put.json.data).toMatchObject({
      name: 'quarterly',
      revision: 1,
      policy: { intervalDays: 90, deactivateAfterDays: 10 },
    });
    expect(bad.map((answer) => answer.status)).toEqual([400, 400, 400]);
    const policies = listed.json.data.policies as { name: string }[];
    expect(policies.map((policy) => policy.name)).toEqual(['quarterly']);
    expect(viewer.status).toBe(403);
    expect((await call('admin', 'DELETE', '/rotation-policies/quarterly')).status).toBe(204);
  });

  it('lets the scheduler find a due credential on the index and rotate it', async () => {
    const id = await register('apps/due/token', { lastRotatedAt: '2020-01-01T00:00:00Z' });
    const notDue = await register('apps/fresh/token');

    expect(await runtime.scheduler?.fireNow('rotationScheduler')).toBe('succeeded');
    await localRotationQueue.drain();

    const due = await call('admin', 'GET', `/credentials/${id}/rotations`);
    expect(due.json.data.rotations).toHaveLength(1);
    expect(await settled(due.json.data.rotations[0].rotationId)).toMatchObject({
      state: 'succeeded',
      trigger: 'schedule',
    });
    expect((await call('admin', 'GET', `/credentials/${notDue}/rotations`)).json.data.rotations).toHaveLength(
      0,
    );
  });

  it('never logs a value', () => {
    expect(logged.join('\n')).not.toContain(OLD);
  });
});
