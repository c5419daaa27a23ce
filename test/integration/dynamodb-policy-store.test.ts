/**
 * The DynamoDB policy store on dynalite with the real settings table spec: CRUD with revisions,
 * conditional writes under contention, attachments, tenant isolation and validation.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Policy } from '../../lambdas/core/access/policy.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lambdas/core/errors.js';
import type { Clock } from '../../lambdas/core/ports.js';
import { DynamoDbPolicyStore } from '../../lambdas/adapters/aws/dynamodb-policy-store.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';

const TABLE = localTableName('settings');
/** Client ids shaped like Cognito's (and the local issuer's): 26 lowercase letters and digits. */
const CI_CLIENT = '4h5kq7f8m2n3p9r1s6t0v2w4xy';
const OTHER_CLIENT = '7a1b2c3d4e5f6g7h8j9k0m1n2p';
const clock: Clock = { now: () => new Date('2025-03-01T12:00:00.000Z') };

let dynamo: LocalDynamo;
let client: DynamoDBDocumentClient;
let store: DynamoDbPolicyStore;
/** The DynamoDB operations the store sent, by command name, since the last reset. */
const sent: string[] = [];

beforeAll(async () => {
  dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  store = new DynamoDbPolicyStore(client, TABLE, { clock });
});

beforeEach(() => {
  sent.length = 0;
});

afterAll(async () => {
  client.destroy();
  // dynalite reports a clean close as `null`, which LocalDynamo#close rejects with; only a real error fails.
  await dynamo.close().catch((error: unknown) => {
    if (error !== null) throw error;
  });
});

/** What `promise` rejected with; fails the test if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

function policy(name: string, ...rules: Policy['rules']): Policy {
  return { name, rules };
}

const readProd = policy('read-prod', { path: 'prod/*', capabilities: ['read', 'list'] });
const denyHr = policy('deny-hr', { path: 'hr/*', capabilities: ['deny'] });

describe('DynamoDbPolicyStore policies', () => {
  it('puts, gets, lists and deletes, counting revisions from 1', async () => {
    // Prepare
    const tenant = 'crud';
    const widened = policy('read-prod', { path: 'prod/*', capabilities: ['read', 'list', 'update'] });

    // Act
    const created = await store.put(tenant, readProd);
    const updated = await store.put(tenant, widened);
    await store.put(tenant, denyHr);
    const listed = await store.list(tenant);
    const fetched = await store.get(tenant, 'read-prod');
    await store.delete(tenant, 'deny-hr');

    // Assess
    expect(created).toEqual({ policy: readProd, revision: 1, updatedAt: '2025-03-01T12:00:00.000Z' });
    expect(updated.revision).toBe(2);
    expect(fetched).toEqual(updated);
    expect(listed.map(({ policy: { name }, revision }) => [name, revision])).toEqual([
      ['deny-hr', 1],
      ['read-prod', 2],
    ]);
    expect(await store.get(tenant, 'deny-hr')).toBeUndefined();
    expect((await store.list(tenant)).map(({ policy: { name } }) => name)).toEqual(['read-prod']);
  });

  it('deleting a policy that does not exist is NotFoundError', async () => {
    await expect(store.delete('crud-missing', 'nothing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('writes with expectedRevision only at that revision, else ConflictError with the current one', async () => {
    // Prepare: a policy at revision 2.
    const tenant = 'cas';
    await store.put(tenant, readProd);
    await store.put(tenant, readProd);

    // Act
    const stale = await rejection(
      store.put(tenant, { ...readProd, rules: denyHr.rules }, { expectedRevision: 1 }),
    );
    const createExisting = await rejection(store.put(tenant, readProd, { expectedRevision: 0 }));
    const staleDelete = await rejection(store.delete(tenant, 'read-prod', { expectedRevision: 1 }));
    const missingAtRevision = await rejection(store.put(tenant, denyHr, { expectedRevision: 3 }));

    // Assess: refused with 409 and the current revision, and nothing changed.
    expect(stale).toBeInstanceOf(ConflictError);
    expect(stale).toMatchObject({ code: 'Conflict', details: { currentRevision: 2 } });
    expect(createExisting).toMatchObject({ code: 'Conflict', details: { currentRevision: 2 } });
    expect(staleDelete).toBeInstanceOf(ConflictError);
    expect(missingAtRevision).toMatchObject({ code: 'Conflict', details: { currentRevision: 0 } });
    expect(await store.get(tenant, 'read-prod')).toMatchObject({ policy: readProd, revision: 2 });
    expect(await store.get(tenant, 'deny-hr')).toBeUndefined();

    // Act: the right revisions go through.
    const created = await store.put(tenant, denyHr, { expectedRevision: 0 });
    const next = await store.put(tenant, readProd, { expectedRevision: 2 });
    await store.delete(tenant, 'deny-hr', { expectedRevision: 1 });

    // Assess
    expect(created.revision).toBe(1);
    expect(next.revision).toBe(3);
    expect(await store.get(tenant, 'deny-hr')).toBeUndefined();
  });

  it('lets exactly one of 20 concurrent writers at the same revision win', async () => {
    // Prepare
    const tenant = 'race';
    await store.put(tenant, readProd);
    const contenders = Array.from({ length: 20 }, (_, index) =>
      policy('read-prod', { path: `prod/app${index}/*`, capabilities: ['read'] }),
    );

    // Act
    const results = await Promise.allSettled(
      contenders.map((contender) => store.put(tenant, contender, { expectedRevision: 1 })),
    );

    // Assess: one winner, 19 conflicts, and the stored policy is the winner's.
    const won = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const lost = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    expect(lost.every((reason) => reason instanceof ConflictError)).toBe(true);
    expect(await store.get(tenant, 'read-prod')).toEqual(won[0]);
    expect(won[0]?.revision).toBe(2);
  });

  it.each<[string, unknown]>([
    ['an unknown capability', policy('bad', { path: 'prod/*', capabilities: ['sudo' as 'read'] })],
    ['a path with a star inside', policy('bad', { path: 'prod/*/db', capabilities: ['read'] })],
    ['no rules', policy('bad')],
    ['a name with a slash', policy('a/b', { path: 'prod/*', capabilities: ['read'] })],
    ['an unknown field', { ...readProd, name: 'bad', description: 'extra' }],
  ])('refuses a policy with %s as ValidationError with the zod issues', async (_, invalid) => {
    // Act
    const attempt = store.put('invalid', invalid as Policy);

    // Assess: 400 with issues, nothing stored, nothing sent.
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toMatchObject({
      details: { issues: [expect.objectContaining({ code: expect.any(String) })] },
    });
    expect(sent).toEqual([]);
    expect(await store.list('invalid')).toEqual([]);
  });

  it('refuses an invalid tenant, name or expectedRevision before touching the table', async () => {
    await expect(store.list('Acme#1')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.get('acme', 'no/slash')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.put('acme', readProd, { expectedRevision: -1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(store.delete('acme', 'read-prod', { expectedRevision: 0 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(sent).toEqual([]);
  });

  it('reads every page of a tenant with more policies than one Query page holds', async () => {
    // Prepare: 14 policies of 256 long rules each, about 1.3 MB, past Query's 1 MB page.
    const tenant = 'large';
    const segment = 'a'.repeat(120);
    const big = (name: string): Policy =>
      policy(
        name,
        ...Array.from({ length: 256 }, (_, index) => ({
          path: `${segment}/${segment}/${segment}/r${index}/*`,
          capabilities: ['read' as const],
        })),
      );
    const names = Array.from({ length: 14 }, (_, index) => `big-${String(index).padStart(2, '0')}`);
    for (const name of names) await store.put(tenant, big(name));
    sent.length = 0;

    // Act
    const listed = await store.list(tenant);

    // Assess: all of them, over more than one Query.
    expect(listed.map(({ policy: { name } }) => name)).toEqual(names);
    expect(sent.filter((command) => command === 'QueryCommand').length).toBeGreaterThan(1);
  });
});

describe('DynamoDbPolicyStore attachments', () => {
  it('resolves the policies attached to groups and clients with two Queries', async () => {
    // Prepare
    const tenant = 'attach';
    await store.put(tenant, readProd);
    await store.put(tenant, denyHr);
    await store.attach(tenant, { group: 'viewer' }, ['deny-hr']);
    await store.attach(tenant, { group: 'operator' }, ['read-prod', 'deny-hr', 'read-prod']);
    await store.attach(tenant, { clientId: CI_CLIENT }, ['read-prod']);
    sent.length = 0;

    // Act
    const attached = await store.attachments(tenant);

    // Assess
    expect(attached).toEqual({
      byGroup: { viewer: [denyHr], operator: [readProd, denyHr] },
      byClient: { [CI_CLIENT]: [readProd] },
    });
    expect(sent).toEqual(['QueryCommand', 'QueryCommand']);
  });

  it('replaces a holder list on attach, detaches with [] and ignores deleted policies', async () => {
    // Prepare
    const tenant = 'reattach';
    await store.put(tenant, readProd);
    await store.put(tenant, denyHr);
    await store.attach(tenant, { group: 'operator' }, ['read-prod', 'deny-hr']);
    await store.attach(tenant, { clientId: OTHER_CLIENT }, ['read-prod']);

    // Act
    await store.attach(tenant, { group: 'operator' }, ['deny-hr']);
    await store.attach(tenant, { clientId: OTHER_CLIENT }, []);
    await store.attach(tenant, { group: 'viewer' }, ['read-prod', 'deny-hr']);
    await store.delete(tenant, 'read-prod');

    // Assess
    expect(await store.attachments(tenant)).toEqual({
      byGroup: { operator: [denyHr], viewer: [denyHr] },
      byClient: {},
    });
  });

  it('refuses unknown policies, unknown groups and malformed client ids', async () => {
    // Prepare
    const tenant = 'attach-invalid';
    await store.put(tenant, readProd);

    // Act
    const unknownPolicy = await rejection(store.attach(tenant, { group: 'viewer' }, ['read-prod', 'nope']));
    const unknownGroup = await rejection(store.attach(tenant, { group: 'root' as 'admin' }, ['read-prod']));
    const badClient = await rejection(store.attach(tenant, { clientId: 'ci#x' }, ['read-prod']));
    const tooMany = await rejection(
      store.attach(
        tenant,
        { group: 'viewer' },
        Array.from({ length: 65 }, (_, index) => `p${index}`),
      ),
    );

    // Assess
    expect(unknownPolicy).toMatchObject({ code: 'ValidationError', details: { unknownPolicies: ['nope'] } });
    expect(unknownGroup).toBeInstanceOf(ValidationError);
    expect(badClient).toBeInstanceOf(ValidationError);
    expect(tooMany).toBeInstanceOf(ValidationError);
    expect(await store.attachments(tenant)).toEqual({ byGroup: {}, byClient: {} });
  });
});

describe('DynamoDbPolicyStore tenant isolation', () => {
  it("never shows, changes or attaches another tenant's policies", async () => {
    // Prepare: tenant a has a policy attached; tenant b has a same-named, different one.
    await store.put('tenant-a', readProd);
    await store.attach('tenant-a', { group: 'viewer' }, ['read-prod']);
    const other = policy('read-prod', { path: 'b/*', capabilities: ['read'] });

    // Act + Assess: b sees nothing of a.
    expect(await store.list('tenant-b')).toEqual([]);
    expect(await store.get('tenant-b', 'read-prod')).toBeUndefined();
    expect(await store.attachments('tenant-b')).toEqual({ byGroup: {}, byClient: {} });
    await expect(store.delete('tenant-b', 'read-prod')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.attach('tenant-b', { group: 'viewer' }, ['read-prod'])).rejects.toBeInstanceOf(
      ValidationError,
    );

    // Act: b writes its own policy of the same name.
    const created = await store.put('tenant-b', other, { expectedRevision: 0 });

    // Assess: a is untouched.
    expect(created.revision).toBe(1);
    expect(await store.get('tenant-a', 'read-prod')).toMatchObject({ policy: readProd, revision: 1 });
    expect(await store.attachments('tenant-a')).toEqual({ byGroup: { viewer: [readProd] }, byClient: {} });
  });
});
