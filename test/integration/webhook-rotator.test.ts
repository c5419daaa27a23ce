/**
 * The `webhook-token` rotator driven by the rotation engine on dynalite against the reference
 * receiver (test/support/webhook-receiver.ts, a real HTTP server written from
 * docs/webhook-rotation.md): the full step sequence, signatures both ways, a receiver that is
 * down, slow, signs badly, mints a malformed token or declines the test, an explicit rollback,
 * and a crash at every point followed by a retry.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, ValidationError } from '../../lambdas/core/errors.js';
import type { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import { signRequest } from '../../lambdas/rotators/webhook-signature.js';
import { createWebhookTokenRotator } from '../../lambdas/rotators/webhook-token.js';
import {
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
import { WebhookReceiver } from '../support/webhook-receiver.js';

const DAY_MS = 86_400_000;
const SIGNING_PATH = 'webhooks/signing';
const SIGNING_KEY = randomBytes(32).toString('base64url');

let h: RotationHarness;
let receiver: WebhookReceiver;

beforeAll(async () => {
  h = await startRotationHarness();
  await h.secrets.write('user:setup', TENANT, SIGNING_PATH, { signingKey: SIGNING_KEY });
  await h.secrets.write('user:setup', TENANT, 'webhooks/wrong', {
    signingKey: randomBytes(32).toString('hex'),
  });
  receiver = new WebhookReceiver(SIGNING_KEY, () => Math.floor(h.clock.now().getTime() / 1000));
  await receiver.start();
});

afterAll(async () => {
  await receiver.close();
  await h.close();
});

beforeEach(() => {
  h.faults.restart();
  receiver.down = false;
  receiver.answerKey = undefined;
  receiver.malformedToken = false;
  receiver.expiresAt = undefined;
  receiver.decline.clear();
  receiver.delayMs = 0;
  receiver.requests.length = 0;
});

const rotator = () => createWebhookTokenRotator({ allowHttpLoopback: true });
const engineWith = (faulty = false): RotationEngine => h.engine({ 'webhook-token': rotator() }, { faulty });

let count = 0;
async function webhookCredential(webhook: Record<string, unknown> = {}, policySettings = {}) {
  count += 1;
  const secretPath = `api/token-${count}`;
  const old = receiver.issue();
  const id = await h.addCredential(
    {
      type: 'webhook-token',
      name: `partner API ${count}`,
      secretPath,
      settings: {
        webhook: { url: receiver.url, signingSecretPath: SIGNING_PATH, timeoutSeconds: 1, ...webhook },
      },
      policy: policy(policySettings),
    },
    old,
  );
  return { id, secretPath, old };
}

async function current(path: string) {
  const read = await h.secrets.read(TENANT, path);
  return { version: read.metadata.version, data: read.data };
}

/**
 * After a failed rotation: the old token is current and works; answers the statuses of the tokens
 * minted since `before` (the receiver's token ids before the rotation).
 */
async function expectOldKept(
  secretPath: string,
  old: { token: string; tokenId: string },
  before: ReadonlySet<string>,
): Promise<string[]> {
  expect(await current(secretPath)).toMatchObject({ version: 1, data: old });
  expect(receiver.valid(old.token)).toBe(true);
  return Object.entries(receiver.statuses())
    .filter(([tokenId]) => !before.has(tokenId))
    .map(([, status]) => status);
}

describe('a webhook-token rotation', () => {
  it('posts create, set, test, finish signed, stores the new token and retires the old one later', async () => {
    // Prepare
    const { id, secretPath, old } = await webhookCredential();
    const engine = engineWith();

    // Act
    const record = await runManualRotation(engine, id);

    // Assess
    expect(record.state).toBe('succeeded');
    const { version, data } = await current(secretPath);
    expect(version).toBe(2);
    expect(data.tokenId).not.toBe(old.tokenId);
    expect(receiver.valid(data.token)).toBe(true);
    expect(receiver.valid(old.token)).toBe(true);
    expect(receiver.requests.map((request) => [request.step, request.status])).toEqual([
      ['create', 200],
      ['set', 200],
      ['test', 200],
      ['finish', 200],
    ]);
    expect(receiver.requests[0]?.key).toBe(`${record.rotationId}:create`);

    h.clock.advance(10 * DAY_MS + 1000);
    await engine.retire({ tenant: TENANT, credentialId: id, rotationId: record.rotationId });
    expect(receiver.statuses()[old.tokenId]).toBe('inactive');
    expect(receiver.valid(old.token)).toBe(false);
    h.clock.advance(10 * DAY_MS + 1000);
    await engine.retire({ tenant: TENANT, credentialId: id, rotationId: record.rotationId });
    expect(receiver.statuses()[old.tokenId]).toBe('deleted');
  });

  it("records the expiry the endpoint names for the new token as the credential's", async () => {
    // Prepare: the old token's recorded expiry is near; the endpoint mints one that lasts longer.
    const { id, secretPath } = await webhookCredential();
    const target = await h.targets.load(TENANT, id);
    if (target === undefined) throw new Error('no target');
    h.targets.add({ ...target, expiresAt: '2026-12-10T00:00:00.000Z' });
    receiver.expiresAt = '2027-03-01T00:00:00+01:00';

    // Act
    const record = await runManualRotation(engineWith(), id);

    // Assess: the value keeps the endpoint's expiry, the inventory gets it (normalized to UTC).
    expect(record.state).toBe('succeeded');
    expect((await current(secretPath)).data.expiresAt).toBe('2027-03-01T00:00:00+01:00');
    expect(h.targets.outcomes.at(-1)?.outcome).toMatchObject({
      kind: 'succeeded',
      expiresAt: '2027-02-28T23:00:00.000Z',
    });
    expect((await h.targets.load(TENANT, id))?.expiresAt).toBe('2027-02-28T23:00:00.000Z');
  });

  it("clears the old token's expiry when the endpoint names none for the new one", async () => {
    // Prepare: the old token has expired; the endpoint mints one without an expiry.
    const { id } = await webhookCredential();
    const target = await h.targets.load(TENANT, id);
    if (target === undefined) throw new Error('no target');
    h.targets.add({ ...target, expiresAt: '2026-01-01T00:00:00.000Z' });

    // Act
    const record = await runManualRotation(engineWith(), id);

    // Assess
    expect(record.state).toBe('succeeded');
    expect(h.targets.outcomes.at(-1)?.outcome).toMatchObject({ kind: 'succeeded', expiresAt: null });
    expect((await h.targets.load(TENANT, id))?.expiresAt).toBeUndefined();
  });

  it('names its lead before the expiry only when rotateDaysBeforeExpiry is set', () => {
    // Prepare
    const webhook = createWebhookTokenRotator({ allowHttpLoopback: true });
    const settings = (extra: Record<string, unknown>) =>
      webhook.parseSettings({ webhook: { url: receiver.url, signingSecretPath: SIGNING_PATH, ...extra } });

    // Act + Assess
    expect(webhook.dueBeforeExpiryMs?.(settings({ rotateDaysBeforeExpiry: 10 }))).toBe(10 * DAY_MS);
    expect(webhook.dueBeforeExpiryMs?.(settings({}))).toBeUndefined();
    expect(() => settings({ rotateDaysBeforeExpiry: 366 })).toThrow(ValidationError);
  });

  it('refuses, at the reference receiver, a request whose signature does not verify', async () => {
    // Prepare: a body signed with another key, and one with a stale timestamp.
    const body = JSON.stringify({ version: 1, step: 'create', rotationId: 'r-forged' });
    const now = Math.floor(h.clock.now().getTime() / 1000);
    const post = (key: string, timestamp: number) =>
      fetch(receiver.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'vaultpilot-timestamp': String(timestamp),
          'vaultpilot-signature': signRequest(key, timestamp, body),
          'idempotency-key': 'r-forged:create',
        },
        body,
      });
    const before = receiver.tokens.size;

    // Act
    const forged = await post('not-the-signing-key-0123456789abcdef', now);
    const stale = await post(SIGNING_KEY, now - 3600);
    const genuine = await post(SIGNING_KEY, now);

    // Assess
    expect(forged.status).toBe(401);
    expect(stale.status).toBe(401);
    expect(genuine.status).toBe(200);
    expect(receiver.tokens.size).toBe(before + 1);
  });

  it('rolls back when VaultPilot signs with a key the receiver does not know: nothing is minted', async () => {
    // Prepare
    const { id, secretPath, old } = await webhookCredential({ signingSecretPath: 'webhooks/wrong' });
    const before = new Set(receiver.tokens.keys());
    // Act
    const record = await runManualRotation(engineWith(), id);
    // Assess
    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^create: RotationRefused: The webhook endpoint refused create with 401/);
    expect(await expectOldKept(secretPath, old, before)).toEqual([]);
  });

  it('rolls back on an answer with a bad signature, a malformed token or a declined test; the old token keeps working', async () => {
    for (const fault of ['answerKey', 'malformedToken', 'declineTest'] as const) {
      // Prepare
      const { id, secretPath, old } = await webhookCredential();
      const before = new Set(receiver.tokens.keys());
      if (fault === 'answerKey') receiver.answerKey = 'someone-else-0123456789abcdefghij';
      if (fault === 'malformedToken') receiver.malformedToken = true;
      if (fault === 'declineTest') receiver.decline.add('test');

      // Act
      const record = await runManualRotation(engineWith(), id);
      receiver.answerKey = undefined;
      receiver.malformedToken = false;
      receiver.decline.clear();

      // Assess
      expect(record.state, fault).toBe('failed');
      expect(record.failure, fault).toMatch(
        {
          answerKey:
            /^create: RotationRefused: The webhook endpoint's answer to create has no valid signature/,
          malformedToken:
            /^create: RotationRefused: The webhook endpoint answered create with a malformed token \(token\)/,
          declineTest:
            /^test: RotationTestFailed: The webhook endpoint declined test: test declined by the test/,
        }[fault],
      );
      // The token create minted is discarded at the receiver (the receiver acts on a verified
      // request even though VaultPilot cannot verify its answer).
      expect(await expectOldKept(secretPath, old, before), fault).toEqual(
        { answerKey: ['deleted'], malformedToken: [], declineTest: ['deleted'] }[fault],
      );
      expect(await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId)).toBeUndefined();
    }
  });

  it('treats a receiver that is down or too slow as transient, and finishes once it answers, with one token', async () => {
    for (const fault of ['down', 'slow'] as const) {
      // Prepare
      const { id, secretPath, old } = await webhookCredential();
      const engine = engineWith();
      const key = await startManualRotation(engine, id);
      if (fault === 'down') receiver.down = true;
      else receiver.delayMs = 1500;

      // Act
      await expect(engine.run(key), fault).rejects.toThrow(DependencyUnavailableError);
      const versionWhileDown = (await current(secretPath)).version;
      receiver.down = false;
      receiver.delayMs = 0;
      const record = (await engine.run(key)).record;

      // Assess
      expect(versionWhileDown, fault).toBe(1);
      expect(record.state, fault).toBe('succeeded');
      const { data } = await current(secretPath);
      expect(receiver.valid(data.token), fault).toBe(true);
      expect(receiver.valid(old.token), fault).toBe(true);
    }
  });

  it('on an explicit rollback re-activates the old token and deactivates the new one', async () => {
    // Prepare
    const { id, secretPath, old } = await webhookCredential({}, { deactivateAfterDays: 0 });
    const engine = engineWith();
    const record = await runManualRotation(engine, id);
    h.clock.advance(1000);
    await engine.retire({ tenant: TENANT, credentialId: id, rotationId: record.rotationId });
    const fresh = (await current(secretPath)).data;
    expect(receiver.valid(old.token)).toBe(false);

    // Act
    const rolledBack = await engine.rollback(
      { tenant: TENANT, credentialId: id, rotationId: record.rotationId },
      PERSON,
    );

    // Assess
    expect(rolledBack.state).toBe('rolled-back');
    expect(receiver.valid(old.token)).toBe(true);
    expect(receiver.valid(fresh.token)).toBe(false);
    expect(await current(secretPath)).toMatchObject({ version: 3, data: old });
    expect(rolledBack.retirement).toMatchObject({ nextPhase: 'delete', ref: { tokenId: fresh.tokenId } });
  });

  it('refuses settings with plain HTTP outside loopback, credentials in the URL or a bad path', () => {
    // Prepare
    const strict = createWebhookTokenRotator();
    const paths = (webhook: unknown) => {
      try {
        strict.parseSettings({ webhook });
        return [];
      } catch (error: unknown) {
        if (!(error instanceof ValidationError)) throw error;
        return (error.details as { issues: { path: string }[] }).issues.map((issue) => issue.path);
      }
    };
    // Act / Assess
    expect(paths({ url: 'https://hooks.example.com/rotate', signingSecretPath: 'a/b' })).toEqual([]);
    expect(paths({ url: 'http://127.0.0.1:9/rotate', signingSecretPath: 'a/b' })).toEqual(['webhook.url']);
    expect(paths({ url: 'https://u:p@hooks.example.com/', signingSecretPath: 'a/b' })).toEqual([
      'webhook.url',
    ]);
    expect(paths({ url: 'ftp://hooks.example.com/', signingSecretPath: 'a/b' })).toEqual(['webhook.url']);
    expect(
      paths({ url: 'https://hooks.example.com/', signingSecretPath: 'a/b', timeoutSeconds: 99 }),
    ).toEqual(['webhook.timeoutSeconds']);
    expect(paths(undefined)).toEqual(['webhook']);
    // The signing key's path is a secret path of the store: no dot segments, no leading slash.
    expect(paths({ url: 'https://hooks.example.com/', signingSecretPath: 'a/../b' })).toEqual([
      'webhook.signingSecretPath',
    ]);
    expect(paths({ url: 'https://hooks.example.com/', signingSecretPath: '/a' })).toEqual([
      'webhook.signingSecretPath',
    ]);
  });
});

describe('crash safety', () => {
  it('leaves one current version and one live new token after a crash anywhere and a retry', async () => {
    // Prepare: the calls of one clean rotation are the places to crash.
    const probe = await webhookCredential();
    h.faults.calls.length = 0;
    await runManualRotation(engineWith(true), probe.id);
    const points = crashPoints(h.faults.calls);
    expect(points.length).toBeGreaterThan(10);

    // Act + Assess: a crash (or a process dying) at each point, then a retry.
    await sweepCrashes(h, points, {
      engine: () => engineWith(true),
      prepare: async () => ({
        ...(await webhookCredential()),
        tokensBefore: new Set(receiver.tokens.keys()),
      }),
      attempt: async (engine, { id }) =>
        (await engine.run(await startManualRotation(engine, id, `crash-${id}`))).record,
      afterCrash: ({ old }, point) => {
        expect(receiver.valid(old.token), point).toBe(true);
      },
      // One new token minted (create repeats are answered alike), current and working.
      verify: async (record, { id, secretPath, old, tokensBefore }, point) => {
        expect(record.state, point).toBe('succeeded');
        const now = await current(secretPath);
        expect(now.version, point).toBe(2);
        expect(receiver.valid(now.data.token), point).toBe(true);
        expect(receiver.valid(old.token), point).toBe(true);
        const minted = [...receiver.tokens.keys()].filter((tokenId) => !tokensBefore.has(tokenId));
        expect(minted, point).toEqual([now.data.tokenId]);
        expect(
          await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId),
        ).toBeUndefined();
      },
    });
  }, 240_000);
});

describe('values stay secret', () => {
  it('keeps tokens and the signing key out of records, audit events and events', async () => {
    // Prepare
    const { id, secretPath, old } = await webhookCredential();
    // Act
    const record = await runManualRotation(engineWith(), id);
    // Assess
    const { data } = await current(secretPath);
    const everything = JSON.stringify([record, h.audit.events, h.bus.events]);
    for (const secret of [data.token ?? '', old.token, SIGNING_KEY]) {
      expect(secret.length).toBeGreaterThan(20);
      expect(everything).not.toContain(secret);
    }
  });
});
