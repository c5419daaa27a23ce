/**
 * The rotation engine on real parts (dynalite, the secret store, the DynamoDB rotation store)
 * with the `vault-secret` rotator: the four steps and their checkpoints, idempotent retries, a
 * crash at every checkpoint and inside every rotator call followed by a retry, rollback (automatic
 * and on request), one rotation in flight per credential, pair spacing, exemption, dry runs,
 * scheduled starts and windows, and values kept out of records, audit and events.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  DependencyUnavailableError,
  NotFoundError,
  ValidationError,
} from '../../lambdas/core/errors.js';
import { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { runRotationJob } from '../../lambdas/core/rotation/rotation-queue.js';
import { parseRotationPolicySettings } from '../../lambdas/core/rotation/policy.js';
import type { RotationRecord } from '../../lambdas/core/rotation/rotation.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import {
  RotationRefusedError,
  RotationTestFailedError,
  type Rotator,
} from '../../lambdas/core/rotation/rotator.js';
import { createVaultSecretRotator, type VaultSecretSettings } from '../../lambdas/rotators/vault-secret.js';
import {
  credentialId,
  InjectedCrash,
  PERSON,
  policy,
  type RotationHarness,
  ROTATOR_METHODS,
  startRotationHarness,
  SYSTEM,
  TENANT,
} from '../support/rotation-harness.js';

const DAY_MS = 86_400_000;
const OLD_VALUE = { value: 'the-old-value-0123456789', username: 'svc' };

let h: RotationHarness;

beforeAll(async () => {
  h = await startRotationHarness();
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.faults.restart();
});

async function vaultCredential(
  overrides: { tags?: Record<string, string>; policy?: Record<string, unknown>; generator?: unknown } = {},
) {
  const id = credentialId();
  const secretPath = `apps/${id}/token`;
  await h.secrets.write('user:setup', TENANT, secretPath, OLD_VALUE);
  h.targets.add({
    credentialId: id,
    type: 'vault-secret',
    name: `token ${id}`,
    secretPath,
    settings: { generator: overrides.generator ?? { length: 40, field: 'value' } },
    policy: policy(overrides.policy ?? {}),
    tags: overrides.tags ?? {},
    lastRotatedAt: undefined,
    createdAt: new Date(h.clock.now().getTime() - 100 * DAY_MS).toISOString(),
  });
  return { id, secretPath };
}

async function currentOf(path: string) {
  const read = await h.secrets.read(TENANT, path);
  return { version: read.metadata.version, data: read.data };
}

async function pendingExists(id: string, rotationId: string): Promise<boolean> {
  try {
    await h.secrets.readMetadata(TENANT, RotationSecrets.pendingPath(id, rotationId));
    return true;
  } catch (error: unknown) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

function rotators(rotator: Rotator<unknown> = createVaultSecretRotator()) {
  return { 'vault-secret': rotator };
}

async function startAndRun(
  engine: RotationEngine,
  id: string,
  idempotencyKey?: string,
): Promise<RotationRecord> {
  const started = await engine.start({
    tenant: TENANT,
    credentialId: id,
    trigger: 'manual',
    requestedBy: PERSON,
    idempotencyKey,
  });
  if (started.status === 'skipped') throw new Error('skipped');
  return (await engine.run({ tenant: TENANT, credentialId: id, rotationId: started.record.rotationId }))
    .record;
}

describe('a rotation', () => {
  it('goes through create, set, test and finish, leaving one new current version and no pending value', async () => {
    // Prepare
    const { id, secretPath } = await vaultCredential();
    const engine = h.engine(rotators(), { faulty: false });

    // Act
    const record = await startAndRun(engine, id);

    // Assess
    expect(record.state).toBe('succeeded');
    expect(record.steps.map((step) => [step.step, step.status])).toEqual([
      ['create', 'succeeded'],
      ['set', 'succeeded'],
      ['test', 'succeeded'],
      ['finish', 'succeeded'],
    ]);
    for (const step of record.steps)
      expect(Date.parse(step.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(step.startedAt));
    const current = await currentOf(secretPath);
    expect(current.version).toBe(2);
    expect(record.baseVersion).toBe(1);
    expect(record.promotedVersion).toBe(2);
    expect(current.data.value).toHaveLength(40);
    expect(current.data.value).not.toBe(OLD_VALUE.value);
    expect(current.data.username).toBe('svc');
    expect(await pendingExists(id, record.rotationId)).toBe(false);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
    const types = h.bus.events
      .filter((event) => event.detail.rotationId === record.rotationId)
      .map((event) => event.type);
    expect(types).toEqual(['rotation.started', 'rotation.succeeded']);
    const actions = h.audit.events
      .filter((event) => event.reason?.startsWith(record.rotationId))
      .map((event) => event.action);
    expect(actions).toContain('rotation.request');
    expect(actions.filter((action) => action === 'rotation.step')).toHaveLength(5);
    expect(actions).toContain('rotation.succeed');
    expect(
      h.targets.outcomes.filter((entry) => entry.credentialId === id).map((entry) => entry.outcome.kind),
    ).toEqual(['rotating', 'succeeded']);
  });

  it('changes nothing when run again with the same rotation id', async () => {
    const { id, secretPath } = await vaultCredential();
    const engine = h.engine(rotators(), { faulty: false });
    const record = await startAndRun(engine, id);

    const again = await engine.run({ tenant: TENANT, credentialId: id, rotationId: record.rotationId });
    const restarted = await engine.start({
      tenant: TENANT,
      credentialId: id,
      trigger: 'manual',
      requestedBy: PERSON,
      idempotencyKey: 'k-unused',
    });

    expect(again.record.revision).toBe(record.revision);
    expect((await currentOf(secretPath)).version).toBe(2);
    expect(restarted.status).toBe('started');
  });

  it('answers the same rotation for the same idempotency key', async () => {
    const { id } = await vaultCredential();
    const engine = h.engine(rotators(), { faulty: false });
    const request = {
      tenant: TENANT,
      credentialId: id,
      trigger: 'manual' as const,
      requestedBy: PERSON,
      idempotencyKey: 'key-1',
    };

    const first = await engine.start(request);
    h.clock.advance(1000);
    const second = await engine.start(request);

    expect(first.status).toBe('started');
    expect(second.status).toBe('existing');
    if (first.status === 'skipped' || second.status === 'skipped') throw new Error('skipped');
    expect(second.record.rotationId).toBe(first.record.rotationId);
  });
});

describe('a generated secret at a path that holds no value yet', () => {
  /** A vault-secret credential whose path has no version (none written, or metadata only). */
  function emptyVaultCredential(secretPath: string) {
    const id = credentialId();
    h.targets.add({
      credentialId: id,
      type: 'vault-secret',
      name: `token ${id}`,
      secretPath,
      settings: { generator: { length: 40, field: 'value' } },
      policy: policy(),
      tags: {},
      lastRotatedAt: undefined,
      createdAt: new Date(h.clock.now().getTime() - 100 * DAY_MS).toISOString(),
    });
    return id;
  }

  it('gets version 1 from the generator at its first rotation', async () => {
    // Prepare
    const secretPath = `apps/${credentialId()}/fresh`;
    const id = emptyVaultCredential(secretPath);
    const engine = h.engine(rotators(), { faulty: false });

    // Act
    const record = await startAndRun(engine, id);

    // Assess
    expect(record.failure).toBeUndefined();
    expect(record).toMatchObject({ state: 'succeeded', baseVersion: 0, promotedVersion: 1 });
    const current = await currentOf(secretPath);
    expect(current.version).toBe(1);
    expect(Object.keys(current.data)).toEqual(['value']);
    expect(current.data.value).toHaveLength(40);
    expect(await pendingExists(id, record.rotationId)).toBe(false);
  });

  it('also when the path has metadata but no version, keeping the metadata', async () => {
    const secretPath = `apps/${credentialId()}/settings-only`;
    await h.secrets.writeMetadata(TENANT, secretPath, { maxVersions: 3, customMetadata: { team: 'pay' } });
    const id = emptyVaultCredential(secretPath);
    const engine = h.engine(rotators(), { faulty: false });

    const record = await startAndRun(engine, id);

    expect(record.state).toBe('succeeded');
    const metadata = await h.secrets.readMetadata(TENANT, secretPath);
    expect(metadata).toMatchObject({ currentVersion: 1, maxVersions: 3, customMetadata: { team: 'pay' } });
  });

  it('does not overwrite a first value someone wrote during the rotation', async () => {
    const secretPath = `apps/${credentialId()}/raced`;
    const id = emptyVaultCredential(secretPath);
    const racing: Rotator<VaultSecretSettings> = {
      ...createVaultSecretRotator(),
      test: async (context) => {
        await h.secrets.write('user:bob', TENANT, secretPath, { value: 'written-by-hand' });
        return createVaultSecretRotator().test(context);
      },
    };
    const engine = h.engine(rotators(racing), { faulty: false });

    const record = await startAndRun(engine, id);

    expect(record.state).toBe('failed');
    expect(await currentOf(secretPath)).toEqual({ version: 1, data: { value: 'written-by-hand' } });
  });

  it('cannot be rolled back: there is no earlier value to restore', async () => {
    const secretPath = `apps/${credentialId()}/no-previous`;
    const id = emptyVaultCredential(secretPath);
    const engine = h.engine(rotators(), { faulty: false });
    const record = await startAndRun(engine, id);

    const refused = engine.rollback(
      { tenant: TENANT, credentialId: id, rotationId: record.rotationId },
      PERSON,
    );

    await expect(refused).rejects.toThrow(ConflictError);
    await expect(refused).rejects.toThrow(/no earlier value/);
    expect((await currentOf(secretPath)).version).toBe(1);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
  });

  it('still fails at once for a rotator that cannot make a first value', async () => {
    const secretPath = `apps/${credentialId()}/not-generated`;
    const id = emptyVaultCredential(secretPath);
    const plain: Rotator<VaultSecretSettings> = { ...createVaultSecretRotator(), generatesFirstValue: false };
    const engine = h.engine(rotators(plain), { faulty: false });

    const record = await startAndRun(engine, id);

    expect(record.state).toBe('failed');
    expect(record.failure).toContain('holds no readable current value');
  });
});

describe('a start that fails while holding the lock', () => {
  it('frees the lock when the rotation record was not stored, so the next request can start', async () => {
    // Prepare: the lock is taken, then storing the rotation record fails
    const { id } = await vaultCredential();
    const engine = h.engine(rotators());
    h.faults.arm({ point: 'store.create' });

    // Act
    const failed = engine.start({ tenant: TENANT, credentialId: id, trigger: 'manual', requestedBy: PERSON });

    // Assess
    await expect(failed).rejects.toThrow(InjectedCrash);
    expect(h.faults.fired).toBe('store.create');
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
    const again = await startAndRun(h.engine(rotators(), { faulty: false }), id);
    expect(again.state).toBe('succeeded');
  });

  it('keeps the lock when the record was stored and only its answer was lost', async () => {
    // Prepare: the record write happens, then the call fails
    const { id } = await vaultCredential();
    const engine = h.engine(rotators());
    h.faults.arm({ point: 'store.create.after' });

    // Act
    const failed = engine.start({ tenant: TENANT, credentialId: id, trigger: 'manual', requestedBy: PERSON });

    // Assess: the rotation stands and holds its lock
    await expect(failed).rejects.toThrow(InjectedCrash);
    const holder = await h.store.lockHolder(TENANT, id);
    expect(holder).toBeDefined();
    expect(await h.store.get(TENANT, id, holder?.rotationId ?? '')).toMatchObject({ state: 'pending' });
  });
});

describe('crash safety', () => {
  /** The store and rotator calls of one clean rotation, in order: each is a place to crash. */
  async function crashPoints(): Promise<string[]> {
    const { id } = await vaultCredential();
    h.faults.calls.length = 0;
    await startAndRun(h.engine(rotators()), id);
    const calls = [...h.faults.calls];
    const points: string[] = [];
    const counts = new Map<string, number>();
    for (const call of calls) {
      const n = (counts.get(call) ?? 0) + 1;
      counts.set(call, n);
      points.push(`${call}#${n}`);
    }
    return points;
  }

  async function crashThenRetry(point: string, die: boolean): Promise<void> {
    const [name, nth] = point.split('#') as [string, string];
    const { id, secretPath } = await vaultCredential();
    const engine = h.engine(rotators());
    h.faults.arm({ point: name, nth: Number(nth), die });

    let crashed = false;
    try {
      const started = await engine.start({
        tenant: TENANT,
        credentialId: id,
        trigger: 'manual',
        requestedBy: PERSON,
        idempotencyKey: `retry-${id}`,
      });
      if (started.status === 'skipped') throw new Error('skipped');
      await engine.run({ tenant: TENANT, credentialId: id, rotationId: started.record.rotationId });
    } catch (error: unknown) {
      if (!(error instanceof InjectedCrash)) throw error;
      crashed = true;
    }
    expect(crashed, `no crash at ${point}`).toBe(true);

    // Until finish began, the old value is current (and so still works).
    h.faults.restart();
    const listed = await h.store.list(TENANT, id, { limit: 5 });
    const before = listed.items[0];
    if (before?.steps.some((step) => step.step === 'finish') !== true) {
      expect((await currentOf(secretPath)).data).toEqual(OLD_VALUE);
    }

    // A process that died holds the lease until it runs out.
    if (die) h.clock.advance(16 * 60_000);
    const retry = h.engine(rotators());
    let record: RotationRecord;
    if (before === undefined || before.state === 'pending') {
      // The caller retries its request with the same idempotency key: the same rotation.
      record = await startAndRun(retry, id, `retry-${id}`);
    } else {
      // The queue delivers the message again: the same rotation id.
      record = (await retry.run({ tenant: TENANT, credentialId: id, rotationId: before.rotationId })).record;
    }
    expect(record.state, point).toBe('succeeded');
    const current = await currentOf(secretPath);
    expect(current.version, `exactly one new current version after a crash at ${point}`).toBe(2);
    expect(current.data.value).not.toBe(OLD_VALUE.value);
    expect(await pendingExists(id, record.rotationId), `pending left after ${point}`).toBe(false);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
  }

  it('recovers from a crash at every checkpoint and inside every rotator call, once or for good', async () => {
    const points = await crashPoints();
    expect(points.filter((point) => point.startsWith('store.save#')).length).toBeGreaterThanOrEqual(8);
    for (const method of ['create', 'set', 'test', 'finish']) {
      expect(points).toContain(`rotator.${method}.before#1`);
      expect(points).toContain(`rotator.${method}.after#1`);
    }
    for (const point of points) {
      for (const die of [false, true]) {
        await crashThenRetry(point, die).catch((error: unknown) => {
          throw new Error(`crash at ${point}${die ? ' (process died)' : ''}: ${String(error)}`, {
            cause: error,
          });
        });
      }
    }
  }, 180_000);

  it('rolls back when a step keeps failing, and lets a new rotation start', async () => {
    const { id, secretPath } = await vaultCredential();
    const flaky = createVaultSecretRotator();
    const broken: Rotator<VaultSecretSettings> = {
      ...flaky,
      set: async () => {
        throw new Error('provider exploded');
      },
    };
    const engine = h.engine(rotators(broken), { faulty: false, maxStepAttempts: 3 });
    const started = await engine.start({
      tenant: TENANT,
      credentialId: id,
      trigger: 'manual',
      requestedBy: PERSON,
    });
    if (started.status === 'skipped') throw new Error('skipped');
    const key = { tenant: TENANT, credentialId: id, rotationId: started.record.rotationId };

    for (let attempt = 1; attempt <= 3; attempt += 1)
      await expect(engine.run(key)).rejects.toThrow('provider exploded');
    const final = await engine.run(key);

    expect(final.outcome).toBe('failed');
    expect(final.record.failure).toContain('set did not succeed in 3 attempts');
    expect((await currentOf(secretPath)).version).toBe(1);
    expect(await pendingExists(id, key.rotationId)).toBe(false);
    expect((await startAndRun(h.engine(rotators(), { faulty: false }), id)).state).toBe('succeeded');
  });
});

describe('rollback', () => {
  it('discards the pending value when the test fails; the current value stays current', async () => {
    const { id, secretPath } = await vaultCredential();
    const failing: Rotator<VaultSecretSettings> = {
      ...createVaultSecretRotator(),
      test: async () => {
        throw new RotationTestFailedError('the new value was refused');
      },
    };
    const engine = h.engine(rotators(failing), { faulty: false });

    const record = await startAndRun(engine, id);

    expect(record.state).toBe('failed');
    expect(record.failure).toContain('RotationTestFailed');
    expect(record.steps.map((step) => step.step)).toEqual(['create', 'set', 'test', 'rollback']);
    expect(await currentOf(secretPath)).toEqual({ version: 1, data: OLD_VALUE });
    expect(await pendingExists(id, record.rotationId)).toBe(false);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
    const failed = h.bus.events.find(
      (event) => event.type === 'rotation.failed' && event.detail.rotationId === record.rotationId,
    );
    expect(failed?.detail).toMatchObject({ rolledBack: true, step: 'test' });
    expect(h.targets.outcomes.at(-1)?.outcome.kind).toBe('failed');
  });

  it('ends the rotation when the provider refuses the rollback too, keeping the pending value for a person', async () => {
    // Prepare
    const { id, secretPath } = await vaultCredential();
    const refusing: Rotator<VaultSecretSettings> = {
      ...createVaultSecretRotator(),
      test: async () => {
        throw new RotationTestFailedError('the new value was refused');
      },
      discard: async () => {
        throw new RotationRefusedError('the provider cannot take the value back');
      },
    };
    const engine = h.engine(rotators(refusing), { faulty: false });

    // Act
    const record = await startAndRun(engine, id);

    // Assess
    expect(record.state).toBe('failed');
    expect(record.failure).toContain('RotationTestFailed');
    expect(record.steps.at(-1)).toMatchObject({ step: 'rollback', status: 'failed', attempts: 1 });
    expect(record.steps.at(-1)?.outcome).toContain('cannot take the value back');
    expect(await currentOf(secretPath)).toEqual({ version: 1, data: OLD_VALUE });
    expect(await pendingExists(id, record.rotationId)).toBe(true);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
    const reasons = h.audit.events.filter((event) => event.reason?.startsWith(record.rotationId));
    expect(reasons.some((event) => event.reason?.includes('rollback unfinished'))).toBe(true);
  });

  it('restores the previous value on request, once, and only for the latest rotation', async () => {
    const { id, secretPath } = await vaultCredential();
    const engine = h.engine(rotators(), { faulty: false });
    const first = await startAndRun(engine, id);
    h.clock.advance(60_000);
    const second = await startAndRun(engine, id);
    const afterSecond = await currentOf(secretPath);

    await expect(
      engine.rollback({ tenant: TENANT, credentialId: id, rotationId: first.rotationId }, PERSON),
    ).rejects.toThrow(ConflictError);
    const rolledBack = await engine.rollback(
      { tenant: TENANT, credentialId: id, rotationId: second.rotationId },
      PERSON,
    );
    const again = await engine.rollback(
      { tenant: TENANT, credentialId: id, rotationId: second.rotationId },
      PERSON,
    );

    expect(rolledBack.state).toBe('rolled-back');
    expect(again.revision).toBe(rolledBack.revision);
    const current = await currentOf(secretPath);
    expect(current.version).toBe(afterSecond.version + 1);
    expect(current.data).toEqual((await h.secrets.read(TENANT, secretPath, 2)).data);
    expect(
      h.bus.events.some(
        (event) => event.type === 'rotation.rolled-back' && event.detail.rotationId === second.rotationId,
      ),
    ).toBe(true);
  });

  it('fails without rolling back when the provider refuses `finish` after promotion, and frees the credential', async () => {
    const { id, secretPath } = await vaultCredential();
    const refusing: Rotator<VaultSecretSettings> = {
      ...createVaultSecretRotator(),
      finish: async () => {
        throw new RotationRefusedError('the copy of the new value was refused');
      },
    };
    const record = await startAndRun(h.engine(rotators(refusing), { faulty: false }), id);

    // The new value is current (promotion came first); nothing old is retired, no lock is held.
    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^finish: RotationRefused: the copy/);
    expect(record.promotedVersion).toBe(2);
    expect(record.retirement).toBeUndefined();
    expect(record.steps.map((step) => [step.step, step.status])).toEqual([
      ['create', 'succeeded'],
      ['set', 'succeeded'],
      ['test', 'succeeded'],
      ['finish', 'failed'],
    ]);
    expect((await currentOf(secretPath)).version).toBe(2);
    expect(await pendingExists(id, record.rotationId)).toBe(false);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
    const failed = h.bus.events.find(
      (event) => event.type === 'rotation.failed' && event.detail.rotationId === record.rotationId,
    );
    expect(failed?.detail).toMatchObject({ rolledBack: false, step: 'finish' });
    expect(h.targets.outcomes.at(-1)?.outcome.kind).toBe('failed');
    expect(
      h.audit.events.some(
        (event) => event.action === 'rotation.fail' && event.reason?.includes('is current'),
      ),
    ).toBe(true);

    // A person may roll it back (the previous value becomes current again) or rotate again.
    const engine = h.engine(rotators(), { faulty: false });
    const rolledBack = await engine.rollback(
      { tenant: TENANT, credentialId: id, rotationId: record.rotationId },
      PERSON,
    );
    expect(rolledBack.state).toBe('rolled-back');
    expect((await currentOf(secretPath)).data).toEqual(OLD_VALUE);
    expect((await startAndRun(engine, id)).state).toBe('succeeded');
  });

  it('refuses to roll back once the previous version is gone', async () => {
    const { id, secretPath } = await vaultCredential();
    const engine = h.engine(rotators(), { faulty: false });
    const record = await startAndRun(engine, id);
    await h.secrets.destroy(TENANT, secretPath, [1]);

    await expect(
      engine.rollback({ tenant: TENANT, credentialId: id, rotationId: record.rotationId }, PERSON),
    ).rejects.toThrow(/previous version no longer exists/);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
  });
});

describe('rollback when a dependency is unavailable', () => {
  const outage = () => new DependencyUnavailableError('The secret store is unavailable; retry shortly', 1);

  async function rolledOnce() {
    const { id, secretPath } = await vaultCredential();
    const record = await startAndRun(h.engine(rotators(), { faulty: false }), id);
    const before = await h.store.get(TENANT, id, record.rotationId);
    return { id, secretPath, record, before };
  }

  /**
   * A rollback on `store` (which refuses some calls), then the rollback job the API queues for one
   * cut short, run by an engine on the healthy store.
   */
  async function rollBackThenFinish(
    store: typeof h.store,
    rotation: { readonly credentialId: string; readonly rotationId: string },
  ) {
    const engine = new RotationEngine(store, h.targets, rotators(), h.secrets, h.audit, h.bus, h.clock);
    const key = { tenant: TENANT, ...rotation };
    const answered = await engine.rollback(key, PERSON);
    const finished = await runRotationJob(h.engine(rotators(), { faulty: false }), {
      kind: 'rollback',
      ...key,
      requestedBy: PERSON,
    });
    return { answered, finished };
  }

  /** The harness's rotation store, refusing its `refused`-th save (1-based) with an outage. */
  function refusingSave(refused: number) {
    const store = Object.create(h.store) as typeof h.store;
    const counter = { saves: 0 };
    store.save = async (next, revision) => {
      counter.saves += 1;
      return counter.saves === refused ? Promise.reject(outage()) : h.store.save(next, revision);
    };
    return { store, counter };
  }

  it.each([
    ['reading the previous version', { failRead: true, failAudit: false }],
    ['recording the audit event', { failRead: false, failAudit: true }],
  ])(
    'answers 503 and leaves the rotation and the lock as they were when %s fails',
    async (_what, { failRead, failAudit }) => {
      // Prepare: an outage of the secret store's reads or of the audit sink, nothing else.
      const { id, secretPath, record, before } = await rolledOnce();
      const secrets = Object.create(h.secrets) as typeof h.secrets;
      if (failRead) secrets.read = async () => Promise.reject(outage());
      const audit = {
        record: async (event: Parameters<typeof h.audit.record>[0]) =>
          failAudit && event.action === 'rotation.rollback'
            ? Promise.reject(outage())
            : h.audit.record(event),
      };
      const engine = new RotationEngine(h.store, h.targets, rotators(), secrets, audit, h.bus, h.clock);

      // Act
      const error = await engine
        .rollback({ tenant: TENANT, credentialId: id, rotationId: record.rotationId }, PERSON)
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect(await h.store.get(TENANT, id, record.rotationId)).toEqual(before);
      expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
      expect((await h.store.list(TENANT, id, { limit: 10 })).items).toHaveLength(1);
      expect((await currentOf(secretPath)).version).toBe(2);
      // A retry once the outage is over rolls back as usual.
      const retried = await h
        .engine(rotators(), { faulty: false })
        .rollback({ tenant: TENANT, credentialId: id, rotationId: record.rotationId }, PERSON);
      expect(retried.state).toBe('rolled-back');
      expect((await currentOf(secretPath)).data).toEqual(OLD_VALUE);
    },
  );

  it('answers 503 and leaves the rotation as it was when the storage refuses the lease', async () => {
    // Prepare: the first write of the rollback (the lease on the rotation record) is refused.
    const { id, record, before } = await rolledOnce();
    const { store } = refusingSave(1);
    const engine = new RotationEngine(store, h.targets, rotators(), h.secrets, h.audit, h.bus, h.clock);

    // Act
    const error = await engine
      .rollback({ tenant: TENANT, credentialId: id, rotationId: record.rotationId }, PERSON)
      .catch((e: unknown) => e);

    // Assess: nothing written to the record (no lease to give back, so no release either).
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(await h.store.get(TENANT, id, record.rotationId)).toEqual(before);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
  });

  it('once begun, answers the rotation as it stands when the storage refuses a step, and a rollback job finishes it', async () => {
    // Prepare: the write that records the rollback step's end (after the provider and the store
    // took the previous value back) is refused once
    const { id, secretPath, record } = await rolledOnce();
    const { store, counter } = refusingSave(3);

    // Act
    const { answered, finished } = await rollBackThenFinish(store, {
      credentialId: id,
      rotationId: record.rotationId,
    });

    // Assess: no 503 for a rollback under way; the queued job ends it, once
    expect(counter.saves).toBeGreaterThanOrEqual(3);
    expect(answered.state).toBe('succeeded');
    expect(answered.steps.map((step) => step.step)).toContain('rollback');
    expect(answered.lease).toBeUndefined();
    expect(finished).toBe('rolled-back');
    expect((await currentOf(secretPath)).data).toEqual(OLD_VALUE);
    expect((await h.store.get(TENANT, id, record.rotationId))?.state).toBe('rolled-back');
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
  });

  it('once begun, answers the rotation as this executor last wrote it when the storage refuses the read-back too', async () => {
    // Prepare: the write recording the rollback step's end is refused, and so is the read of the
    // record after it.
    const { id, secretPath, record } = await rolledOnce();
    const { store, counter } = refusingSave(3);
    let refusedRead = false;
    store.get = async (...args: Parameters<typeof h.store.get>) => {
      if (counter.saves >= 4 && !refusedRead) {
        refusedRead = true;
        return Promise.reject(outage());
      }
      return h.store.get(...args);
    };

    // Act
    const { answered, finished } = await rollBackThenFinish(store, {
      credentialId: id,
      rotationId: record.rotationId,
    });

    // Assess: no 503 after the previous value went back; the queued job ends the rollback.
    expect(refusedRead).toBe(true);
    expect(answered.state).toBe('succeeded');
    expect(answered.steps.map((step) => step.step)).toContain('rollback');
    expect(finished).toBe('rolled-back');
    expect((await currentOf(secretPath)).data).toEqual(OLD_VALUE);
    expect((await h.store.get(TENANT, id, record.rotationId))?.state).toBe('rolled-back');
  });
});

describe('concurrency and gates', () => {
  it('lets only one of two concurrent rotations of one credential start', async () => {
    const { id } = await vaultCredential();
    const engine = h.engine(rotators(), { faulty: false });
    const request = { tenant: TENANT, credentialId: id, trigger: 'manual' as const, requestedBy: PERSON };

    const results = await Promise.allSettled([
      engine.start(request),
      engine.start(request),
      engine.start(request),
    ]);

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results.filter((entry) => entry.status === 'rejected')) {
      expect(result.reason).toBeInstanceOf(ConflictError);
    }
  });

  it('lets only one of two concurrent executors of one rotation work on it', async () => {
    const { id, secretPath } = await vaultCredential();
    const engine = h.engine(rotators(), { faulty: false });
    const started = await engine.start({
      tenant: TENANT,
      credentialId: id,
      trigger: 'manual',
      requestedBy: PERSON,
    });
    if (started.status === 'skipped') throw new Error('skipped');
    const key = { tenant: TENANT, credentialId: id, rotationId: started.record.rotationId };

    const results = await Promise.allSettled([engine.run(key), engine.run(key)]);

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect((await engine.run(key)).record.state).toBe('succeeded');
    expect((await currentOf(secretPath)).version).toBe(2);
  });

  it('keeps paired credentials apart by the policy spacing', async () => {
    const tags = { 'vaultpilot:rotation-pair': 'db-primary' };
    const a = await vaultCredential({ tags, policy: { pairSpacingMinutes: 30 } });
    const b = await vaultCredential({ tags, policy: { pairSpacingMinutes: 30 } });
    const engine = h.engine(rotators(), { faulty: false });

    await startAndRun(engine, a.id);
    await expect(startAndRun(engine, b.id)).rejects.toThrow(/rotate at least 30 minutes apart/);
    h.clock.advance(31 * 60_000);
    expect((await startAndRun(engine, b.id)).state).toBe('succeeded');
  });

  it('refuses exempt credentials and skips them when scheduled', async () => {
    const { id } = await vaultCredential({ tags: { 'vaultpilot:rotation-exempt': 'true' } });
    const engine = h.engine(rotators(), { faulty: false });

    await expect(startAndRun(engine, id)).rejects.toThrow(/exemption tag/);
    expect(
      await engine.start({ tenant: TENANT, credentialId: id, trigger: 'schedule', requestedBy: SYSTEM }),
    ).toEqual({
      status: 'skipped',
      reason: 'exempt',
    });
  });

  it('starts a scheduled rotation only when due and inside the window, once per due period', async () => {
    const { id } = await vaultCredential({
      policy: { window: { schedule: 'cron(0 2 * * ? *)', duration: '3h' } },
    });
    const engine = h.engine(rotators(), { faulty: false });
    const request = { tenant: TENANT, credentialId: id, trigger: 'schedule' as const, requestedBy: SYSTEM };

    h.clock.set('2026-01-16T12:00:00.000Z');
    expect(await engine.start(request)).toEqual({ status: 'skipped', reason: 'outside window' });
    h.clock.set('2026-01-17T03:30:00.000Z');
    const first = await engine.start(request);
    const second = await engine.start(request);

    expect(first.status).toBe('started');
    expect(second.status).toBe('existing');
  });

  it('gives a scheduled retry after a failure (a new due time) a new rotation', async () => {
    const { id } = await vaultCredential();
    const failing: Rotator<VaultSecretSettings> = {
      ...createVaultSecretRotator(),
      test: async () => {
        throw new RotationTestFailedError('refused');
      },
    };
    const engine = h.engine(rotators(failing), { faulty: false });
    const request = { tenant: TENANT, credentialId: id, trigger: 'schedule' as const, requestedBy: SYSTEM };

    const first = await engine.start({ ...request, dueAt: '2026-01-10T00:00:00.000Z' });
    if (first.status === 'skipped') throw new Error('skipped');
    await engine.run({ tenant: TENANT, credentialId: id, rotationId: first.record.rotationId });
    const again = await engine.start({ ...request, dueAt: '2026-01-10T00:00:00.000Z' });
    const retry = await engine.start({ ...request, dueAt: '2026-01-11T00:00:00.000Z' });

    expect(again.status).toBe('existing');
    expect(retry.status).toBe('started');
    if (retry.status === 'skipped') throw new Error('skipped');
    expect(retry.record.rotationId).not.toBe(first.record.rotationId);
  });

  it('records a dry run without changing anything', async () => {
    const { id, secretPath } = await vaultCredential({ policy: { dryRun: true } });
    const engine = h.engine(rotators(), { faulty: false });

    const record = await startAndRun(engine, id);

    expect(record).toMatchObject({ state: 'succeeded', dryRun: true });
    expect(record.steps.map((step) => step.step)).toEqual(['preflight']);
    expect(record.steps[0]?.outcome).toContain('would generate value');
    expect(await currentOf(secretPath)).toEqual({ version: 1, data: OLD_VALUE });
  });
});

describe('values stay secret', () => {
  it('never puts a value into a record, an audit event or an event', async () => {
    const { id, secretPath } = await vaultCredential();
    const engine = h.engine(rotators(), { faulty: false });
    const record = await startAndRun(engine, id);
    const newValue = (await currentOf(secretPath)).data.value ?? '';

    const everything = JSON.stringify([
      record,
      h.audit.events,
      h.bus.events,
      await h.store.list(TENANT, id, { limit: 10 }),
    ]);

    expect(newValue.length).toBe(40);
    expect(everything).not.toContain(newValue);
    expect(everything).not.toContain(OLD_VALUE.value);
  });
});

describe('rotation policies', () => {
  it.each([
    [{ deactivateAfterDays: -1 }, 'deactivateAfterDays'],
    [{ deleteAfterDays: -3 }, 'deleteAfterDays'],
    [{ rotator: 'ftp-password' }, 'rotator'],
    [{ intervalDays: 1, window: { schedule: 'rate(7 days)', duration: '2h' } }, 'window.schedule'],
    [{ intervalDays: 1, window: { schedule: 'rate(1 hour)', duration: '25h' } }, 'window.duration'],
    [{ intervalDays: 30, window: { schedule: 'cron(0 2 1 1 ? *)', duration: '2h' } }, 'window.schedule'],
    [{ window: { schedule: 'every tuesday', duration: '2h' } }, 'window.schedule'],
    [{ intervalDays: 90, extra: true }, ''],
  ])('refuses %j', (settings, path) => {
    let caught: unknown;
    try {
      parseRotationPolicySettings(settings);
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const issues = (caught as ValidationError).details?.issues as { path: string }[];
    expect(issues.map((issue) => issue.path)).toContain(path);
  });

  it('fills the defaults of AWS’s IAM key rotation sample', () => {
    expect(parseRotationPolicySettings({})).toMatchObject({
      intervalDays: 90,
      deactivateAfterDays: 10,
      deleteAfterDays: 10,
      nonUseGateHours: 24,
      dryRun: false,
    });
    expect(
      parseRotationPolicySettings({ window: { schedule: 'cron(0 2 ? * SUN *)', duration: 4 } }).window,
    ).toEqual({
      schedule: 'cron(0 2 ? * SUN *)',
      duration: 4,
    });
  });

  it('has every rotator method wrapped by the fault injector', () => {
    expect(ROTATOR_METHODS).toEqual(['create', 'set', 'test', 'finish', 'discard', 'restore', 'retire']);
  });
});
