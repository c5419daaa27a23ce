/**
 * Assisted rotation of a `github-pat` (fine-grained personal access token) driven by the rotation
 * engine on dynalite against a local HTTP server answering GitHub's `GET /user` shapes
 * (test/support/fake-github.ts): the rotation opens 30 days before the expiry and waits for a
 * person, reminders escalate (30, 7, 1 days, then overdue to the second contact), a submitted
 * token is checked with `GET /user` (200 accepts it and its expiry header becomes the credential's
 * expiry; 401 and 403 refuse it and nothing changes), and a crash anywhere in a submission
 * followed by a retry leaves one current version and nothing pending.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../lambdas/core/errors.js';
import type { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import type { RotationKey } from '../../lambdas/core/rotation/rotation-store.js';
import { createGithubPatRotator, tokenExpiration } from '../../lambdas/rotators/github-pat.js';
import { FakeGithub } from '../support/fake-github.js';
import {
  crashPoints,
  PERSON,
  policy,
  type RotationHarness,
  startRotationHarness,
  sweepCrashes,
  SYSTEM,
  TENANT,
} from '../support/rotation-harness.js';

const DAY = 24 * 3_600_000;
const OLD_TOKEN = 'github_pat_11AAAAAAA0old_token_value_000000000000';

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
  github.failWith = undefined;
  github.calls.length = 0;
  h.bus.events.length = 0;
});

const engineWith = (faulty = false): RotationEngine =>
  h.engine({ 'github-pat': createGithubPatRotator({ allowHttpLoopback: true }) }, { faulty });

let count = 0;
async function patCredential(expiresInDays: number) {
  count += 1;
  const secretPath = `github/pat-${count}`;
  const expiresAt = new Date(h.clock.now().getTime() + expiresInDays * DAY).toISOString();
  const id = await h.addCredential(
    {
      type: 'github-pat',
      name: `deploy PAT ${count}`,
      secretPath,
      owner: 'alice@example.com',
      expiresAt,
      settings: { github: { baseUrl: github.baseUrl }, assisted: { secondContact: 'sec-team@example.com' } },
      policy: policy(),
    },
    { token: OLD_TOKEN },
  );
  return { id, secretPath, expiresAt };
}

/** A new token GitHub knows, expiring in `days` (no expiry when undefined). */
function newToken(days: number | undefined, extra: { forbidden?: boolean } = {}): string {
  count += 1;
  const token = `github_pat_11BBBBBBB0new_token_${count.toString().padStart(6, '0')}_xxxxxxxxxxxx`;
  github.pats.set(token, {
    login: 'alice',
    ...(days === undefined ? {} : { expiresAt: h.clock.now().getTime() + days * DAY }),
    ...extra,
  });
  return token;
}

async function scheduled(engine: RotationEngine, credentialId: string) {
  const target = await h.targets.load(TENANT, credentialId);
  return engine.start({
    tenant: TENANT,
    credentialId,
    trigger: 'schedule',
    requestedBy: SYSTEM,
    dueAt: new Date(Date.parse(target?.expiresAt ?? '') - 30 * DAY).toISOString(),
  });
}

/** Opens the rotation of a credential that is due (scheduled) and runs it to its wait. */
async function openRotation(credentialId: string, engine = engineWith()): Promise<RotationKey> {
  const started = await scheduled(engine, credentialId);
  if (started.status === 'skipped') throw new Error(`skipped: ${started.reason}`);
  const key = { tenant: TENANT, credentialId, rotationId: started.record.rotationId };
  const { outcome } = await engine.run(key);
  expect(outcome).toBe('awaiting-input');
  return key;
}

async function current(path: string) {
  const read = await h.secrets.read(TENANT, path);
  return { version: read.metadata.version, data: read.data };
}

const reminders = (credentialId: string) =>
  h.bus.events
    .filter((event) => event.detail.credentialId === credentialId)
    .map((event) => ({
      type: event.type,
      stage: event.detail.stage,
      contacts: event.detail.contacts,
      escalated: event.detail.escalated,
    }));

describe('a github-pat rotation opens ahead of the expiry and reminds people', () => {
  it('is not due until 30 days before the expiry, then waits and escalates 30, 7, 1 days, overdue', async () => {
    // Prepare
    const { id, secretPath } = await patCredential(45);
    const engine = engineWith();
    // Act / Assess: 45 days left is not due yet.
    expect(await scheduled(engine, id)).toEqual({ status: 'skipped', reason: 'not due' });
    h.clock.advance(15 * DAY + 60_000);
    const key = await openRotation(id, engine);
    expect((await engine.get(key))?.state).toBe('awaiting-input');
    expect(reminders(id)).toEqual([
      {
        type: 'rotation.awaiting-input',
        stage: undefined,
        contacts: ['alice@example.com'],
        escalated: false,
      },
      { type: 'rotation.reminder', stage: '30d', contacts: ['alice@example.com'], escalated: false },
    ]);

    // A later run the same day sends nothing new; each later stage sends one reminder.
    const stages: unknown[] = [];
    for (const [advanceDays, stage] of [
      [1, undefined],
      [22, '7d'],
      [1, undefined],
      [5.5, '1d'],
      [1, 'overdue'],
      [3, undefined],
    ] as const) {
      h.bus.events.length = 0;
      h.clock.advance(advanceDays * DAY);
      const again = await scheduled(engine, id);
      expect(again.status).toBe('existing');
      expect((await engine.run(key)).outcome).toBe('awaiting-input');
      stages.push(reminders(id).map((event) => event.stage)[0]);
      if (stage === 'overdue') {
        expect(reminders(id)).toEqual([
          {
            type: 'rotation.reminder',
            stage: 'overdue',
            contacts: ['alice@example.com', 'sec-team@example.com'],
            escalated: true,
          },
        ]);
      }
    }
    expect(stages).toEqual([undefined, '7d', undefined, '1d', 'overdue', undefined]);
    // Waiting changes nothing: the old token stays current and nothing is pending.
    expect((await current(secretPath)).version).toBe(1);
    expect(await new RotationSecrets(h.secrets, TENANT).readPending(id, key.rotationId)).toBeUndefined();
  });

  it('takes any expiry date, years ahead (no 365-day cap)', async () => {
    // Prepare
    const { id } = await patCredential(3 * 365);
    // Act
    const notYet = await scheduled(engineWith(), id);
    h.clock.advance((3 * 365 - 29) * DAY);
    const key = await openRotation(id);
    // Assess
    expect(notYet.status).toBe('skipped');
    expect((await engineWith().get(key))?.state).toBe('awaiting-input');
  });
});

describe('submitting the new token', () => {
  it('checks it with GET /user, makes it current and takes its expiry from the response header', async () => {
    // Prepare
    const { id, secretPath } = await patCredential(20);
    const engine = engineWith();
    const key = await openRotation(id, engine);
    const token = newToken(90);
    github.calls.length = 0;
    // Act
    const record = await engine.submit(key, { token }, PERSON);
    // Assess
    expect(record.state).toBe('succeeded');
    const now = await current(secretPath);
    expect(now.version).toBe(2);
    expect(now.data.token).toBe(token);
    const expected = new Date(Math.floor((h.clock.now().getTime() + 90 * DAY) / 1000) * 1000).toISOString();
    expect(now.data.expiresAt).toBe(expected);
    expect((await h.targets.load(TENANT, id))?.expiresAt).toBe(expected);
    expect(github.calls).toEqual(['GET /user', 'GET /user']);
    const submitted = h.audit.events.filter((event) => event.action === 'rotation.submit');
    expect(submitted.map((event) => [event.outcome, event.actor.id])).toEqual([['allowed', 'sub-alice']]);
    expect(h.bus.events.map((event) => event.type)).toContain('rotation.succeeded');
  });

  it('refuses a token GitHub answers 401 or 403 for with the reason; the rotation stays open', async () => {
    // Prepare
    const { id, secretPath } = await patCredential(10);
    const engine = engineWith();
    const key = await openRotation(id, engine);
    const expired = newToken(-1);
    const blocked = newToken(60, { forbidden: true });
    const unknown = 'github_pat_11CCCCCCC0never_issued_by_github_0000000';
    const cases = [
      [expired, /401 Bad credentials/],
      [unknown, /401 Bad credentials/],
      [blocked, /403 Forbidden/],
    ] as const;
    for (const [token, reason] of cases) {
      // Two refusals in the same millisecond are one audit record (engine audit ids derive from time).
      h.clock.advance(1000);
      // Act
      const refusal = await engine.submit(key, { token }, PERSON).catch((error: unknown) => error);
      // Assess
      expect(refusal).toBeInstanceOf(ValidationError);
      expect((refusal as ValidationError).message).toMatch(reason);
      expect((refusal as ValidationError).message).not.toContain(token);
      expect((refusal as ValidationError).details).toEqual({ reason: 'RotationTestFailed' });
      const record = await engine.get(key);
      expect(record?.state).toBe('awaiting-input');
      expect(record?.lease).toBeUndefined();
      expect((await current(secretPath)).version).toBe(1);
      expect(await new RotationSecrets(h.secrets, TENANT).readPending(id, key.rotationId)).toBeUndefined();
    }
    expect(
      h.audit.events.filter(
        (event) => event.action === 'rotation.submit' && event.target.credentialId === id,
      ),
    ).toHaveLength(3);
    // A good token afterwards still finishes the rotation.
    expect((await engine.submit(key, { token: newToken(30) }, PERSON)).state).toBe('succeeded');
  });

  it('refuses a malformed value naming the field, and a rotation that does not wait', async () => {
    // Prepare
    const { id } = await patCredential(5);
    const engine = engineWith();
    const key = await openRotation(id, engine);
    // Act
    const malformed = await engine.submit(key, { token: 42 }, PERSON).catch((error: unknown) => error);
    const extra = await engine
      .submit(key, { token: newToken(9), password: 'x' }, PERSON)
      .catch((error: unknown) => error);
    await engine.submit(key, { token: newToken(9) }, PERSON);
    const twice = await engine.submit(key, { token: newToken(9) }, PERSON).catch((error: unknown) => error);
    // Assess
    expect(malformed).toBeInstanceOf(ValidationError);
    expect(JSON.stringify((malformed as ValidationError).details)).toContain('value.token');
    expect(extra).toBeInstanceOf(ValidationError);
    expect(twice).toBeInstanceOf(ConflictError);
  });

  it('clears the expiry when the new token does not expire, so nothing becomes due by date', async () => {
    // Prepare
    const { id } = await patCredential(3);
    const engine = engineWith();
    const key = await openRotation(id, engine);
    // Act
    const record = await engine.submit(key, { token: newToken(undefined) }, PERSON);
    // Assess
    expect(record.state).toBe('succeeded');
    expect((await h.targets.load(TENANT, id))?.expiresAt).toBeUndefined();
  });

  it('reads GitHub expiry headers in UTC and with an offset', () => {
    expect(tokenExpiration('2026-03-15 08:00:00 UTC')).toBe('2026-03-15T08:00:00.000Z');
    expect(tokenExpiration('2026-03-15 08:00:00 -0800')).toBe('2026-03-15T16:00:00.000Z');
    expect(tokenExpiration('soon')).toBeUndefined();
    expect(tokenExpiration(null)).toBeUndefined();
  });
});

describe('crash safety', () => {
  it('after a crash anywhere in a submission, a retry leaves one current token and nothing pending', async () => {
    const probe = await patCredential(10);
    const probeKey = await openRotation(probe.id);
    h.faults.calls.length = 0;
    await engineWith(true).submit(probeKey, { token: newToken(40) }, PERSON);
    const points = crashPoints(h.faults.calls);
    expect(points.length).toBeGreaterThan(8);
    await sweepCrashes(h, points, {
      engine: () => engineWith(true),
      prepare: async () => {
        const { id, secretPath } = await patCredential(10);
        return { secretPath, key: await openRotation(id), token: newToken(40) };
      },
      // The person (or, once the value is stored, the next scheduled run) tries again.
      attempt: async (engine, { key, token }, retry) =>
        retry && (await engine.get(key))?.state !== 'awaiting-input'
          ? (await engine.run(key)).record
          : engine.submit(key, { token }, PERSON),
      verify: async (record, { key, secretPath, token }, point) => {
        expect(record.state, point).toBe('succeeded');
        const now = await current(secretPath);
        expect(now.version, point).toBe(2);
        expect(now.data.token, point).toBe(token);
        expect(
          await new RotationSecrets(h.secrets, TENANT).readPending(key.credentialId, key.rotationId),
        ).toBeUndefined();
      },
    });
  }, 240_000);
});

describe('values stay secret', () => {
  it('keeps submitted tokens out of records, audit events and events', async () => {
    // Prepare
    const { id } = await patCredential(10);
    const engine = engineWith();
    const key = await openRotation(id, engine);
    const refused = newToken(30, { forbidden: true });
    const accepted = newToken(30);
    // Act
    await engine.submit(key, { token: refused }, PERSON).catch(() => undefined);
    const record = await engine.submit(key, { token: accepted }, PERSON);
    // Assess
    const everything = JSON.stringify([record, h.audit.events, h.bus.events]);
    for (const token of [refused, accepted, OLD_TOKEN]) expect(everything).not.toContain(token);
  });
});
