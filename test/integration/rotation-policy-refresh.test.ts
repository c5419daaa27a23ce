/**
 * The due-time refresh after a rotation policy write, on dynalite with the real stores: a refresh
 * the store refuses after the policy was stored leaves the write answered as done (and the loss
 * reported), the write's mark stays on the policy item, and the next scheduler run recomputes the
 * due times and clears the mark; a delete leaves a tombstone no read shows, removed by the refresh;
 * a refresh never clears the mark of a write it did not see.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDueCredentials } from '../../lambdas/adapters/aws/dynamodb-due-credentials.js';
import {
  DynamoDbRotationPolicyStore,
  DynamoDbRotationStore,
} from '../../lambdas/adapters/aws/dynamodb-rotation-store.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import { CredentialInventory } from '../../lambdas/core/credentials/inventory.js';
import { DEFAULT_DISCOVERY_SETTINGS } from '../../lambdas/core/discovery/settings.js';
import { type ConflictError, DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { DueTimeRefresh } from '../../lambdas/core/rotation/due-time-refresh.js';
import { InventoryRotationTargets } from '../../lambdas/core/rotation/inventory-targets.js';
import { RotationAccess } from '../../lambdas/core/rotation/rotation-access.js';
import type { RotationJob } from '../../lambdas/core/rotation/rotation-queue.js';
import { RotationScheduler } from '../../lambdas/core/rotation/scheduler.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { createRotators } from '../../lambdas/rotators/index.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import { DAY, daysAgo, NOW } from '../support/credentials.js';

let dynamo: LocalDynamo;
let client: DynamoDBDocumentClient;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

let tenantCount = 0;

/** The parts for one fresh tenant; `refusing.list` makes the refresh's credential listing fail. */
function setup() {
  tenantCount += 1;
  const tenant = `refresh${tenantCount}x${Date.now().toString(36)}`;
  const credentials = new DynamoDbCredentialStore(client, localTableName('credentials'));
  const policies = new DynamoDbRotationPolicyStore(client, localTableName('settings'));
  const rotators = createRotators({
    iam: {
      iam: new IAMClient({ region: 'us-east-1' }),
      sts: (identity) => new STSClient({ region: 'us-east-1', credentials: identity }),
    },
  });
  const registrar = new InventoryRotationTargets(credentials, async () => undefined, policies, rotators);
  const audited: AuditEvent[] = [];
  const clock = { now: () => NOW };
  const inventory = new CredentialInventory(
    credentials,
    { get: async () => DEFAULT_DISCOVERY_SETTINGS, put: async () => DEFAULT_DISCOVERY_SETTINGS },
    { record: async (event) => void audited.push(event) },
    { publish: async () => undefined },
    clock,
    { rotation: registrar },
  );
  const refusing = { list: false };
  const deferred: { tenant: string; error: DependencyUnavailableError | ConflictError }[] = [];
  const refresh = new DueTimeRefresh(
    {
      marks: policies,
      credentials: async (of) => {
        if (refusing.list) {
          throw new DependencyUnavailableError('The credential inventory is unavailable; retry shortly', 1);
        }
        return credentials.list(of);
      },
      nextDue: (credential) => registrar.nextDue(credential),
      record: (of, id, update) => inventory.recordRotation(of, id, update),
    },
    (error, of) => deferred.push({ tenant: of, error }),
  );
  // Policy writes use none of the engine, the rotation store, the queue or the rollback runner.
  const unused = {} as never;
  const access = new RotationAccess(
    unused,
    unused,
    policies,
    unused,
    unused,
    { record: async (event) => void audited.push(event) },
    clock,
    unused,
    (of) => refresh.refreshOrDefer(of),
  );
  const queued: RotationJob[] = [];
  const scheduler = new RotationScheduler(
    new DynamoDbDueCredentials(client, localTableName('credentials')),
    new DynamoDbRotationStore(client, localTableName('rotations')),
    async () => [tenant],
    { send: async (jobs) => void queued.push(...jobs) },
    { dueTimes: refresh },
  );
  const admin: Caller = {
    principal: {
      kind: 'user',
      subject: 'sub-admin',
      username: 'ada',
      tenant,
      roles: ['admin'],
      scopes: [],
      clientId: 'dashboard',
    },
    requestId: 'req-1',
  };
  return {
    tenant,
    credentials,
    policies,
    inventory,
    access,
    refresh,
    scheduler,
    queued,
    refusing,
    deferred,
    audited,
    admin,
  };
}

type Parts = ReturnType<typeof setup>;

/** Registers a vault-secret credential created ten days ago under the named policy. */
function registerUnder(parts: Parts, policy: string) {
  return parts.inventory.register(parts.admin, {
    type: 'vault-secret',
    name: `token under ${policy}`,
    secretPath: `apps/${policy}/token`,
    generator: { length: 40, field: 'token' },
    createdAt: daysAgo(10),
    rotationPolicy: policy,
  });
}

/** Days from NOW to the stored credential's due time. */
async function daysToDue(parts: Parts, id: string): Promise<number | undefined> {
  const dueAt = (await parts.credentials.get(parts.tenant, id))?.rotation?.dueAt;
  return dueAt === undefined ? undefined : (Date.parse(dueAt) - NOW.getTime()) / DAY;
}

function rawPolicyItem(parts: Parts, name: string) {
  return client
    .send(
      new GetCommand({
        TableName: localTableName('settings'),
        Key: { pk: parts.tenant, sk: `rotation-policy#${name}` },
        ConsistentRead: true,
      }),
    )
    .then((answer) => answer.Item);
}

describe('the due-time refresh after a rotation policy write', () => {
  it('refreshes at once when it can, and leaves no mark', async () => {
    // Prepare
    const parts = setup();
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 30 });
    const created = await registerUnder(parts, 'monthly');

    // Act
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 90 }, 1);

    // Assess
    expect(await daysToDue(parts, created.id)).toBe(80);
    expect(await parts.policies.staleDueTimes(parts.tenant)).toEqual([]);
    expect(parts.deferred).toEqual([]);
  });

  it('answers a put as done when the refresh is refused, and the next scheduler run carries it out', async () => {
    // Prepare
    const parts = setup();
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 30 });
    const created = await registerUnder(parts, 'monthly');
    expect(await daysToDue(parts, created.id)).toBe(20);
    parts.refusing.list = true;

    // Act
    const stored = await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 90 }, 1);

    // Assess
    expect(stored).toMatchObject({ revision: 2, policy: { intervalDays: 90 } });
    expect((await parts.policies.get(parts.tenant, 'monthly'))?.policy.intervalDays).toBe(90);
    expect(await daysToDue(parts, created.id)).toBe(20);
    expect(parts.deferred.map((entry) => [entry.tenant, entry.error.name])).toEqual([
      [parts.tenant, 'DependencyUnavailableError'],
    ]);
    expect(await parts.policies.staleDueTimes(parts.tenant)).toEqual([
      { name: 'monthly', mark: expect.any(String) },
    ]);
    expect(parts.audited.filter((event) => event.action === 'rotation.policy.write').at(-1)?.outcome).toBe(
      'allowed',
    );

    // Act: the store answers again; the scheduler's next run
    parts.refusing.list = false;
    const run = await parts.scheduler.run(NOW);

    // Assess
    expect(run.refreshedTenants).toBe(1);
    expect(await daysToDue(parts, created.id)).toBe(80);
    expect(await parts.policies.staleDueTimes(parts.tenant)).toEqual([]);
    expect((await parts.scheduler.run(NOW)).refreshedTenants).toBe(0);
  });

  it('refreshes before it reads the due index, so a credential the new policy made due is queued in the same run', async () => {
    // Prepare: registered ten days ago under 30 days; the new policy makes it five days overdue
    const parts = setup();
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 30 });
    const created = await registerUnder(parts, 'monthly');
    parts.refusing.list = true;
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 5 });
    parts.refusing.list = false;

    // Act
    const run = await parts.scheduler.run(NOW);

    // Assess
    expect(await daysToDue(parts, created.id)).toBe(-5);
    expect(run.dueCredentials).toBeGreaterThanOrEqual(1);
    expect(parts.queued).toContainEqual(
      expect.objectContaining({ kind: 'rotate', tenant: parts.tenant, credentialId: created.id }),
    );
  });

  it('keeps the mark while the scheduler finds the store refusing too, and reports that', async () => {
    // Prepare
    const parts = setup();
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 30 });
    const created = await registerUnder(parts, 'monthly');
    parts.refusing.list = true;
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 90 });
    const reportedBefore = parts.deferred.length;

    // Act: the scheduler's refresh meets the same refusing store
    const run = await parts.scheduler.run(NOW);

    // Assess
    const reported = parts.deferred.slice(reportedBefore);
    expect(run.refreshedTenants).toBe(0);
    expect(reported.map((entry) => entry.tenant)).toEqual([parts.tenant]);
    expect(await daysToDue(parts, created.id)).toBe(20);
    expect(await parts.policies.staleDueTimes(parts.tenant)).toHaveLength(1);
  });

  it('answers a delete as done when the refresh is refused; its tombstone is hidden, then removed by the refresh', async () => {
    // Prepare
    const parts = setup();
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 30 });
    const created = await registerUnder(parts, 'monthly');
    parts.refusing.list = true;

    // Act
    await parts.access.deletePolicy(parts.admin, 'monthly');

    // Assess
    expect(await parts.policies.get(parts.tenant, 'monthly')).toBeUndefined();
    expect(await parts.policies.list(parts.tenant)).toEqual([]);
    await expect(parts.access.deletePolicy(parts.admin, 'monthly')).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    expect(await rawPolicyItem(parts, 'monthly')).toMatchObject({ deleted: true });
    expect(await daysToDue(parts, created.id)).toBe(20);

    // Act: the next scheduler run
    parts.refusing.list = false;
    await parts.scheduler.run(NOW);

    // Assess: no policy, no due time; the tombstone is gone
    expect(await daysToDue(parts, created.id)).toBeUndefined();
    expect(await rawPolicyItem(parts, 'monthly')).toBeUndefined();
    expect(await parts.policies.staleDueTimes(parts.tenant)).toEqual([]);
  });

  it('creates a policy in place of a tombstone, from revision 1', async () => {
    // Prepare
    const parts = setup();
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 30 });
    parts.refusing.list = true;
    await parts.access.deletePolicy(parts.admin, 'monthly');

    // Act
    const stored = await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 45 }, 0);

    // Assess
    expect(stored.revision).toBe(1);
    expect(await parts.policies.get(parts.tenant, 'monthly')).toMatchObject({
      revision: 1,
      policy: { intervalDays: 45 },
    });
  });

  it('lets an error other than an unavailable store or a conflict (a bug) fail the policy write', async () => {
    // Prepare
    const parts = setup();
    const unused = {} as never;
    const buggy = new DueTimeRefresh(
      {
        marks: parts.policies,
        credentials: () => Promise.reject(new TypeError('a bug in the refresh')),
        nextDue: unused,
        record: unused,
      },
      (error) => parts.deferred.push({ tenant: parts.tenant, error }),
    );
    const access = new RotationAccess(
      unused,
      unused,
      parts.policies,
      unused,
      unused,
      { record: async () => undefined },
      { now: () => NOW },
      unused,
      (of) => buggy.refreshOrDefer(of),
    );

    // Act
    const writing = access.putPolicy(parts.admin, 'monthly', { intervalDays: 30 });

    // Assess
    await expect(writing).rejects.toBeInstanceOf(TypeError);
    expect(parts.deferred).toEqual([]);
  });

  it('never clears the mark of a write the refresh did not see', async () => {
    // Prepare
    const parts = setup();
    parts.refusing.list = true;
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 30 });
    const seen = await parts.policies.staleDueTimes(parts.tenant);
    await parts.access.putPolicy(parts.admin, 'monthly', { intervalDays: 60 });

    // Act
    await parts.policies.clearStaleDueTimes(parts.tenant, seen);

    // Assess
    const left = await parts.policies.staleDueTimes(parts.tenant);
    expect(left).toHaveLength(1);
    expect(left[0]?.mark).not.toBe(seen[0]?.mark);
  });
});
