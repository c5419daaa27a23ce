/**
 * The inventory's DynamoDB stores on dynalite with the real table specs: conditional writes on
 * revisions, name- and expiry-ordered listing partitions and their counters (with the one-off upgrade of older
 * items), history newest first, the tenant
 * registry, run records newest first with cursors, and settings with check-and-set.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoveryRunStore } from '../../lambdas/adapters/aws/dynamodb-discovery-run-store.js';
import { DynamoDbDiscoverySettingsStore } from '../../lambdas/adapters/aws/dynamodb-discovery-settings-store.js';
import type { CredentialChange } from '../../lambdas/core/credentials/credential-store.js';
import {
  expiryKeyOf,
  type InventoryPartition,
  nameKeyOf,
} from '../../lambdas/core/credentials/inventory-pages.js';
import { newRun } from '../../lambdas/core/discovery/engine.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lambdas/core/errors.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import { accessKey, credential, DAY, NOW } from '../support/credentials.js';

let dynamo: LocalDynamo;
let documents: DynamoDBDocumentClient;
let store: DynamoDbCredentialStore;
let runs: DynamoDbDiscoveryRunStore;
let settings: DynamoDbDiscoverySettingsStore;

const id = (n: number): string => `cr_${n.toString(16).padStart(24, '0')}`;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  store = new DynamoDbCredentialStore(documents, localTableName('credentials'));
  runs = new DynamoDbDiscoveryRunStore(documents, localTableName('credentials'));
  settings = new DynamoDbDiscoverySettingsStore(documents, localTableName('settings'));
});

afterAll(async () => {
  documents.destroy();
  await dynamo.close().catch((error: unknown) => {
    if (error !== null) throw error;
  });
});

async function rawItem(tenant: string, credentialId: string): Promise<Record<string, unknown>> {
  const { Item } = await documents.send(
    new GetCommand({
      TableName: localTableName('credentials'),
      Key: { pk: tenant, sk: `cred#${credentialId}` },
    }),
  );
  if (Item === undefined) throw new Error('missing item');
  return Item;
}

describe('DynamoDbCredentialStore', () => {
  it('round-trips a credential exactly, undefined fields included', async () => {
    const stored = accessKey({ id: id(1), tenant: 'store', owner: 'alice', tags: { env: 'prod' } });
    await store.create(stored);
    expect(await store.get('store', id(1))).toEqual(stored);
    expect(await store.get('other', id(1))).toBeUndefined();
  });

  it('creates once and replaces only at the expected revision', async () => {
    const first = credential({ id: id(2), tenant: 'store' });
    await store.create(first);
    await expect(store.create(first)).rejects.toBeInstanceOf(ConflictError);
    await store.replace({ ...first, owner: 'bob', revision: 2 }, 1);
    await expect(store.replace({ ...first, owner: 'carol', revision: 2 }, 1)).rejects.toMatchObject({
      name: 'ConflictError',
      details: { revision: 2 },
    });
    await expect(store.replace({ ...first, id: id(99), revision: 2 }, 1)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(store.delete('store', id(2), 1)).rejects.toBeInstanceOf(ConflictError);
    await store.delete('store', id(2), 2);
    expect(await store.get('store', id(2))).toBeUndefined();
  });

  it('reads name-ordered index partitions in chunks and moves items between them on a change', async () => {
    // Prepare
    await store.create(
      credential({ id: id(3), tenant: 'list', name: 'Beta', type: 'api-token', status: 'expiring' }),
    );
    await store.create(
      credential({ id: id(4), tenant: 'list', name: 'alpha', type: 'github-token', status: 'healthy' }),
    );
    await store.create(
      accessKey({ id: id(5), tenant: 'list', name: 'gamma', status: 'expiring', owner: 'Ops' }),
    );
    const names = async (partition: InventoryPartition, after?: string, descending = false) =>
      (await store.readPartition('list', partition, { after, limit: 2, descending })).items.map(
        (c) => c.name,
      );

    // Act + Assess: whole inventory in name order (case-insensitive), in chunks and backwards.
    const all: InventoryPartition = { dimension: 'all', value: '' };
    const first = await store.readPartition('list', all, { after: undefined, limit: 2, descending: false });
    expect(first.items.map((c) => c.name)).toEqual(['alpha', 'Beta']);
    expect(first.exhausted).toBe(false);
    expect(await names(all, nameKeyOf(first.items[1]!))).toEqual(['gamma']);
    expect(await names(all, undefined, true)).toEqual(['gamma', 'Beta']);
    expect(await names({ dimension: 'type', value: 'api-token' })).toEqual(['Beta']);
    expect(await names({ dimension: 'status', value: 'expiring' })).toEqual(['Beta', 'gamma']);
    expect(await names({ dimension: 'owner', value: 'ops' })).toEqual(['gamma']);
    expect(await names({ dimension: 'source', value: 'discovered' })).toEqual(['gamma']);
    // A status change moves the item in the status index.
    const moved = await store.get('list', id(3));
    if (moved === undefined) throw new Error('missing');
    await store.replace({ ...moved, status: 'healthy', revision: 2 }, 1);
    expect(await names({ dimension: 'status', value: 'expiring' })).toEqual(['gamma']);
    expect((await store.list('list')).map((c) => c.id)).toEqual([id(3), id(4), id(5)]);
  });

  it('keeps the listing counters with every write once they exist', async () => {
    // Prepare: a tenant with one credential and no counters yet.
    const tenant = 'counted';
    await store.create(credential({ id: id(20), tenant, type: 'api-token', status: 'healthy' }));
    expect(await store.readCounts(tenant)).toBeUndefined();

    // Act: the first listing rebuilds them; later writes move them.
    const rebuilt = await store.rebuildCounts(tenant);
    await store.create(credential({ id: id(21), tenant, type: 'api-token', status: 'expiring' }));
    const second = await store.get(tenant, id(21));
    if (second === undefined) throw new Error('missing');
    await store.replace({ ...second, status: 'overdue', revision: 2 }, 1);
    await store.delete(tenant, id(20), 1);
    const counts = await store.readCounts(tenant);

    // Assess
    expect(rebuilt).toMatchObject({ all: 1, 'type#api-token': 1, 'status#healthy': 1 });
    expect(counts).toMatchObject({
      all: 1,
      'type#api-token': 1,
      'status#healthy': 0,
      'status#expiring': 0,
      'status#overdue': 1,
    });
  });

  it('brings items written before the listing indexes into them when it rebuilds the counters', async () => {
    // Prepare: an item as the previous version wrote it (no nameKey, listKey, sourceKey...).
    const tenant = 'legacy';
    const old = credential({ id: id(30), tenant, name: 'Old one' });
    await store.create(old);
    await documents.send(
      new PutCommand({
        TableName: localTableName('credentials'),
        Item: {
          ...(await rawItem(tenant, id(30))),
          listKey: undefined,
          nameKey: undefined,
          sourceKey: undefined,
        },
        // Undefined attributes are dropped by the document client's marshalling options below.
      }),
    );
    await documents.send(
      new DeleteCommand({ TableName: localTableName('credentials'), Key: { pk: tenant, sk: 'counts' } }),
    );
    const all: InventoryPartition = { dimension: 'all', value: '' };
    const before = await store.readPartition(tenant, all, { after: undefined, limit: 10, descending: false });

    // Act
    const counts = await store.rebuildCounts(tenant);
    const after = await store.readPartition(tenant, all, { after: undefined, limit: 10, descending: false });

    // Assess
    expect(before.items).toEqual([]);
    expect(counts).toMatchObject({ all: 1 });
    expect(after.items).toEqual([old]);
  });

  it('reads expiry-ordered partitions of the expiry findings and moves items on a new finding', async () => {
    // Prepare: two credentials expiring at the same instant (ordered by id), one later, one
    // expired, and one with an expiry but no expiry finding.
    const tenant = 'expiries';
    const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();
    const soon = (n: number, days: number) =>
      credential({
        id: id(n),
        tenant,
        name: `soon ${n}`,
        expiresAt: at(days),
        findings: [{ ruleId: 'credential-expiring-soon', severity: 'medium', since: NOW.toISOString() }],
      });
    await store.create(soon(42, 5));
    await store.create(soon(41, 3));
    await store.create(soon(40, 3));
    await store.create(
      credential({
        id: id(43),
        tenant,
        expiresAt: at(-1),
        findings: [{ ruleId: 'credential-expired', severity: 'critical', since: NOW.toISOString() }],
      }),
    );
    await store.create(credential({ id: id(44), tenant, expiresAt: at(200) }));
    const read = async (value: string, after?: string, descending = false) =>
      store.readPartition(tenant, { dimension: 'expiry', value }, { after, limit: 2, descending });

    // Act
    const first = await read('credential-expiring-soon');
    const rest = await read('credential-expiring-soon', expiryKeyOf(first.items[1]!));
    const backwards = await read('credential-expiring-soon', undefined, true);
    const expired = await read('credential-expired');
    // The expired one is rotated: it expires later now and holds a notice instead.
    const moved = await store.get(tenant, id(43));
    if (moved === undefined) throw new Error('missing');
    await store.replace(
      {
        ...moved,
        expiresAt: at(20),
        findings: [{ ruleId: 'credential-expiring-notice', severity: 'low', since: NOW.toISOString() }],
        revision: 2,
      },
      1,
    );

    // Assess
    expect(first.items.map((c) => c.id)).toEqual([id(40), id(41)]);
    expect(first.exhausted).toBe(false);
    expect(rest.items.map((c) => c.id)).toEqual([id(42)]);
    expect(backwards.items.map((c) => c.id)).toEqual([id(42), id(41)]);
    expect(expired.items.map((c) => c.id)).toEqual([id(43)]);
    expect((await read('credential-expired')).items).toEqual([]);
    expect((await read('credential-expiring-notice')).items.map((c) => c.id)).toEqual([id(43)]);
    expect(await store.rebuildCounts(tenant)).toMatchObject({
      all: 5,
      'expiry#credential-expiring-soon': 3,
      'expiry#credential-expiring-notice': 1,
    });
  });

  it('rebuilds counters of the first format, bringing older items into the expiry partitions', async () => {
    // Prepare: an expiring credential as the previous version stored it (no expiry index keys),
    // and that version's counters (no format, no expiry counters).
    const tenant = 'format1';
    const old = credential({
      id: id(50),
      tenant,
      expiresAt: new Date(NOW.getTime() + 2 * DAY).toISOString(),
      findings: [{ ruleId: 'credential-expiring-soon', severity: 'medium', since: NOW.toISOString() }],
    });
    await store.create(old);
    await documents.send(
      new PutCommand({
        TableName: localTableName('credentials'),
        Item: { ...(await rawItem(tenant, id(50))), expiryFindingKey: undefined, expiryKey: undefined },
      }),
    );
    await documents.send(
      new PutCommand({
        TableName: localTableName('credentials'),
        Item: { pk: tenant, sk: 'counts', 'n:all': 1, 'n:status#healthy': 1 },
      }),
    );
    const partition: InventoryPartition = { dimension: 'expiry', value: 'credential-expiring-soon' };
    const options = { after: undefined, limit: 10, descending: false };
    const before = await store.readPartition(tenant, partition, options);

    // Act
    const stale = await store.readCounts(tenant);
    const counts = await store.rebuildCounts(tenant);

    // Assess: the old counters are not used, the new ones are kept, the item is in the index.
    expect(before.items).toEqual([]);
    expect(stale).toBeUndefined();
    expect(counts).toMatchObject({ all: 1, 'expiry#credential-expiring-soon': 1 });
    expect(await store.readCounts(tenant)).toEqual(counts);
    expect((await store.readPartition(tenant, partition, options)).items).toEqual([old]);
  });

  it('keeps a history, newest first, and registers tenants', async () => {
    const change = (at: string, action: CredentialChange['action']): CredentialChange => ({
      at,
      actor: { kind: 'system', id: 'discovery' },
      action,
      changes: { owner: { from: null, to: 'alice' } },
      findingsOpened: ['iam-access-key-too-old'],
      findingsResolved: [],
    });
    await store.appendHistory('store', id(1), change('2026-03-01T00:00:00.000Z', 'discovered'));
    await store.appendHistory('store', id(1), change('2026-03-02T00:00:00.000Z', 'refreshed'));
    await store.appendHistory('store', id(1), change('2026-03-02T00:00:00.000Z', 'evaluated'));
    const history = await store.history('store', id(1), 10);
    expect(history.map((entry) => entry.at)).toEqual([
      '2026-03-02T00:00:00.000Z',
      '2026-03-02T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    expect(await store.history('store', id(1), 1)).toHaveLength(1);
    await store.registerTenant('store');
    await store.registerTenant('store');
    await store.registerTenant('list');
    expect((await store.tenants()).sort()).toEqual(['list', 'store']);
    // The marker is no credential.
    expect((await store.list('store')).map((c) => c.id)).toEqual([id(1)]);
  });
});

describe('DynamoDbDiscoveryRunStore', () => {
  it('lists runs newest first, page by page, and updates them at their revision', async () => {
    const created = [];
    for (let minute = 0; minute < 5; minute += 1) {
      const run = newRun('runs', 'schedule', undefined, new Date(NOW.getTime() + minute * 60_000));
      await runs.create(run);
      created.push(run);
    }
    const first = await runs.list('runs', { limit: 2 });
    expect(first.runs.map((run) => run.id)).toEqual([created[4]?.id, created[3]?.id]);
    const second = await runs.list('runs', { limit: 10, cursor: first.cursor });
    expect(second.runs.map((run) => run.id)).toEqual([created[2]?.id, created[1]?.id, created[0]?.id]);
    expect(second.cursor).toBeUndefined();
    await expect(runs.list('runs', { limit: 1, cursor: 'bm90LWEtcnVu' })).rejects.toBeInstanceOf(
      ValidationError,
    );

    const run = created[0];
    if (run === undefined) throw new Error('missing');
    await runs.update({ ...run, status: 'running', revision: 2 }, 1);
    await expect(runs.update({ ...run, status: 'running', revision: 2 }, 1)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await runs.get('runs', run.id)).toMatchObject({ status: 'running', revision: 2 });
    expect(await runs.get('elsewhere', run.id)).toBeUndefined();
  });

  it('reads a run recorded before runs counted lost history entries as having lost none', async () => {
    // Prepare: the item as the store wrote it before `historyLost` existed.
    const run = newRun('older-runs', 'schedule', undefined, NOW);
    const { historyLost: _dropped, ...olderCounts } = run.counts;
    await documents.send(
      new PutCommand({
        TableName: localTableName('credentials'),
        Item: {
          pk: 'older-runs#discovery-runs',
          sk: `run#${run.id}`,
          ...(JSON.parse(JSON.stringify({ ...run, counts: olderCounts })) as Record<string, unknown>),
        },
      }),
    );

    // Act
    const read = await runs.get('older-runs', run.id);

    // Assess
    expect(read?.counts).toEqual({ ...olderCounts, historyLost: 0 });
  });
});

describe('DynamoDbDiscoverySettingsStore', () => {
  it('answers defaults until saved, then saves with check-and-set', async () => {
    expect(await settings.get('cfg')).toMatchObject({ accounts: [], revision: 0 });
    const saved = await settings.put(
      'cfg',
      {
        accounts: [{ roleArn: 'arn:aws:iam::111122223333:role/R', externalId: 'x1' }],
        thresholds: { accessKeyMaxAgeDays: 60 },
        disabledRules: [],
      },
      { expectedRevision: 0, now: NOW.toISOString() },
    );
    expect(saved.revision).toBe(1);
    expect(await settings.get('cfg')).toEqual(saved);
    await expect(
      settings.put(
        'cfg',
        { accounts: [], thresholds: {}, disabledRules: [] },
        { expectedRevision: 0, now: NOW.toISOString() },
      ),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(
      (
        await settings.put(
          'cfg',
          { accounts: [], thresholds: {}, disabledRules: [] },
          { now: NOW.toISOString() },
        )
      ).revision,
    ).toBe(2);
  });
});
