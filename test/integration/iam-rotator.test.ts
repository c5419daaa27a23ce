/**
 * The `aws-iam-access-key` rotator against a fake IAM/STS (aws-sdk-client-mock) whose state is
 * inspected after every step, driven by the rotation engine on dynalite: the old key stays active
 * until its retirement, retirement waits for the grace periods and for non-use, a second key is
 * removed only when inactive and unused, a key STS never accepts is rolled back, throttling and
 * eventual consistency are waited out, and crashes at every point leave no orphan key behind.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import type { Rotator } from '../../lambdas/core/rotation/rotator.js';
import type { IamKeySettings } from '../../lambdas/rotators/aws-iam-access-key.js';
import { FakeIam, type FakeKey, fakeIamRotator } from '../support/fake-iam.js';
import {
  afterEachStep,
  crashPoints,
  sweepCrashes,
  PERSON,
  policy,
  type RotationHarness,
  runManualRotation,
  startManualRotation,
  startRotationHarness,
  TENANT,
} from '../support/rotation-harness.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

let h: RotationHarness;
let iam: FakeIam;

beforeAll(async () => {
  h = await startRotationHarness();
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.faults.restart();
  iam = new FakeIam(h.clock);
});

afterEach(() => {
  iam.restore();
});

let users = 0;
async function iamCredential(settings: Record<string, unknown> = {}) {
  users += 1;
  const userName = `svc-${users}`;
  const key = iam.addUser(userName);
  const secretPath = `aws/${userName}`;
  const id = await h.addCredential(
    {
      type: 'aws-iam-access-key',
      name: `${userName} key`,
      secretPath,
      settings: { userName },
      policy: policy(settings),
    },
    { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
  );
  return { id, secretPath, userName, key };
}

function engineWith(inner: Rotator<IamKeySettings>, faulty = false): RotationEngine {
  return h.engine({ 'aws-iam-access-key': inner }, { faulty });
}

async function current(path: string) {
  const read = await h.secrets.read(TENANT, path);
  return {
    version: read.metadata.version,
    accessKeyId: read.data.accessKeyId,
    secretAccessKey: read.data.secretAccessKey,
  };
}

/** After each provider step: the user's keys at IAM. */
function observed(
  inner: Rotator<IamKeySettings>,
  userName: string,
  log: { step: string; keys: Record<string, string> }[],
) {
  return afterEachStep(inner, (step) => {
    log.push({ step, keys: iam.snapshot(userName) });
  });
}

describe('a rotation', () => {
  it('adds a new key, proves it with STS, makes it current and keeps the old key active', async () => {
    const { id, secretPath, userName, key: old } = await iamCredential();
    const log: { step: string; keys: Record<string, string> }[] = [];

    const record = await runManualRotation(engineWith(observed(fakeIamRotator(), userName, log)), id);

    expect(record.state).toBe('succeeded');
    const fresh = iam.keysOf(userName).find((key) => key.accessKeyId !== old.accessKeyId) as FakeKey;
    const both = { [old.accessKeyId]: 'Active', [fresh.accessKeyId]: 'Active' };
    expect(log).toEqual([
      { step: 'create', keys: both },
      { step: 'set', keys: both },
      { step: 'test', keys: both },
      { step: 'finish', keys: both },
    ]);
    expect(await current(secretPath)).toEqual({
      version: 2,
      accessKeyId: fresh.accessKeyId,
      secretAccessKey: fresh.secretAccessKey,
    });
    expect(fresh.lastUsed).toBeDefined();
    expect(record.retirement).toMatchObject({
      status: 'scheduled',
      nextPhase: 'deactivate',
      ref: { accessKeyId: old.accessKeyId },
      dueAt: new Date(h.clock.now().getTime() + 10 * DAY_MS).toISOString(),
    });
  });

  it('deactivates the old key after the grace period, waits while it is used, then deletes it', async () => {
    const { id, userName, key: old } = await iamCredential({ nonUseGateHours: 24 });
    const engine = engineWith(fakeIamRotator());
    const record = await runManualRotation(engine, id);
    const key = { tenant: TENANT, credentialId: id, rotationId: record.rotationId };

    h.clock.advance(5 * DAY_MS);
    expect((await engine.retire(key)).retirement?.status).toBe('scheduled');
    expect(await h.store.dueRetirements(TENANT, h.clock.now().toISOString(), 10)).not.toContainEqual(key);

    h.clock.advance(5 * DAY_MS + 1000);
    old.lastUsed = new Date(h.clock.now().getTime() - 2 * HOUR_MS);
    expect(await h.store.dueRetirements(TENANT, h.clock.now().toISOString(), 10)).toContainEqual(key);
    const postponed = await engine.retire(key);
    expect(postponed.retirement).toMatchObject({ status: 'scheduled', nextPhase: 'deactivate' });
    expect(postponed.retirement?.note).toMatch(/within the last 24 hours/);
    expect(iam.snapshot(userName)[old.accessKeyId]).toBe('Active');

    h.clock.advance(23 * HOUR_MS);
    const deactivated = await engine.retire(key);
    expect(deactivated.retirement).toMatchObject({ status: 'deactivated', nextPhase: 'delete' });
    expect(iam.snapshot(userName)[old.accessKeyId]).toBe('Inactive');

    h.clock.advance(10 * DAY_MS + 1000);
    const retired = await engine.retire(key);
    expect(retired.retirement).toMatchObject({ status: 'retired' });
    expect(iam.snapshot(userName)[old.accessKeyId]).toBeUndefined();
    expect(iam.keysOf(userName)).toHaveLength(1);
    expect(
      h.bus.events.some(
        (event) => event.type === 'rotation.retired' && event.detail.rotationId === record.rotationId,
      ),
    ).toBe(true);
    expect(
      await h.store.dueRetirements(
        TENANT,
        new Date(h.clock.now().getTime() + 400 * DAY_MS).toISOString(),
        10,
      ),
    ).not.toContainEqual(key);
  });

  it('does not delete an old key someone re-activated', async () => {
    const { id, userName, key: old } = await iamCredential({ deactivateAfterDays: 0, deleteAfterDays: 1 });
    const engine = engineWith(fakeIamRotator());
    const record = await runManualRotation(engine, id);
    const key = { tenant: TENANT, credentialId: id, rotationId: record.rotationId };
    h.clock.advance(1000);
    await engine.retire(key);
    old.status = 'Active';

    h.clock.advance(DAY_MS + 1000);
    const blocked = await engine.retire(key);

    expect(blocked.retirement).toMatchObject({ status: 'blocked' });
    expect(iam.snapshot(userName)[old.accessKeyId]).toBe('Active');
  });

  it('removes a second key only if it is inactive and unused, and fails clearly otherwise', async () => {
    const spare = await iamCredential();
    const inactive = iam.addKey(spare.userName, 'Inactive');
    const busy = await iamCredential();
    iam.addKey(busy.userName, 'Active');

    const replaced = await runManualRotation(engineWith(fakeIamRotator()), spare.id);
    const refused = await runManualRotation(engineWith(fakeIamRotator()), busy.id);

    expect(replaced.state).toBe('succeeded');
    expect(iam.snapshot(spare.userName)[inactive.accessKeyId]).toBeUndefined();
    expect(iam.keysOf(spare.userName)).toHaveLength(2);
    expect(refused.state).toBe('failed');
    expect(refused.failure).toMatch(/two keys and the other one .* is active/);
    expect(iam.keysOf(busy.userName)).toHaveLength(2);
    expect(iam.snapshot(busy.userName)[busy.key.accessKeyId]).toBe('Active');
    expect((await current(busy.secretPath)).accessKeyId).toBe(busy.key.accessKeyId);
  });

  it('rolls back a key STS never accepts: the new key is deleted, the old one stays current and active', async () => {
    const { id, secretPath, userName, key: old } = await iamCredential();
    iam.propagationCalls = 1000;

    const record = await runManualRotation(engineWith(fakeIamRotator()), id);

    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^test: RotationTestFailed: STS did not accept the new key/);
    expect(iam.snapshot(userName)).toEqual({ [old.accessKeyId]: 'Active' });
    expect((await current(secretPath)).accessKeyId).toBe(old.accessKeyId);
    expect(await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId)).toBeUndefined();
  });

  it('waits out IAM eventual consistency and throttling', async () => {
    const { id, secretPath, userName } = await iamCredential();
    iam.propagationCalls = 3;
    iam.throttle('CreateAccessKey', 2);
    iam.throttle('GetCallerIdentity', 2);
    iam.throttle('ListAccessKeys', 1);

    const record = await runManualRotation(engineWith(fakeIamRotator()), id);

    expect(record.state).toBe('succeeded');
    expect(iam.keysOf(userName)).toHaveLength(2);
    expect(iam.callLog.filter((call) => call === 'CreateAccessKey')).toHaveLength(3);
    expect((await current(secretPath)).version).toBe(2);
  });

  it('leaves a rotation in progress while IAM stays throttled, and finishes it later without extra keys', async () => {
    const { id, userName } = await iamCredential();
    iam.throttle('CreateAccessKey', 100);
    const engine = engineWith(fakeIamRotator());
    const key = await startManualRotation(engine, id);

    await expect(engine.run(key)).rejects.toThrow(DependencyUnavailableError);
    expect(iam.keysOf(userName)).toHaveLength(1);
    iam.throttle('CreateAccessKey', 0);
    const record = (await engine.run(key)).record;

    expect(record.state).toBe('succeeded');
    expect(iam.keysOf(userName)).toHaveLength(2);
  });

  it('re-activates the old key on an explicit rollback, and deactivates the new one', async () => {
    const { id, secretPath, userName, key: old } = await iamCredential({ deactivateAfterDays: 0 });
    const engine = engineWith(fakeIamRotator());
    const record = await runManualRotation(engine, id);
    h.clock.advance(1000);
    await engine.retire({ tenant: TENANT, credentialId: id, rotationId: record.rotationId });
    expect(iam.snapshot(userName)[old.accessKeyId]).toBe('Inactive');
    const fresh = (await current(secretPath)).accessKeyId ?? '';

    const rolledBack = await engine.rollback(
      { tenant: TENANT, credentialId: id, rotationId: record.rotationId },
      PERSON,
    );

    expect(rolledBack.state).toBe('rolled-back');
    expect(iam.snapshot(userName)).toEqual({ [old.accessKeyId]: 'Active', [fresh]: 'Inactive' });
    expect(await current(secretPath)).toMatchObject({ version: 3, accessKeyId: old.accessKeyId });
    expect(rolledBack.retirement).toMatchObject({ nextPhase: 'delete', ref: { accessKeyId: fresh } });
  });
});

describe('crash safety', () => {
  it('leaves exactly the old and the new key after a crash anywhere and a retry', async () => {
    // The calls of one clean rotation are the places to crash.
    const probe = await iamCredential();
    h.faults.calls.length = 0;
    await runManualRotation(engineWith(fakeIamRotator(), true), probe.id);
    const points = crashPoints(h.faults.calls);

    await sweepCrashes(h, points, {
      engine: () => engineWith(fakeIamRotator(), true),
      prepare: () => iamCredential(),
      attempt: async (engine, { id }) =>
        (await engine.run(await startManualRotation(engine, id, `crash-${id}`))).record,
      // The old key works until the new one is current.
      afterCrash: ({ userName, key: old }, point) => {
        expect(iam.snapshot(userName)[old.accessKeyId], point).toBe('Active');
      },
      verify: async (record, { id, secretPath, userName, key: old }, point) => {
        expect(record.state, point).toBe('succeeded');
        const now = await current(secretPath);
        expect(now.version, point).toBe(2);
        expect(iam.snapshot(userName), point).toEqual({
          [old.accessKeyId]: 'Active',
          [now.accessKeyId ?? '']: 'Active',
        });
        expect(
          await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId),
        ).toBeUndefined();
      },
    });
  }, 180_000);
});

describe('values stay secret', () => {
  it('keeps secret access keys out of records, audit events and events', async () => {
    const { id, secretPath, key: old } = await iamCredential();
    const record = await runManualRotation(engineWith(fakeIamRotator()), id);
    const fresh = (await current(secretPath)).secretAccessKey ?? '';

    const everything = JSON.stringify([record, h.audit.events, h.bus.events]);

    expect(fresh.length).toBeGreaterThan(20);
    expect(everything).not.toContain(fresh);
    expect(everything).not.toContain(old.secretAccessKey);
  });
});
