/**
 * The `secrets-manager-secret` rotator driven by the rotation engine on dynalite against a fake
 * Secrets Manager with the API reference's version and staging-label rules
 * (test/support/fake-secrets-manager.ts): a generated value goes AWSPENDING → tested →
 * AWSCURRENT; a secret with a rotation function is rotated with RotateSecret and followed until
 * AWSCURRENT; a failing function rolls back without leaving AWSPENDING behind; an untagged secret
 * is refused; throttling is transient; a crash after every step and a retry leave one current
 * version and no AWSPENDING.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import { createSecretsManagerSecretRotator } from '../../lambdas/rotators/secrets-manager-secret.js';
import { FakeSecretsManager } from '../support/fake-secrets-manager.js';
import {
  crashPoints,
  policy,
  type RotationHarness,
  runManualRotation,
  startManualRotation,
  startRotationHarness,
  sweepCrashes,
  TENANT,
} from '../support/rotation-harness.js';

const MANAGED = { 'vaultpilot:managed': 'true', team: 'payments' };
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:rotate-db';

let h: RotationHarness;
let sm: FakeSecretsManager;
const client = new SecretsManagerClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
});

beforeAll(async () => {
  h = await startRotationHarness();
  sm = new FakeSecretsManager();
});

afterAll(async () => {
  sm.restore();
  await h.close();
});

beforeEach(() => {
  h.faults.restart();
  sm.functionFails = false;
  sm.functionSteps = 1;
});

const engineWith = (faulty = false, maxStepAttempts?: number): RotationEngine =>
  h.engine(
    { 'secrets-manager-secret': createSecretsManagerSecretRotator({ client: () => client }) },
    { faulty, ...(maxStepAttempts === undefined ? {} : { maxStepAttempts }) },
  );

let count = 0;
async function adopted(options: { tags?: Record<string, string>; withFunction?: boolean } = {}) {
  count += 1;
  const name = `prod/payments/db-${count}`;
  const secret = sm.seed(
    name,
    { username: 'payments', password: 'old-password-never-logged', host: 'db.internal' },
    options.tags ?? MANAGED,
    options.withFunction === true ? FUNCTION_ARN : undefined,
  );
  const id = await h.addCredential(
    {
      type: 'secrets-manager-secret',
      name,
      secretPath: `aws/sm/${name}`,
      settings: { secretsManager: { secretId: secret.arn }, generator: { field: 'password', length: 40 } },
      policy: policy(),
    },
    { versionId: [...secret.versions.keys()][0] ?? '' },
  );
  return { id, name, secretPath: `aws/sm/${name}` };
}

const noPending = (name: string) => expect(sm.labels(name).AWSPENDING).toBeUndefined();

describe('rotating an adopted secret without a rotation function', () => {
  it('puts a generated value AWSPENDING with the token, tests it and makes it AWSCURRENT', async () => {
    // Prepare
    const { id, name, secretPath } = await adopted();
    const before = sm.value(name);
    // Act
    const record = await runManualRotation(engineWith(), id);
    // Assess
    expect(record.state).toBe('succeeded');
    const after = sm.value(name);
    expect(after?.password).toHaveLength(40);
    expect(after?.password).not.toBe(before?.password);
    expect({ username: after?.username, host: after?.host }).toEqual({
      username: 'payments',
      host: 'db.internal',
    });
    expect(sm.value(name, 'AWSPREVIOUS')?.password).toBe(before?.password);
    noPending(name);
    // VaultPilot keeps the version id, never the value.
    const stored = await h.secrets.read(TENANT, secretPath);
    expect(stored.data).toEqual({ versionId: sm.labels(name).AWSCURRENT?.[0] });
  });

  it('refuses a secret without the vaultpilot:managed tag, changing nothing', async () => {
    // Prepare
    const { id, name } = await adopted({ tags: { team: 'payments' } });
    const labels = sm.labels(name);
    // Act
    const record = await runManualRotation(engineWith(), id);
    // Assess
    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/not tagged vaultpilot:managed=true/);
    expect(sm.labels(name)).toEqual(labels);
  });

  it('waits out throttling and finishes once Secrets Manager answers', async () => {
    // Prepare
    const { id, name } = await adopted();
    const engine = engineWith();
    const key = await startManualRotation(engine, id);
    sm.throttle('PutSecretValue', 1);
    // Act
    await expect(engine.run(key)).rejects.toThrow(DependencyUnavailableError);
    const record = (await engine.run(key)).record;
    // Assess
    expect(record.state).toBe('succeeded');
    noPending(name);
  });
});

describe('rotating an adopted secret with a rotation function', () => {
  it('starts RotateSecret with the token and follows it until the new version is AWSCURRENT', async () => {
    // Prepare
    const { id, name } = await adopted({ withFunction: true });
    sm.functionSteps = 2;
    const engine = engineWith();
    const key = await startManualRotation(engine, id);
    // Act: the function is still working at the first test, then finishes.
    await expect(engine.run(key)).rejects.toThrow(/has not finished yet/);
    const record = (await engine.run(key)).record;
    // Assess
    expect(record.state).toBe('succeeded');
    expect(sm.calls.filter((call) => call === 'RotateSecret')).toHaveLength(1);
    expect(sm.labels(name).AWSCURRENT).toEqual([record.provider.versionId]);
    noPending(name);
  });

  it('rolls back a function that fails and leaves no AWSPENDING behind; the next rotation can start', async () => {
    // Prepare
    const { id, name } = await adopted({ withFunction: true });
    const current = sm.labels(name).AWSCURRENT;
    sm.functionFails = true;
    const engine = engineWith(false, 2);
    const key = await startManualRotation(engine, id);
    // Act
    await expect(engine.run(key)).rejects.toThrow(/has not finished yet/);
    await expect(engine.run(key)).rejects.toThrow(/has not finished yet/);
    const failed = (await engine.run(key)).record;
    sm.functionFails = false;
    const next = await runManualRotation(engine, id);
    // Assess
    expect(failed.state).toBe('failed');
    expect(failed.failure).toMatch(/did not succeed in 2 attempts/);
    expect(next.state).toBe('succeeded');
    expect(sm.labels(name).AWSCURRENT).not.toEqual(current);
    noPending(name);
  });

  it('clears an AWSPENDING a crashed earlier rotation left, instead of failing on it', async () => {
    // Prepare: a failed function run outside VaultPilot left AWSPENDING on a version.
    const { id, name } = await adopted({ withFunction: true });
    sm.functionFails = true;
    await client.send(
      new (await import('@aws-sdk/client-secrets-manager')).RotateSecretCommand({
        SecretId: name,
        ClientRequestToken: '00000000-0000-4000-a000-000000000000',
      }),
    );
    sm.functionFails = false;
    // Act
    const record = await runManualRotation(engineWith(), id);
    // Assess
    expect(record.state).toBe('succeeded');
    noPending(name);
  });
});

describe('crash safety', () => {
  for (const withFunction of [false, true]) {
    it(`leaves one current version and no AWSPENDING after a crash anywhere (${withFunction ? 'function' : 'generated'})`, async () => {
      sm.functionSteps = 0;
      const probe = await adopted({ withFunction });
      h.faults.calls.length = 0;
      await runManualRotation(engineWith(true), probe.id);
      const points = crashPoints(h.faults.calls);
      expect(points.length).toBeGreaterThan(10);
      await sweepCrashes(h, points, {
        engine: () => engineWith(true),
        prepare: () => adopted({ withFunction }),
        attempt: async (engine, { id }) =>
          (await engine.run(await startManualRotation(engine, id, `crash-${id}`))).record,
        verify: async (record, { id, name, secretPath }, point) => {
          expect(record.state, point).toBe('succeeded');
          expect(sm.labels(name).AWSCURRENT, point).toHaveLength(1);
          noPending(name);
          const stored = await h.secrets.read(TENANT, secretPath);
          expect(stored.metadata.version, point).toBe(2);
          expect(stored.data.versionId, point).toBe(sm.labels(name).AWSCURRENT?.[0]);
          expect(
            await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId),
          ).toBeUndefined();
        },
      });
    }, 240_000);
  }
});

describe('values stay secret', () => {
  it('keeps the secret value out of records, audit events and events', async () => {
    const { id, name } = await adopted();
    const record = await runManualRotation(engineWith(), id);
    const everything = JSON.stringify([record, h.audit.events, h.bus.events]);
    expect(everything).not.toContain(sm.value(name)?.password);
    expect(everything).not.toContain('old-password-never-logged');
  });
});
