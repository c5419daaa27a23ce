/**
 * What a submission to an assisted rotation (github-pat) answers when the storage refuses one of
 * its writes (DynamoDB throttling: `DependencyUnavailableError`, a 503 at the API): refused
 * before the commit point (the checkpoint that moves the rotation to `in-progress`), nothing has
 * changed and a retry is a fresh submission; refused after it, the submission is taken and the
 * answer is the rotation as far as it got, which the next run finishes; a retried submission of
 * the same value is answered with the rotation, not refused. The rotation store is the real one
 * on dynalite behind a wrapper that refuses chosen saves.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import type { RotationRecord } from '../../lambdas/core/rotation/rotation.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import type { RotationKey, RotationStore } from '../../lambdas/core/rotation/rotation-store.js';
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
