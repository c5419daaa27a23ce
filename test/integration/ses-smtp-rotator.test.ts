/**
 * The `ses-smtp` rotator driven by the rotation engine on dynalite, against a fake IAM
 * (aws-sdk-client-mock, test/support/fake-iam.ts) and a real SMTP server with STARTTLS that
 * accepts only the SES SMTP password of an active key, as computed by an independent Python
 * script (test/support/ses-smtp-server.ts). The IAM side is the IAM rotator's: the old key stays
 * active until retirement, a refused login rolls back, a crash anywhere and a retry leave one
 * current version and exactly two keys.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, ValidationError } from '../../lambdas/core/errors.js';
import type { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import type { Rotator } from '../../lambdas/core/rotation/rotator.js';
import { createSesSmtpRotator, type SesSmtpSettings } from '../../lambdas/rotators/ses-smtp.js';
import { smtpAuthCheck } from '../../lambdas/rotators/smtp-auth.js';
import { FAKE_CREDENTIALS, FakeIam, type FakeKey } from '../support/fake-iam.js';
import {
  crashPoints,
  sweepCrashes,
  policy,
  type RotationHarness,
  runManualRotation,
  startManualRotation,
  startRotationHarness,
  TENANT,
} from '../support/rotation-harness.js';
import { SesSmtpServer } from '../support/ses-smtp-server.js';

const DAY_MS = 86_400_000;
const REGIONS = ['us-east-1', 'eu-west-1'];

let h: RotationHarness;
let iam: FakeIam;
let smtp: SesSmtpServer;

beforeAll(async () => {
  h = await startRotationHarness();
  smtp = await SesSmtpServer.start(REGIONS);
  smtp.iamKeys = () => iam.keys;
}, 60_000);

afterAll(async () => {
  await smtp.close();
  await h.close();
});

beforeEach(() => {
  h.faults.restart();
  iam = new FakeIam(h.clock);
  smtp.propagationLogins = 0;
  smtp.refuseAll = false;
  smtp.logins.length = 0;
});

afterEach(() => {
  iam.restore();
});

function rotator(consistencyAttempts = 4): Rotator<SesSmtpSettings> {
  return smtpRotator(smtp.ca, consistencyAttempts);
}

/** The rotator on the fake IAM, trusting `ca` for STARTTLS, retrying without waiting. */
function smtpRotator(ca: string, consistencyAttempts = 4): Rotator<SesSmtpSettings> {
  return createSesSmtpRotator({
    iam: {
      iam: new IAMClient({ region: 'us-east-1', credentials: FAKE_CREDENTIALS }),
      sts: (credentials) => new STSClient({ region: 'us-east-1', credentials }),
      sleep: async () => undefined,
    },
    defaultRegion: 'us-east-1',
    allowedEndpointHosts: ['127.0.0.1'],
    smtp: smtpAuthCheck({ ca, timeoutMs: 5_000 }),
    consistencyAttempts,
    sleep: async () => undefined,
  });
}

let users = 0;
async function smtpCredential(port = smtp.port) {
  users += 1;
  const userName = `ses-${users}`;
  const key = iam.addUser(userName);
  const secretPath = `smtp/${userName}`;
  const id = await h.addCredential(
    {
      type: 'ses-smtp',
      name: `${userName} SMTP`,
      secretPath,
      settings: { userName, smtp: { regions: REGIONS, endpoint: `127.0.0.1:${port}` } },
      policy: policy(),
    },
    { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
  );
  return { id, secretPath, userName, key };
}

function engineWith(inner: Rotator<SesSmtpSettings>, faulty = false): RotationEngine {
  return h.engine({ 'ses-smtp': inner }, { faulty });
}

async function current(path: string) {
  const read = await h.secrets.read(TENANT, path);
  return { version: read.metadata.version, data: read.data };
}

describe('an ses-smtp rotation', () => {
  it('stores the new key as SMTP user name, a password and an endpoint per region, proven by SMTP AUTH over STARTTLS', async () => {
    // Prepare
    const { id, secretPath, userName, key: old } = await smtpCredential();

    // Act
    const record = await runManualRotation(engineWith(rotator()), id);

    // Assess
    expect(record.state).toBe('succeeded');
    const fresh = iam.keysOf(userName).find((key) => key.accessKeyId !== old.accessKeyId) as FakeKey;
    const { version, data } = await current(secretPath);
    expect(version).toBe(2);
    expect(Object.keys(data).sort()).toEqual(
      [
        'accessKeyId',
        'secretAccessKey',
        'smtpUsername',
        'smtpPassword.us-east-1',
        'smtpPassword.eu-west-1',
        'smtpEndpoint.us-east-1',
        'smtpEndpoint.eu-west-1',
      ].sort(),
    );
    expect(data.smtpUsername).toBe(fresh.accessKeyId);
    expect(data['smtpEndpoint.eu-west-1']).toBe(`127.0.0.1:${smtp.port}`);
    // The server checked each stored password against the Python derivation, after STARTTLS.
    expect(smtp.logins).toEqual([
      { username: fresh.accessKeyId, region: 'us-east-1', secure: true },
      { username: fresh.accessKeyId, region: 'eu-west-1', secure: true },
    ]);
    expect(data['smtpPassword.us-east-1']).not.toBe(data['smtpPassword.eu-west-1']);
    expect(iam.snapshot(userName)).toEqual({ [old.accessKeyId]: 'Active', [fresh.accessKeyId]: 'Active' });
    expect(record.retirement).toMatchObject({
      nextPhase: 'deactivate',
      ref: { accessKeyId: old.accessKeyId },
    });
  });

  it('retires the old key like the IAM rotator: deactivated after the grace period, then deleted', async () => {
    // Prepare
    const { id, userName, key: old } = await smtpCredential();
    const engine = engineWith(rotator());
    const record = await runManualRotation(engine, id);
    const ref = { tenant: TENANT, credentialId: id, rotationId: record.rotationId };

    // Act
    h.clock.advance(10 * DAY_MS + 1000);
    await engine.retire(ref);
    const afterDeactivate = iam.snapshot(userName)[old.accessKeyId];
    h.clock.advance(10 * DAY_MS + 1000);
    await engine.retire(ref);

    // Assess
    expect(afterDeactivate).toBe('Inactive');
    expect(iam.snapshot(userName)[old.accessKeyId]).toBeUndefined();
    expect(iam.keysOf(userName)).toHaveLength(1);
  });

  it('waits while the new key is still unknown to SES (IAM propagation)', async () => {
    // Prepare
    const { id, secretPath } = await smtpCredential();
    smtp.propagationLogins = 3;

    // Act
    const record = await runManualRotation(engineWith(rotator(6)), id);

    // Assess
    expect(record.state).toBe('succeeded');
    expect(smtp.logins.filter((login) => login.region === undefined)).toHaveLength(3);
    expect((await current(secretPath)).version).toBe(2);
  });

  it('rolls back when SMTP keeps refusing the new password: the new key is deleted, the old one stays current', async () => {
    // Prepare
    const { id, secretPath, userName, key: old } = await smtpCredential();
    smtp.refuseAll = true;

    // Act
    const record = await runManualRotation(engineWith(rotator()), id);

    // Assess
    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^test: RotationTestFailed: The SMTP endpoint 127\.0\.0\.1:\d+ refused/);
    expect(iam.snapshot(userName)).toEqual({ [old.accessKeyId]: 'Active' });
    expect(await current(secretPath)).toMatchObject({ version: 1, data: { accessKeyId: old.accessKeyId } });
    expect(await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId)).toBeUndefined();
  });

  it('treats an unreachable SMTP endpoint as transient and finishes once it answers', async () => {
    // Prepare: a port nobody listens on (the server's, taken from a closed one).
    const closed = await SesSmtpServer.start(REGIONS);
    const deadPort = closed.port;
    await closed.close();
    const { id, secretPath, userName, key: old } = await smtpCredential(deadPort);
    const key = await startManualRotation(engineWith(rotator()), id);

    // Act: the first run finds nobody listening; the second finds a server on that port.
    const first = engineWith(rotator()).run(key);
    await expect(first).rejects.toThrow(DependencyUnavailableError);
    const versionWhileDown = (await current(secretPath)).version;
    const revived = await SesSmtpServer.start(REGIONS, deadPort);
    revived.iamKeys = () => iam.keys;
    try {
      const rerun = engineWith(smtpRotator(revived.ca));
      const record = (await rerun.run(key)).record;

      // Assess: nothing was promoted while the server was down; the retry finished the rotation.
      expect(versionWhileDown).toBe(1);
      expect(record.state).toBe('succeeded');
      expect((await current(secretPath)).version).toBe(2);
      expect(iam.keysOf(userName).map((k) => k.accessKeyId)).toContain(old.accessKeyId);
      expect(revived.logins.every((login) => login.region !== undefined)).toBe(true);
    } finally {
      await revived.close();
    }
  });

  it('refuses settings that would send a password to an arbitrary host, or name no valid region', () => {
    // Prepare
    const strict = createSesSmtpRotator({
      iam: {
        iam: new IAMClient({ region: 'us-east-1', credentials: FAKE_CREDENTIALS }),
        sts: (credentials) => new STSClient({ region: 'us-east-1', credentials }),
      },
      defaultRegion: 'eu-west-1',
    });
    const paths = (raw: unknown) => {
      try {
        strict.parseSettings(raw);
        return [];
      } catch (error: unknown) {
        if (!(error instanceof ValidationError)) throw error;
        return (error.details as { issues: { path: string }[] }).issues.map((issue) => issue.path);
      }
    };

    // Act / Assess
    expect(
      paths({ userName: 'svc', smtp: { regions: ['eu-west-1'], endpoint: 'mail.example.com:587' } }),
    ).toEqual(['smtp.endpoint']);
    expect(paths({ userName: 'svc', smtp: { regions: ['Europe'] } })).toEqual(['smtp.regions.0']);
    expect(paths({ userName: 'svc', smtp: { regions: ['eu-west-1', 'eu-west-1'] } })).toEqual([
      'smtp.regions',
    ]);
    expect(
      paths({
        userName: 'svc',
        smtp: { regions: ['eu-west-1'], endpoint: 'vpce-1.email-smtp.{region}.vpce.amazonaws.com' },
      }),
    ).toEqual([]);
    expect(strict.parseSettings({ userName: 'svc' })).toEqual({
      userName: 'svc',
      secretsManagerCopy: false,
      smtp: { regions: ['eu-west-1'] },
    });
  });
});

describe('crash safety', () => {
  it('leaves one current version and exactly the old and the new key after a crash anywhere and a retry', async () => {
    // Prepare: the calls of one clean rotation are the places to crash.
    const probe = await smtpCredential();
    h.faults.calls.length = 0;
    await runManualRotation(engineWith(rotator(), true), probe.id);
    const points = crashPoints(h.faults.calls);
    expect(points.length).toBeGreaterThan(10);

    // Act + Assess: a crash (or a process dying) at each point, then a retry.
    await sweepCrashes(h, points, {
      engine: () => engineWith(rotator(), true),
      prepare: () => smtpCredential(),
      attempt: async (engine, { id }) =>
        (await engine.run(await startManualRotation(engine, id, `crash-${id}`))).record,
      afterCrash: ({ userName, key: old }, point) => {
        expect(iam.snapshot(userName)[old.accessKeyId], point).toBe('Active');
      },
      verify: async (record, { id, secretPath, userName, key: old }, point) => {
        expect(record.state, point).toBe('succeeded');
        const now = await current(secretPath);
        expect(now.version, point).toBe(2);
        expect(now.data.smtpUsername, point).toBe(now.data.accessKeyId);
        expect(iam.snapshot(userName), point).toEqual({
          [old.accessKeyId]: 'Active',
          [now.data.accessKeyId ?? '']: 'Active',
        });
        expect(
          await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId),
        ).toBeUndefined();
      },
    });
  }, 240_000);
});

describe('values stay secret', () => {
  it('keeps secret keys and SMTP passwords out of records, audit events and events', async () => {
    // Prepare
    const { id, secretPath, key: old } = await smtpCredential();
    // Act
    const record = await runManualRotation(engineWith(rotator()), id);
    // Assess
    const { data } = await current(secretPath);
    const everything = JSON.stringify([record, h.audit.events, h.bus.events]);
    const secrets = [
      data.secretAccessKey ?? '',
      data['smtpPassword.us-east-1'] ?? '',
      data['smtpPassword.eu-west-1'] ?? '',
      old.secretAccessKey,
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      expect(everything).not.toContain(secret);
    }
  });
});
