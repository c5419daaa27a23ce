/**
 * The Secrets Manager copy of a rotated IAM access key (`secretsManagerCopy`), driven by the
 * rotation engine on dynalite with a fake IAM/STS and a fake Secrets Manager whose state is
 * inspected: nothing is written before `finish`; then the new key is the copy's AWSCURRENT value
 * and its resource policy lets only the user read it; a crash anywhere from `finish` on and a
 * retry leave exactly one new version; an explicit rollback makes the old key current again; a
 * rotation without the setting, or rolled back before `finish`, calls Secrets Manager not at all;
 * throttling is waited out, refusals are clear, and no value leaks into records, audit or events.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import type { RotationRecord } from '../../lambdas/core/rotation/rotation.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import { RotationRefusedError, type Rotator } from '../../lambdas/core/rotation/rotator.js';
import type { IamKeySettings } from '../../lambdas/rotators/aws-iam-access-key.js';
import { ACCOUNT, FAKE_CREDENTIALS, FakeIam, type FakeKey, fakeIamRotator } from '../support/fake-iam.js';
import { FakeSecretsManagerCopy } from '../support/fake-secrets-manager-copy.js';
import {
  afterEachStep,
  InjectedCrash,
  PERSON,
  policy,
  type RotationHarness,
  runManualRotation,
  startManualRotation,
  startRotationHarness,
  TENANT,
} from '../support/rotation-harness.js';

const PREFIX = 'vaultpilot-iam-keys/test/';
const MINUTE_MS = 60_000;
const ADMIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/Administrator`;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

let h: RotationHarness;
let iam: FakeIam;
let sm: FakeSecretsManagerCopy;

beforeAll(async () => {
  h = await startRotationHarness();
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.faults.restart();
  iam = new FakeIam(h.clock);
  sm = new FakeSecretsManagerCopy(h.faults);
});

afterEach(() => {
  iam.restore();
  sm.restore();
});

function rotator(): Rotator<IamKeySettings> {
  return fakeIamRotator({
    secretsManager: {
      client: new SecretsManagerClient({ region: 'us-east-1', credentials: FAKE_CREDENTIALS }),
      prefix: PREFIX,
    },
  });
}

let users = 0;
async function iamCredential(options: { copy?: boolean; policy?: Record<string, unknown> } = {}) {
  users += 1;
  const userName = `copy-user-${users}`;
  const key = iam.addUser(userName);
  const secretPath = `aws/${userName}`;
  const id = await h.addCredential(
    {
      type: 'aws-iam-access-key',
      name: `${userName} key`,
      secretPath,
      settings: { userName, secretsManagerCopy: options.copy ?? true },
      policy: policy(options.policy ?? {}),
    },
    keyValue(key),
  );
  return {
    id,
    secretPath,
    userName,
    key,
    copyName: `${PREFIX}${userName}`,
    userArn: `arn:aws:iam::${ACCOUNT}:user/${userName}`,
  };
}

function engineWith(inner: Rotator<IamKeySettings>, faulty = false): RotationEngine {
  return h.engine({ 'aws-iam-access-key': inner }, { faulty });
}

async function current(path: string) {
  const read = await h.secrets.read(TENANT, path);
  return { accessKeyId: read.data.accessKeyId ?? '', secretAccessKey: read.data.secretAccessKey ?? '' };
}

function keyValue(key: FakeKey) {
  return { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}

/** After each provider step: the Secrets Manager calls so far. */
function observed(inner: Rotator<IamKeySettings>, log: { step: string; calls: string[] }[]) {
  return afterEachStep(inner, (step) => {
    log.push({ step, calls: [...sm.calls] });
  });
}

describe('the Secrets Manager copy of a rotated key', () => {
  it('gets its secret and policy at test and its value at finish only: the new key is AWSCURRENT, and only the user may read it', async () => {
    // Prepare
    const { id, secretPath, userName, copyName, userArn } = await iamCredential();
    const log: { step: string; calls: string[] }[] = [];

    // Act
    const record = await runManualRotation(engineWith(observed(rotator(), log)), id);

    // Assess
    expect(record.state).toBe('succeeded');
    // The secret (no value) and its policy before promotion, so a refusal rolls back; the value at finish.
    const prepared = ['DescribeSecret', 'CreateSecret', 'PutResourcePolicy'];
    expect(log).toEqual([
      { step: 'create', calls: [] },
      { step: 'set', calls: [] },
      { step: 'test', calls: prepared },
      { step: 'finish', calls: [...prepared, 'DescribeSecret', 'PutResourcePolicy', 'PutSecretValue'] },
    ]);
    expect(sm.value(copyName)).toEqual(await current(secretPath));
    expect(sm.secrets.get(copyName)?.versions.size).toBe(1);
    expect(record.provider.userArn).toBe(userArn);
    const secret = sm.secrets.get(copyName);
    expect(secret?.tags).toEqual({ 'vaultpilot:managed': 'true', 'vaultpilot:iam-user': userName });
    expect(secret?.kmsKeyId).toBeUndefined(); // the AWS managed key aws/secretsmanager
    expect(secret?.blockPublicPolicy).toBe(true);
    expect(JSON.parse(secret?.policy ?? '{}')).toMatchObject({
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'secretsmanager:GetSecretValue',
          Condition: { StringNotEquals: { 'aws:PrincipalArn': userArn } },
        },
        {
          Effect: 'Allow',
          Principal: { AWS: userArn },
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        },
      ],
    });
    expect(sm.canRead(copyName, userArn, false)).toBe(true);
    for (const other of [ADMIN_ROLE, ROOT, `arn:aws:iam::${ACCOUNT}:user/${userName}-2`]) {
      expect(sm.canRead(copyName, other, true), other).toBe(false);
    }
    expect(sm.calls).not.toContain('GetSecretValue');
  });

  it('keeps one secret across rotations: the next key becomes AWSCURRENT, the last one AWSPREVIOUS', async () => {
    // Prepare
    const { id, secretPath, copyName } = await iamCredential({
      policy: { deactivateAfterDays: 0, deleteAfterDays: 0 },
    });
    const engine = engineWith(rotator());
    const first = await runManualRotation(engine, id);
    const firstKey = await current(secretPath);
    const retirement = { tenant: TENANT, credentialId: id, rotationId: first.rotationId };
    h.clock.advance(1000);
    await engine.retire(retirement);
    h.clock.advance(1000);
    await engine.retire(retirement);
    sm.calls.length = 0;

    // Act
    const second = await runManualRotation(engine, id);

    // Assess
    expect(second.state).toBe('succeeded');
    // At test (secret and policy checked, nothing created) and at finish (the value).
    expect(sm.calls).toEqual([
      'DescribeSecret',
      'PutResourcePolicy',
      'DescribeSecret',
      'PutResourcePolicy',
      'PutSecretValue',
    ]);
    expect(sm.value(copyName)).toEqual(await current(secretPath));
    expect(sm.value(copyName, 'AWSPREVIOUS')).toEqual(firstKey);
    expect(sm.secrets.get(copyName)?.versions.size).toBe(2);
  });

  it('leaves exactly one new version after a crash anywhere from test on and a retry', async () => {
    // Prepare: the calls of one clean rotation from test on (where the copy is prepared) are the places to crash.
    const probe = await iamCredential();
    h.faults.calls.length = 0;
    await runManualRotation(engineWith(rotator(), true), probe.id);
    const fromFinish = h.faults.calls.slice(h.faults.calls.indexOf('rotator.test.before'));
    expect(fromFinish).toContain('sm.PutResourcePolicy.after');
    expect(fromFinish).toContain('sm.PutSecretValue.after');
    const points: string[] = [];
    const counts = new Map<string, number>();
    for (const call of fromFinish) {
      counts.set(call, (counts.get(call) ?? 0) + 1);
      points.push(`${call}#${counts.get(call) ?? 1}`);
    }

    for (const point of points) {
      for (const die of [false, true]) {
        const [name, nth] = point.split('#') as [string, string];
        const { id, secretPath, copyName, userArn } = await iamCredential();
        const request = `copy-crash-${id}`;

        // Act: crash, then retry with the same idempotency key.
        h.faults.arm({ point: name, nth: Number(nth), die });
        let crashed = false;
        try {
          const engine = engineWith(rotator(), true);
          await engine.run(await startManualRotation(engine, id, request));
        } catch (error: unknown) {
          if (!(error instanceof InjectedCrash)) throw error;
          crashed = true;
        }
        h.faults.restart();
        if (die) h.clock.advance(16 * MINUTE_MS);
        const retry = engineWith(rotator(), true);
        const record = (await retry.run(await startManualRotation(retry, id, request))).record;

        // Assess
        const label = `${point}${die ? ' (died)' : ''}`;
        expect(crashed, label).toBe(true);
        expect(record.state, label).toBe('succeeded');
        expect(sm.secrets.get(copyName)?.versions.size, label).toBe(1);
        expect(sm.value(copyName), label).toEqual(await current(secretPath));
        expect(sm.canRead(copyName, userArn, false), label).toBe(true);
        expect(sm.canRead(copyName, ADMIN_ROLE, true), label).toBe(false);
      }
    }
  }, 180_000);

  it("asks STS for the user's ARN once more when the rotation was recorded before it was kept", async () => {
    // Prepare: the process dies before finish; the record then loses userArn, as an old one has none.
    const { id, secretPath, copyName, userArn } = await iamCredential();
    const request = `copy-resume-${id}`;
    h.faults.arm({ point: 'rotator.finish.before', die: true });
    const engine = engineWith(rotator(), true);
    const key = await startManualRotation(engine, id, request);
    await expect(engine.run(key)).rejects.toThrow(InjectedCrash);
    h.faults.restart();
    const stored = (await h.store.get(TENANT, id, key.rotationId)) as RotationRecord;
    const { userArn: _dropped, ...older } = stored.provider;
    await h.store.save({ ...stored, provider: older, revision: stored.revision + 1 }, stored.revision);
    h.clock.advance(16 * MINUTE_MS);
    const stsCalls = iam.callLog.filter((call) => call === 'GetCallerIdentity').length;

    // Act
    const record = (await engineWith(rotator(), true).run(key)).record;

    // Assess
    expect(_dropped).toBe(userArn);
    expect(record.state).toBe('succeeded');
    expect(iam.callLog.filter((call) => call === 'GetCallerIdentity').length).toBe(stsCalls + 1);
    expect(record.provider.userArn).toBe(userArn);
    expect(sm.value(copyName)).toEqual(await current(secretPath));
    expect(sm.canRead(copyName, userArn, false)).toBe(true);
    expect(sm.canRead(copyName, ADMIN_ROLE, true)).toBe(false);
  });

  it('makes the old key current again on an explicit rollback, once however often it is retried', async () => {
    // Prepare
    const { id, secretPath, key: old, copyName } = await iamCredential();
    const record = await runManualRotation(engineWith(rotator()), id);
    const fresh = await current(secretPath);
    const key = { tenant: TENANT, credentialId: id, rotationId: record.rotationId };
    h.faults.arm({ point: 'sm.PutSecretValue.after' });

    // Act: the first attempt crashes once its value is written; the retry finishes.
    await expect(engineWith(rotator(), true).rollback(key, PERSON)).rejects.toThrow(InjectedCrash);
    const rolledBack = await engineWith(rotator(), true).rollback(key, PERSON);

    // Assess
    expect(rolledBack.state).toBe('rolled-back');
    expect(await current(secretPath)).toEqual(keyValue(old));
    expect(sm.value(copyName)).toEqual(keyValue(old));
    expect(sm.value(copyName, 'AWSPREVIOUS')).toEqual(fresh);
    expect(sm.secrets.get(copyName)?.versions.size).toBe(2);
    expect(new Set(sm.puts.map((put) => put.ClientRequestToken)).size).toBe(2);
  });

  it('touches nothing at Secrets Manager when the rotation rolls back before finish', async () => {
    // Prepare
    const { id, secretPath, key: old } = await iamCredential();
    iam.propagationCalls = 1000;

    // Act
    const record = await runManualRotation(engineWith(rotator()), id);

    // Assess
    expect(record.state).toBe('failed');
    expect(await current(secretPath)).toEqual(keyValue(old));
    expect(sm.calls).toEqual([]);
    expect(sm.secrets.size).toBe(0);
  });

  it('calls Secrets Manager not at all without the setting: rotation, retirement, rollback', async () => {
    // Prepare
    const { id } = await iamCredential({ copy: false, policy: { deactivateAfterDays: 0 } });
    const engine = engineWith(rotator());

    // Act
    const record = await runManualRotation(engine, id);
    const key = { tenant: TENANT, credentialId: id, rotationId: record.rotationId };
    h.clock.advance(1000);
    await engine.retire(key);
    const rolledBack = await engine.rollback(key, PERSON);

    // Assess
    expect(record.state).toBe('succeeded');
    expect(rolledBack.state).toBe('rolled-back');
    expect(sm.calls).toEqual([]);
  });

  it('says in a dry run that it would write the copy, or why it could not, and writes nothing', async () => {
    // Prepare
    const ready = await iamCredential({ policy: { dryRun: true } });
    const taken = await iamCredential({ policy: { dryRun: true } });
    sm.seed(taken.copyName, {}, '{"someone":"else"}');

    // Act
    const readyRecord = await runManualRotation(engineWith(rotator()), ready.id);
    const takenRecord = await runManualRotation(engineWith(rotator()), taken.id);

    // Assess
    const outcome = (record: RotationRecord) =>
      record.steps.find((step) => step.step === 'preflight')?.outcome;
    expect(outcome(readyRecord)).toContain(
      `would make the new key the current value of the Secrets Manager secret ${ready.copyName}, readable only by ${ready.userName}`,
    );
    expect(outcome(takenRecord)).toMatch(
      /would fail: The Secrets Manager secret .* is not VaultPilot's copy/,
    );
    expect(sm.calls).toEqual(['DescribeSecret', 'DescribeSecret']);
    expect(sm.secrets.size).toBe(1);
  });

  it('waits out throttling, and finishes later when Secrets Manager stays throttled', async () => {
    // Prepare
    const brief = await iamCredential();
    const long = await iamCredential();
    sm.throttle('CreateSecret', 2);
    sm.throttle('PutSecretValue', 3);

    // Act
    const record = await runManualRotation(engineWith(rotator()), brief.id);
    const engine = engineWith(rotator());
    const key = await startManualRotation(engine, long.id);
    // Throttled for good at finish (the first PutResourcePolicy, at test, goes through).
    sm.throttle('PutSecretValue', 100);
    const error = await engine.run(key).catch((caught: unknown) => caught);
    const promotedMeanwhile = await current(long.secretPath);
    sm.throttle('PutSecretValue', 0);
    const later = (await engine.run(key)).record;

    // Assess
    expect(record.state).toBe('succeeded');
    expect(sm.value(brief.copyName)).toEqual(await current(brief.secretPath));
    expect(sm.calls.filter((call) => call === 'PutSecretValue').length).toBeGreaterThanOrEqual(4);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toMatch(/Secrets Manager PutSecretValue stayed unavailable/);
    expect(promotedMeanwhile.accessKeyId).not.toBe(long.key.accessKeyId);
    expect(later.state).toBe('succeeded');
    expect(sm.value(long.copyName)).toEqual(promotedMeanwhile);
    expect(sm.secrets.get(long.copyName)?.versions.size).toBe(1);
  });

  it('rolls back before promotion when VaultPilot may not write the copy: the new key is deleted, the old one stays current', async () => {
    // Prepare
    const { id, copyName, secretPath, userName, key: old } = await iamCredential();
    sm.deny('PutResourcePolicy');

    // Act
    const record = await runManualRotation(engineWith(rotator()), id);

    // Assess
    expect(record.state).toBe('failed');
    expect(record.failure).toBe(
      `test: RotationRefused: VaultPilot may not call PutResourcePolicy on the Secrets Manager secret ${copyName} (AccessDeniedException)`,
    );
    expect(record.steps.map((step) => [step.step, step.status])).toEqual([
      ['create', 'succeeded'],
      ['set', 'succeeded'],
      ['test', 'failed'],
      ['rollback', 'succeeded'],
    ]);
    expect(iam.snapshot(userName)).toEqual({ [old.accessKeyId]: 'Active' });
    expect(await current(secretPath)).toEqual(keyValue(old));
    expect(sm.value(copyName)).toBeUndefined();
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
  });

  it('never takes over a secret of that name that is not VaultPilot’s copy of that user’s key', async () => {
    // Prepare
    const { id, copyName, userName, key: old } = await iamCredential();
    sm.seed(
      copyName,
      { 'vaultpilot:managed': 'true', 'vaultpilot:iam-user': `${userName}-other` },
      '{"x":"y"}',
    );

    // Act
    const record = await runManualRotation(engineWith(rotator()), id);

    // Assess
    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/exists and is not VaultPilot's copy/);
    expect(sm.secrets.get(copyName)?.policy).toBeUndefined();
    expect(sm.value(copyName)).toEqual({ x: 'y' });
    expect(sm.calls).toEqual(['DescribeSecret']);
    expect(iam.snapshot(userName)).toEqual({ [old.accessKeyId]: 'Active' });
  });

  it('fails without retiring anything when the value cannot be written after promotion', async () => {
    // Prepare: the secret and its policy can be written (at test), the value cannot (at finish).
    const { id, copyName, secretPath, userName, key: old } = await iamCredential();
    sm.deny('PutSecretValue');

    // Act
    const record = await runManualRotation(engineWith(rotator()), id);

    // Assess: the new key is current in the store; the old key stays active with no retirement
    // (whoever reads the copy still gets it); the credential is free for a rollback or a new try.
    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^finish: RotationRefused: VaultPilot may not call PutSecretValue/);
    expect(record.retirement).toBeUndefined();
    const fresh = await current(secretPath);
    expect(fresh.accessKeyId).not.toBe(old.accessKeyId);
    expect(iam.snapshot(userName)).toEqual({ [old.accessKeyId]: 'Active', [fresh.accessKeyId]: 'Active' });
    expect(sm.value(copyName)).toBeUndefined();
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
    const failed = h.bus.events.find(
      (event) => event.type === 'rotation.failed' && event.detail.rotationId === record.rotationId,
    );
    expect(failed?.detail).toMatchObject({ rolledBack: false, step: 'finish' });

    sm.allow('PutSecretValue');
    const rolledBack = await engineWith(rotator()).rollback(
      { tenant: TENANT, credentialId: id, rotationId: record.rotationId },
      PERSON,
    );
    expect(rolledBack.state).toBe('rolled-back');
    expect(await current(secretPath)).toEqual(keyValue(old));
    expect(sm.value(copyName)).toEqual(keyValue(old));
  });
});

describe('values stay secret', () => {
  it('keeps secret access keys out of records, audit events, events, tags, policies and errors', async () => {
    // Prepare
    const { id, secretPath, key: old, copyName } = await iamCredential();
    const engine = engineWith(rotator());

    // Act: a rotation, a refused one, and a rollback.
    const record = await runManualRotation(engine, id);
    const fresh = (await current(secretPath)).secretAccessKey;
    sm.deny('PutSecretValue');
    const refused = await engine
      .rollback({ tenant: TENANT, credentialId: id, rotationId: record.rotationId }, PERSON)
      .catch((caught: unknown) => caught);
    const stored = await h.store.list(TENANT, id, { limit: 20 });
    const pending = await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId);
    const secret = sm.secrets.get(copyName);

    // Assess
    const everything = JSON.stringify([
      stored,
      h.audit.events,
      h.bus.events,
      secret?.tags,
      secret?.description,
      secret?.policy,
      (refused as Error).message,
      (refused as Error).stack,
    ]);
    expect(refused).toBeInstanceOf(RotationRefusedError);
    expect(pending).toBeUndefined();
    expect(fresh.length).toBeGreaterThan(20);
    expect(everything).not.toContain(fresh);
    expect(everything).not.toContain(old.secretAccessKey);
  });
});
