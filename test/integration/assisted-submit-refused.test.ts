/**
 * What a submission to an assisted rotation (github-pat) answers when the storage refuses one of
 * its writes (DynamoDB throttling: `DependencyUnavailableError`, a 503 at the API): refused
 * before the commit point (the checkpoint that moves the rotation to `in-progress`), nothing has
 * changed and a retry is a fresh submission; refused after it, the submission is taken and the
 * answer is the rotation as far as it got, which the next run finishes; a retried submission of
 * the same value is answered with the rotation, not refused. When the commit is refused and its
 * outcome cannot be read at once, or the take-back of the stored value is refused, both are tried
 * again before the answer. With a deadline (when the API stops waiting), the commit does not
 * begin too close to it, and a committed submission is answered `in-progress` when it comes; the
 * rotation is finished by a later run. The rotation store and the secret store are the real ones
 * on dynalite behind wrappers that refuse chosen calls.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { RotationEngine, type RotationEngineOptions } from '../../lambdas/core/rotation/engine.js';
import type { RotationRecord } from '../../lambdas/core/rotation/rotation.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import type { RotationKey, RotationStore } from '../../lambdas/core/rotation/rotation-store.js';
import { runRotationJob } from '../../lambdas/core/rotation/rotation-queue.js';
import type { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { createGithubPatRotator } from '../../lambdas/rotators/github-pat.js';
import { FakeGithub } from '../support/fake-github.js';
import {
  PERSON,
  policy,
  type RotationHarness,
  startRotationHarness,
  SYSTEM,
  TENANT,
} from '../support/rotation-harness.js';

const DAY = 24 * 3_600_000;

let h: RotationHarness;
let github: FakeGithub;

beforeAll(async () => {
  h = await startRotationHarness();
  github = new FakeGithub(() => h.clock.now().getTime());
  await github.start();
});

afterAll(async () => {
  await github.close();
  await h.close();
});

beforeEach(() => {
  h.faults.restart();
});

/**
 * Which rotation saves the storage refuses: `refuse(record)` true makes that save throw as a
 * throttled DynamoDB call does; `applied` stores it first (a refused call that landed anyway).
 */
interface SaveRefusal {
  refuse: (record: RotationRecord) => boolean;
  applied?: boolean;
}

function refusingStore(refusal: { current: SaveRefusal | undefined }): RotationStore {
  const inner = h.store;
  return Object.assign(Object.create(inner) as RotationStore, {
    save: async (record: RotationRecord, revision: number) => {
      const plan = refusal.current;
      if (plan !== undefined && plan.refuse(record)) {
        refusal.current = undefined;
        if (plan.applied === true) await inner.save(record, revision);
        throw new DependencyUnavailableError('The rotation store is unavailable; retry shortly', 1);
      }
      return inner.save(record, revision);
    },
  });
}

function engineWith(refusal: { current: SaveRefusal | undefined } = { current: undefined }): RotationEngine {
  return new RotationEngine(
    refusingStore(refusal),
    h.targets,
    { 'github-pat': createGithubPatRotator({ allowHttpLoopback: true }) },
    h.secrets,
    h.audit,
    h.bus,
    h.clock,
  );
}

/** The error a throttled DynamoDB call ends with in the adapters. */
const throttled = () => new DependencyUnavailableError('The rotation store is unavailable; retry shortly', 1);

/**
 * An engine over wrappers of the real stores: each given method replaces the store's own (the
 * inner store is passed to call through).
 */
function engineOf(parts: {
  store?: (inner: RotationStore) => Partial<RotationStore>;
  secrets?: (inner: SecretsService) => Partial<SecretsService>;
  options?: RotationEngineOptions;
}): RotationEngine {
  const store = Object.assign(Object.create(h.store) as RotationStore, parts.store?.(h.store));
  const secrets = Object.assign(Object.create(h.secrets) as SecretsService, parts.secrets?.(h.secrets));
  return new RotationEngine(
    store,
    h.targets,
    { 'github-pat': createGithubPatRotator({ allowHttpLoopback: true }) },
    secrets,
    h.audit,
    h.bus,
    h.clock,
    parts.options,
  );
}

/** A store that refuses the commit (the save to `in-progress`), then `after` decides the rest. */
function refusedCommit(after: { get?: () => boolean }): (inner: RotationStore) => Partial<RotationStore> {
  let refused = false;
  return (inner) => ({
    save: async (record, revision) => {
      if (!refused && record.state === 'in-progress') {
        refused = true;
        throw throttled();
      }
      return inner.save(record, revision);
    },
    get: async (tenant, credentialId, rotationId) => {
      if (refused && after.get?.() === true) throw throttled();
      return inner.get(tenant, credentialId, rotationId);
    },
  });
}

/** Refuses the first `n` calls, then lets them through. */
function first(n: number): () => boolean {
  let calls = 0;
  return () => {
    calls += 1;
    return calls <= n;
  };
}

let count = 0;
async function waitingRotation(): Promise<{ key: RotationKey; secretPath: string }> {
  count += 1;
  const secretPath = `github/submit-${count}`;
  const credentialId = await h.addCredential(
    {
      type: 'github-pat',
      name: `PAT ${count}`,
      secretPath,
      owner: 'alice@example.com',
      expiresAt: new Date(h.clock.now().getTime() + 10 * DAY).toISOString(),
      settings: { github: { baseUrl: github.baseUrl } },
      policy: policy(),
    },
    { token: 'github_pat_11AAAAAAA0old_token_value_000000000000' },
  );
  const engine = engineWith();
  const started = await engine.start({
    tenant: TENANT,
    credentialId,
    trigger: 'schedule',
    requestedBy: SYSTEM,
    dueAt: h.clock.now().toISOString(),
  });
  if (started.status === 'skipped') throw new Error(`skipped: ${started.reason}`);
  const key = { tenant: TENANT, credentialId, rotationId: started.record.rotationId };
  expect((await engine.run(key)).outcome).toBe('awaiting-input');
  return { key, secretPath };
}

function newToken(): string {
  count += 1;
  const token = `github_pat_11CCCCCCC0new_token_${count.toString().padStart(6, '0')}_yyyyyyyyyyyy`;
  github.pats.set(token, { login: 'alice', expiresAt: h.clock.now().getTime() + 90 * DAY });
  return token;
}

const pending = (key: RotationKey) =>
  new RotationSecrets(h.secrets, TENANT).readPending(key.credentialId, key.rotationId);

const stored = async (key: RotationKey) => {
  const record = await h.store.get(key.tenant, key.credentialId, key.rotationId);
  if (record === undefined) throw new Error('the rotation exists');
  return record;
};

describe('a submission the storage refuses', () => {
  it('before its commit point: 503, nothing changed, the rotation still waits, and a retry is taken', async () => {
    // Prepare: the checkpoint that moves the rotation on is refused.
    const { key, secretPath } = await waitingRotation();
    const before = await stored(key);
    const token = newToken();
    const refusal = { current: { refuse: (record: RotationRecord) => record.state === 'in-progress' } };

    // Act
    const refused = await engineWith(refusal)
      .submit(key, { token }, PERSON)
      .catch((error: unknown) => error);
    const after = await stored(key);
    const leftOver = await pending(key);
    const waits = await engineWith().run(key);
    const retried = await engineWith().submit(key, { token }, PERSON);

    // Assess
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect(after).toEqual(before);
    expect(leftOver).toBeUndefined();
    expect(waits.outcome).toBe('awaiting-input');
    expect(retried.state).toBe('succeeded');
    expect((await h.secrets.read(TENANT, secretPath)).data.token).toBe(token);
  });

  it('after its commit point: answered with the rotation in progress, which the next run finishes', async () => {
    // Prepare: the first save after the commit (the run taking its lease) is refused.
    const { key, secretPath } = await waitingRotation();
    const token = newToken();
    let committed = false;
    const refusal = {
      current: {
        refuse: (record: RotationRecord) => {
          if (committed) return true;
          committed = record.state === 'in-progress';
          return false;
        },
      },
    };

    // Act
    const answered = await engineWith(refusal).submit(key, { token }, PERSON);
    const taken = await pending(key);
    // The next scheduled run (another due time, so another rotation id) finds it and resumes it.
    h.clock.advance(15 * 60_000);
    const engine = engineWith();
    const rescheduled = await engine.start({
      tenant: TENANT,
      credentialId: key.credentialId,
      trigger: 'schedule',
      requestedBy: SYSTEM,
      dueAt: h.clock.now().toISOString(),
    });
    if (rescheduled.status === 'skipped') throw new Error(`skipped: ${rescheduled.reason}`);
    const resumed = await engine.run({ ...key, rotationId: rescheduled.record.rotationId });

    // Assess
    expect(answered.state).toBe('in-progress');
    expect(taken?.token).toBe(token);
    expect(rescheduled).toMatchObject({ status: 'existing', record: { rotationId: key.rotationId } });
    expect(resumed.outcome).toBe('succeeded');
    expect((await h.secrets.read(TENANT, secretPath)).data.token).toBe(token);
  });

  it('after its commit point, with every later call refused: answered with the rotation as committed', async () => {
    // Prepare: after the commit, the storage refuses every save and every read of the rotation.
    const { key } = await waitingRotation();
    const token = newToken();
    let committed = false;
    const engine = engineOf({
      store: (inner) => ({
        save: async (record, revision) => {
          if (committed) throw throttled();
          await inner.save(record, revision);
          committed = record.state === 'in-progress';
        },
        get: async (tenant, credentialId, rotationId) => {
          if (committed) throw throttled();
          return inner.get(tenant, credentialId, rotationId);
        },
      }),
    });

    // Act
    const answered = await engine.submit(key, { token }, PERSON);

    // Assess: taken, so not a 503; the rotation stands as committed.
    expect(answered.state).toBe('in-progress');
    expect(await stored(key)).toEqual(answered);
    expect((await pending(key))?.token).toBe(token);
  });

  it('whose commit was stored although the call failed: goes on, and answers the finished rotation', async () => {
    // Prepare
    const { key, secretPath } = await waitingRotation();
    const token = newToken();
    const refusal = {
      current: { refuse: (record: RotationRecord) => record.state === 'in-progress', applied: true },
    };

    // Act
    const answered = await engineWith(refusal).submit(key, { token }, PERSON);

    // Assess
    expect(answered.state).toBe('succeeded');
    expect((await h.secrets.read(TENANT, secretPath)).data.token).toBe(token);
  });
});

describe('a retried submission', () => {
  it('of the value the rotation took is answered with the rotation; another value is refused', async () => {
    // Prepare
    const { key } = await waitingRotation();
    const token = newToken();
    const first = await engineWith().submit(key, { token }, PERSON);

    // Act
    const again = await engineWith().submit(key, { token }, PERSON);
    const other = await engineWith()
      .submit(key, { token: newToken() }, PERSON)
      .catch((error: unknown) => error);

    // Assess
    expect(first.state).toBe('succeeded');
    expect(again).toEqual(first);
    expect(other).toBeInstanceOf(ConflictError);
  });
});

describe('a refused commit whose outcome or take-back the storage refuses too', () => {
  it('reads the outcome again while the read is refused, then takes the value back: 503, nothing left', async () => {
    // Prepare: the commit and the next two reads of the rotation are refused.
    const { key } = await waitingRotation();
    const before = await stored(key);
    const token = newToken();
    const engine = engineOf({ store: refusedCommit({ get: first(2) }) });

    // Act
    const refused = await engine.submit(key, { token }, PERSON).catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect(await stored(key)).toEqual(before);
    expect(await pending(key)).toBeUndefined();
  });

  it('takes the value back again while the take-back is refused: 503, nothing left', async () => {
    // Prepare: the commit is refused, then the first two removals of the pending value.
    const { key } = await waitingRotation();
    const before = await stored(key);
    const token = newToken();
    let committed = false;
    const removals = first(2);
    const engine = engineOf({
      store: (inner) => ({
        save: async (record, revision) => {
          if (record.state === 'in-progress') {
            committed = true;
            throw throttled();
          }
          return inner.save(record, revision);
        },
      }),
      secrets: (inner) => ({
        deleteAll: async (tenant, path) => {
          if (committed && removals()) throw throttled();
          return inner.deleteAll(tenant, path);
        },
      }),
    });

    // Act
    const refused = await engine.submit(key, { token }, PERSON).catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect(await stored(key)).toEqual(before);
    expect(await pending(key)).toBeUndefined();
  });

  it('takes back a value whose refused write landed all the same: 503, nothing left', async () => {
    // Prepare: the pending value's write is stored, yet the call fails.
    const { key } = await waitingRotation();
    const before = await stored(key);
    const token = newToken();
    const engine = engineOf({
      secrets: (inner) => ({
        write: async (...args: Parameters<SecretsService['write']>) => {
          await inner.write(...args);
          throw throttled();
        },
      }),
    });

    // Act
    const refused = await engine.submit(key, { token }, PERSON).catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect(await stored(key)).toEqual(before);
    expect(await pending(key)).toBeUndefined();
  });

  it('leaves the value pending when the storage refuses every read, and the next submission replaces it', async () => {
    // Prepare: after the refused commit, every read of the rotation is refused.
    const { key, secretPath } = await waitingRotation();
    const before = await stored(key);
    const token = newToken();
    const engine = engineOf({ store: refusedCommit({ get: () => true }) });

    // Act
    const refused = await engine.submit(key, { token }, PERSON).catch((error: unknown) => error);
    const after = await stored(key);
    const leftOver = await pending(key);
    const other = newToken();
    const retried = await engineWith().submit(key, { token: other }, PERSON);

    // Assess: the outcome stayed unknown, so nothing was taken back; harmless, as the rotation
    // still waits (a pending value is never read then) and the next submission discards it.
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect(after).toEqual(before);
    expect(leftOver?.token).toBe(token);
    expect(retried.state).toBe('succeeded');
    expect((await h.secrets.read(TENANT, secretPath)).data.token).toBe(other);
  });
});

describe('a submission with a deadline', () => {
  const RESERVE_MS = 1_000;

  it('too near to begin the commit: 503 before anything is written', async () => {
    // Prepare
    const { key } = await waitingRotation();
    const before = await stored(key);
    const token = newToken();
    const writes: string[] = [];
    const engine = engineOf({
      options: { submitReserveMs: RESERVE_MS },
      secrets: (inner) => ({
        write: (...args: Parameters<SecretsService['write']>) => {
          writes.push(args[2]);
          return inner.write(...args);
        },
      }),
    });
    const deadline = new Date(h.clock.now().getTime() + RESERVE_MS - 1);

    // Act
    const refused = await engine
      .submit(key, { token }, PERSON, { deadline })
      .catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect((refused as DependencyUnavailableError).message).toMatch(/in time/);
    expect(writes).toEqual([]);
    expect(await stored(key)).toEqual(before);
    expect(await pending(key)).toBeUndefined();
  });

  it('that comes near while the value is stored: no commit, the value taken back, 503', async () => {
    // Prepare: storing the value takes so long that the reserve is no longer left.
    const { key } = await waitingRotation();
    const before = await stored(key);
    const token = newToken();
    const engine = engineOf({
      options: { submitReserveMs: RESERVE_MS },
      secrets: (inner) => ({
        write: async (...args: Parameters<SecretsService['write']>) => {
          const written = await inner.write(...args);
          h.clock.advance(RESERVE_MS);
          return written;
        },
      }),
    });
    const deadline = new Date(h.clock.now().getTime() + RESERVE_MS + 500);

    // Act
    const refused = await engine
      .submit(key, { token }, PERSON, { deadline })
      .catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect(await stored(key)).toEqual(before);
    expect(await pending(key)).toBeUndefined();
  });

  it('reached after the commit: answered in progress at once, and a later run finishes the rotation', async () => {
    // Prepare: after the commit, every save hangs until the test lets it be refused (a call the
    // storage is slow to refuse), so the run cannot end before the deadline.
    const { key, secretPath } = await waitingRotation();
    const token = newToken();
    let committed = false;
    let refusedAfterCommit = 0;
    let release: (() => void) | undefined;
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    const engine = engineOf({
      options: { submitReserveMs: RESERVE_MS },
      store: (inner) => ({
        save: async (record, revision) => {
          if (committed) {
            await hung;
            refusedAfterCommit += 1;
            throw throttled();
          }
          await inner.save(record, revision);
          committed = record.state === 'in-progress';
        },
      }),
    });
    // The fake clock stands still: the deadline comes after RESERVE_MS + 100 ms of real time.
    const deadline = new Date(h.clock.now().getTime() + RESERVE_MS + 100);

    // Act
    const answered = await engine.submit(key, { token }, PERSON, { deadline });
    const whenAnswered = await stored(key);
    const taken = await pending(key);
    release?.();
    // The abandoned run gives up: its lease refused, it writes nothing more (no lease to give
    // back) ...
    await expect.poll(() => refusedAfterCommit, { timeout: 5_000 }).toBe(1);
    // ... and the run the API queued (or a scheduled one) resumes the rotation.
    const resumed = await runRotationJob(engineWith(), { kind: 'run', ...key });

    // Assess
    expect(answered.state).toBe('in-progress');
    expect(answered.revision).toBe(whenAnswered.revision);
    expect(whenAnswered.state).toBe('in-progress');
    expect(taken?.token).toBe(token);
    expect(resumed).toBe('succeeded');
    expect(refusedAfterCommit).toBe(1);
    expect((await stored(key)).state).toBe('succeeded');
    expect((await h.secrets.read(TENANT, secretPath)).data.token).toBe(token);
  });
});
