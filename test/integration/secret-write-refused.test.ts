/**
 * The DynamoDB secret store's answer when the storage refuses a write after the version item was
 * stored (step (a) of the write protocol): the metadata update (b) or the pruning after it (c)
 * failing for good. The version item is the truth and every reader records it, so the write must
 * report the version it stored, never a 503 ("nothing changed") while its value becomes readable.
 * Faults come from the DynamoDB fault proxy in front of dynalite.
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSecretStore } from '../../lambdas/adapters/aws/dynamodb-secret-store.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { DependencyUnavailableError, NotFoundError } from '../../lambdas/core/errors.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import { type DynaliteBehindProxy, startDynaliteBehindProxy } from '../support/dynalite-behind-proxy.js';
import type { DynamoFault, DynamoFaultProxy } from '../support/dynamo-fault-proxy.js';

const TABLE = localTableName('secrets');

let storage: DynaliteBehindProxy;
let proxy: DynamoFaultProxy;
/** Through the proxy, one attempt per call. */
let client: DynamoDBDocumentClient;
/** Writes through the proxy (faults apply). */
let service: SecretsService;
/** Reads straight from dynalite, as another function would after the faults are gone. */
let reader: SecretsService;
let direct: DynamoDBDocumentClient;

beforeAll(async () => {
  storage = await startDynaliteBehindProxy(20261206);
  ({ proxy, throughProxy: client, direct } = storage);
  const cipher = new EnvelopeCipher(new FileKeyring({}), new DataKeyCache());
  service = new SecretsService(new DynamoDbSecretStore(client, TABLE), cipher, { now: () => new Date() });
  reader = new SecretsService(new DynamoDbSecretStore(direct, TABLE), cipher, { now: () => new Date() });
});

afterAll(async () => {
  await storage.close();
});

/** Runs `act` with `faults` on the secrets table (this tenant's requests only), then removes them. */
async function withFaults<T>(tenant: string, faults: readonly DynamoFault[], act: () => Promise<T>) {
  const from = proxy.requests().length;
  // Every key starts with the tenant; the marker narrows each fault to one kind of request too.
  const stop = proxy.add(faults.map((fault) => ({ tables: [TABLE], ...fault })));
  try {
    const outcome = await act().then(
      (value) => ({ value, error: undefined }),
      (error: unknown) => ({ value: undefined, error }),
    );
    const injected = proxy
      .requests()
      .slice(from)
      .filter((request) => request.body.includes(tenant) && request.fault !== undefined).length;
    return { ...outcome, injected };
  } finally {
    stop();
  }
}

async function versionNumbers(tenant: string, path: string): Promise<unknown[]> {
  const { Items } = await direct.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':pk': DynamoDbSecretStore.partitionKey(tenant, path), ':v': 'v#' },
    }),
  );
  return (Items ?? []).map((item): unknown => item.version);
}

async function metadataItem(tenant: string, path: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await direct.send(
    new GetCommand({
      TableName: TABLE,
      Key: { pk: DynamoDbSecretStore.partitionKey(tenant, path), sk: 'meta' },
      ConsistentRead: true,
    }),
  );
  return Item;
}

describe('a write whose metadata update the storage refuses after the version was stored', () => {
  it('reports the first version of a new secret as written, and it reads back', async () => {
    // Prepare: the metadata item's creation (the only write that names listPk) always fails.
    const tenant = 'wrfresh';
    const faults = [
      { kind: 'InternalServerError' as const, operations: ['PutItem'], rate: 1, marker: '"listPk"' },
    ];

    // Act
    const written = await withFaults(tenant, faults, () =>
      service.write('alice', tenant, 'app/key', { v: '1' }),
    );

    // Assess
    expect(written.injected).toBeGreaterThan(0);
    expect(written.error).toBeUndefined();
    expect(written.value).toMatchObject({ version: 1, createdBy: 'alice', destroyed: false });
    expect((await reader.read(tenant, 'app/key')).data).toEqual({ v: '1' });
    expect((await reader.readMetadata(tenant, 'app/key')).currentVersion).toBe(1);
  });

  it('reports a later version as written; the next write gets the next number, none is lost', async () => {
    // Prepare: every update naming currentVersion (recording a version) is throttled, and the
    // re-read of the metadata after it fails too.
    const tenant = 'wrlater';
    await service.write('alice', tenant, 'app/key', { v: '1' });
    const faults = [
      {
        kind: 'ProvisionedThroughputExceededException' as const,
        operations: ['UpdateItem'],
        rate: 1,
        marker: '"currentVersion"',
      },
      { kind: 'InternalServerError' as const, operations: ['GetItem'], rate: 1, marker: tenant },
    ];

    // The metadata the API reads for its own checks before writing (so the write reads none first).
    const known = { metadata: await service.metadataIfAny(tenant, 'app/key') };

    // Act
    const written = await withFaults(tenant, faults, () =>
      service.write('alice', tenant, 'app/key', { v: '2' }, {}, known),
    );
    const next = await reader.write('bob', tenant, 'app/key', { v: '3' });

    // Assess
    expect(written.injected).toBeGreaterThan(1);
    expect(written.error).toBeUndefined();
    expect(written.value).toMatchObject({ version: 2 });
    expect((await reader.read(tenant, 'app/key', 2)).data).toEqual({ v: '2' });
    expect(next.version).toBe(3);
    const metadata = await reader.readMetadata(tenant, 'app/key');
    expect(metadata.currentVersion).toBe(3);
    expect(Object.keys(metadata.versions)).toEqual(['1', '2', '3']);
    expect(await versionNumbers(tenant, 'app/key')).toEqual([1, 2, 3]);
  });

  it('reports the version as written when only pruning after it fails', async () => {
    // Prepare: one version kept, so each write prunes; deleting the pruned item fails.
    const tenant = 'wrprune';
    await service.writeMetadata(tenant, 'app/key', { maxVersions: 1 });
    await service.write('alice', tenant, 'app/key', { v: '1' });
    const faults = [
      { kind: 'InternalServerError' as const, operations: ['DeleteItem'], rate: 1, marker: tenant },
    ];

    // Act
    const written = await withFaults(tenant, faults, () =>
      service.write('alice', tenant, 'app/key', { v: '2' }),
    );

    // Assess
    expect(written.injected).toBeGreaterThan(0);
    expect(written.error).toBeUndefined();
    expect(written.value).toMatchObject({ version: 2 });
    expect((await reader.read(tenant, 'app/key')).data).toEqual({ v: '2' });
    expect(await reader.readMetadata(tenant, 'app/key')).toMatchObject({
      currentVersion: 2,
      oldestVersion: 2,
    });
  });

  it('still answers 503 when the version item itself could not be stored, and stores nothing', async () => {
    // Prepare
    const tenant = 'wrclaim';
    await service.write('alice', tenant, 'app/key', { v: '1' });
    const faults = [
      { kind: 'ThrottlingException' as const, operations: ['PutItem'], rate: 1, marker: tenant },
    ];

    // Act
    const written = await withFaults(tenant, faults, () =>
      service.write('alice', tenant, 'app/key', { v: '2' }),
    );

    // Assess
    expect(written.error).toBeInstanceOf(DependencyUnavailableError);
    expect(await versionNumbers(tenant, 'app/key')).toEqual([1]);
    expect((await reader.readMetadata(tenant, 'app/key')).currentVersion).toBe(1);
  });
});

describe('a delete of a whole secret whose later steps the storage refuses', () => {
  /** Every call after the commit point (the Query and DeleteItems that remove the items) fails. */
  const afterCommit = (tenant: string): DynamoFault[] => [
    { kind: 'InternalServerError', operations: ['Query', 'DeleteItem'], rate: 1, marker: tenant },
  ];

  it('answers as done once the secret is marked deleted; no reader sees it or any of its values', async () => {
    // Prepare
    const tenant = 'wrdelete';
    await service.write('alice', tenant, 'app/key', { v: '1' });
    await service.write('alice', tenant, 'app/key', { v: '2' });
    await service.write('alice', tenant, 'app/other', { v: 'x' });
    // The API reads the metadata first (a 404 for a missing secret): the deletion's own calls follow.
    await service.readMetadata(tenant, 'app/key');

    // Act
    const deleted = await withFaults(tenant, afterCommit(tenant), () => service.deleteAll(tenant, 'app/key'));

    // Assess: done for the caller although every item is still there
    expect(deleted.injected).toBeGreaterThan(0);
    expect(deleted.error).toBeUndefined();
    expect(await versionNumbers(tenant, 'app/key')).toEqual([1, 2]);
    expect(await metadataItem(tenant, 'app/key')).toMatchObject({ deleting: true });
    // ...and gone for every reader, in every way it can be reached: while the storage still
    // refuses the clean-up, a read answers 503 (never the value, nothing adopted back), and once
    // it lets it, the read finishes the deletion and answers "no such secret"
    const reads = (through: SecretsService) => [
      through.read(tenant, 'app/key').catch((error: unknown) => error),
      through.read(tenant, 'app/key', 1).catch((error: unknown) => error),
      through.readMetadata(tenant, 'app/key').catch((error: unknown) => error),
    ];
    const refused = await withFaults(tenant, afterCommit(tenant), () => Promise.all(reads(service)));
    for (const outcome of refused.value ?? []) expect(outcome).toBeInstanceOf(DependencyUnavailableError);
    expect(await metadataItem(tenant, 'app/key')).toMatchObject({ deleting: true });
    expect((await reader.list(tenant, 'app/')).keys).toEqual(['other']);
    for (const outcome of await Promise.all(reads(reader))) expect(outcome).toBeInstanceOf(NotFoundError);
    expect(await versionNumbers(tenant, 'app/key')).toEqual([]);
  });

  it('a later read finishes the deletion: no item of the deleted secret remains', async () => {
    // Prepare
    const tenant = 'wrdelread';
    await service.write('alice', tenant, 'app/key', { v: '1' });
    await withFaults(tenant, afterCommit(tenant), () => service.deleteAll(tenant, 'app/key'));
    expect(await versionNumbers(tenant, 'app/key')).toEqual([1]);

    // Act
    const read = await reader.read(tenant, 'app/key').catch((error: unknown) => error);

    // Assess
    expect(read).toBeInstanceOf(NotFoundError);
    expect(await versionNumbers(tenant, 'app/key')).toEqual([]);
    expect(await metadataItem(tenant, 'app/key')).toBeUndefined();
  });

  it('a write to the path starts a new secret at version 1, without the old versions', async () => {
    // Prepare
    const tenant = 'wrdelwrite';
    for (const v of ['1', '2', '3']) await service.write('alice', tenant, 'app/key', { v });
    await withFaults(tenant, afterCommit(tenant), () => service.deleteAll(tenant, 'app/key'));

    // Act
    const written = await service.write('bob', tenant, 'app/key', { v: 'new' });
    const settings = await service.writeMetadata(tenant, 'app/fresh', { maxVersions: 3 });

    // Assess
    expect(written.version).toBe(1);
    expect(await versionNumbers(tenant, 'app/key')).toEqual([1]);
    const metadata = await reader.readMetadata(tenant, 'app/key');
    expect(Object.keys(metadata.versions)).toEqual(['1']);
    expect(metadata.currentVersion).toBe(1);
    expect((await reader.read(tenant, 'app/key')).data).toEqual({ v: 'new' });
    expect(await metadataItem(tenant, 'app/key')).not.toHaveProperty('deleting');
    expect(settings.maxVersions).toBe(3);
  });

  it('new settings for the path start a new secret, after the old one is gone', async () => {
    // Prepare
    const tenant = 'wrdelmeta';
    await service.write('alice', tenant, 'app/key', { v: '1' });
    await withFaults(tenant, afterCommit(tenant), () => service.deleteAll(tenant, 'app/key'));

    // Act
    const settings = await service.writeMetadata(tenant, 'app/key', { maxVersions: 4 });

    // Assess
    expect(settings).toMatchObject({ maxVersions: 4, currentVersion: 0 });
    expect(Object.keys(settings.versions)).toEqual([]);
    expect(await versionNumbers(tenant, 'app/key')).toEqual([]);
    expect((await reader.list(tenant, 'app/')).keys).toEqual(['key']);
  });

  it('answers 503 and changes nothing when the commit itself is refused', async () => {
    // Prepare
    const tenant = 'wrdelcommit';
    await service.write('alice', tenant, 'app/key', { v: '1' });
    await service.readMetadata(tenant, 'app/key');
    const faults: DynamoFault[] = [
      { kind: 'ThrottlingException', operations: ['UpdateItem'], rate: 1, marker: tenant },
    ];

    // Act
    const deleted = await withFaults(tenant, faults, () => service.deleteAll(tenant, 'app/key'));

    // Assess
    expect(deleted.error).toBeInstanceOf(DependencyUnavailableError);
    expect(await metadataItem(tenant, 'app/key')).not.toHaveProperty('deleting');
    expect((await reader.read(tenant, 'app/key')).data).toEqual({ v: '1' });
    expect((await reader.list(tenant, 'app/')).keys).toEqual(['key']);
  });
});
