/**
 * The secret store behaviour suite against the DynamoDB backend on a real dynalite (in memory,
 * tables from the shared specs) with the in-memory file keyring, plus the DynamoDB write
 * protocol's crash and race cases and its throttling mapping.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSecretStore } from '../../lambdas/adapters/aws/dynamodb-secret-store.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { ConflictError, DependencyUnavailableError, NotFoundError } from '../../lambdas/core/errors.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { parseSecretPath } from '../../lambdas/core/secrets/secret-path.js';
import { type LocalDynamo, ensureTables, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { TABLE_LIST, localTableName } from '../../lambdas/shared/tables.js';
import {
  type SecretStoreHarness,
  type StoredVersionRef,
  describeSecretStoreBehaviour,
} from '../support/secret-store-behaviour.js';
import { DynamoFaultProxy } from '../support/dynamo-fault-proxy.js';

const TABLE = localTableName('secrets');
const REGION = 'us-east-1';

function documentClient(endpoint: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
}

function versionKey(ref: StoredVersionRef): { pk: string; sk: string } {
  return {
    pk: DynamoDbSecretStore.partitionKey(ref.tenant, ref.path),
    sk: DynamoDbSecretStore.versionSortKey(ref.version),
  };
}

interface DynamoParts {
  readonly dynamo: LocalDynamo;
  readonly client: DynamoDBDocumentClient;
  readonly cipher: EnvelopeCipher;
  readonly service: SecretsService;
}

async function startDynamo(): Promise<DynamoParts> {
  const dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, REGION, TABLE_LIST);
  const client = documentClient(dynamo.endpoint);
  const cipher = new EnvelopeCipher(new FileKeyring({}), new DataKeyCache());
  const service = new SecretsService(new DynamoDbSecretStore(client, TABLE), cipher, {
    now: () => new Date(),
  });
  return { dynamo, client, cipher, service };
}

async function makeDynamoHarness(): Promise<SecretStoreHarness> {
  const { dynamo, client, service } = await startDynamo();
  return {
    service,
    async storedEnvelope(ref) {
      const { Item } = await client.send(new GetCommand({ TableName: TABLE, Key: versionKey(ref) }));
      const envelope: unknown = Item?.envelope;
      return envelope;
    },
    async copyEnvelope(from, to) {
      const { Item } = await client.send(new GetCommand({ TableName: TABLE, Key: versionKey(from) }));
      const { Item: target } = await client.send(new GetCommand({ TableName: TABLE, Key: versionKey(to) }));
      if (Item?.envelope === undefined || target === undefined) throw new Error('Nothing to copy');
      await client.send(
        new PutCommand({ TableName: TABLE, Item: { ...target, ...versionKey(to), envelope: Item.envelope } }),
      );
    },
    async dumpStorage() {
      const items: unknown[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey }));
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey !== undefined);
      return JSON.stringify(items);
    },
    async close() {
      client.destroy();
      await dynamo.close();
    },
  };
}

describeSecretStoreBehaviour('DynamoDB on dynalite', makeDynamoHarness);

describe('DynamoDB secret store write protocol', () => {
  let parts: DynamoParts;
  beforeAll(async () => {
    parts = await startDynamo();
  });
  afterAll(async () => {
    parts.client.destroy();
    await parts.dynamo.close();
  });

  /** A version item exactly as a writer that crashed before recording it would leave it. */
  async function putUnrecordedVersion(tenant: string, path: string, version: number, value: string) {
    const envelope = await parts.cipher.seal(Buffer.from(JSON.stringify({ v: value })), {
      tenant,
      path,
      version: String(version),
    });
    await parts.client.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          ...versionKey({ tenant, path, version }),
          version,
          envelope,
          createdTime: new Date().toISOString(),
          createdBy: 'crashed-writer',
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  it('heals metadata that lags behind a version item (crash between put and record)', async () => {
    // Prepare: version 2 exists, the metadata still says 1.
    const { service } = parts;
    await service.write('alice', 'crash', 'app/key', { v: '1' });
    await putUnrecordedVersion('crash', 'app/key', 2, '2');

    // Act
    const latest = await service.read('crash', 'app/key');
    const next = await service.write('alice', 'crash', 'app/key', { v: '3' });
    const metadata = await service.readMetadata('crash', 'app/key');

    // Assess
    expect(latest).toMatchObject({ data: { v: '2' }, metadata: { version: 2, createdBy: 'crashed-writer' } });
    expect(next.version).toBe(3);
    expect(metadata.currentVersion).toBe(3);
    expect(Object.keys(metadata.versions)).toEqual(['1', '2', '3']);
  });

  it('a writer whose number was taken by an unrecorded version moves on; cas sees the real latest', async () => {
    const { service } = parts;
    await service.write('alice', 'crash2', 'app/key', { v: '1' });
    await putUnrecordedVersion('crash2', 'app/key', 2, '2');

    const stale = await service
      .write('alice', 'crash2', 'app/key', { v: 'x' }, { cas: 1 })
      .catch((e: unknown) => e);
    const withCas = await service.write('alice', 'crash2', 'app/key', { v: '3' }, { cas: 2 });
    await putUnrecordedVersion('crash2', 'app/key', 4, '4');
    const plain = await service.write('alice', 'crash2', 'app/key', { v: '5' });

    expect((stale as Error).name).toBe('ConflictError');
    expect(withCas.version).toBe(3);
    expect(plain.version).toBe(5);
    expect((await service.read('crash2', 'app/key', 4)).data).toEqual({ v: '4' });
  });

  it('never lets a pruned version number come back', async () => {
    // Prepare: versions 1-3 pruned (max 2, current 5), then a stalled writer re-creates v#2.
    const { service } = parts;
    await service.writeMetadata('reuse', 'app/key', { maxVersions: 2 });
    for (let i = 1; i <= 5; i += 1) await service.write('alice', 'reuse', 'app/key', { v: String(i) });
    await putUnrecordedVersion('reuse', 'app/key', 2, 'stale');

    // Act
    const read = await service.read('reuse', 'app/key', 2).catch((e: unknown) => e);
    const metadata = await service.readMetadata('reuse', 'app/key');
    const next = await service.write('alice', 'reuse', 'app/key', { v: '6' });

    // Assess
    expect(read).toBeInstanceOf(NotFoundError);
    expect(metadata).toMatchObject({ currentVersion: 5, oldestVersion: 4 });
    expect(next.version).toBe(6);
    const { Items } = await parts.client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: {
          ':pk': DynamoDbSecretStore.partitionKey('reuse', 'app/key'),
          ':v': 'v#',
        },
      }),
    );
    // Pruning deletes by key what the metadata names (version 4), without a Query: the stale
    // item a crashed writer left below oldestVersion stays garbage, never read, ...
    expect(Items?.map((item): unknown => item.version)).toEqual([2, 5, 6]);
    expect(await service.read('reuse', 'app/key', 2).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
    // ... until the secret is deleted, which removes every item of it.
    await service.deleteAll('reuse', 'app/key');
    const after = await parts.client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': DynamoDbSecretStore.partitionKey('reuse', 'app/key') },
      }),
    );
    expect(after.Items).toEqual([]);
  });

  it('many parallel writers, with and without cas, each starting from the metadata it read, never lose a version', async () => {
    // Prepare: pruning is active (maxVersions 5), so every write also takes the record+prune path.
    const { service } = parts;
    const tenant = 'parallel';
    await service.writeMetadata(tenant, 'app/key', { maxVersions: 5 });
    await service.write('seed', tenant, 'app/key', { v: 'seed' });
    const plainWriters = 16;
    const casWriters = 8;

    // Act: as the API does it, each write hands over the metadata it has just read (no second read).
    const plain = Array.from({ length: plainWriters }, async (_, i) => {
      const metadata = await service.metadataIfAny(tenant, 'app/key');
      return service.write(`plain-${i}`, tenant, 'app/key', { v: `plain-${i}` }, {}, { metadata });
    });
    // A cas writer retries on conflict from a fresh read until it wins once.
    const cas = Array.from({ length: casWriters }, async (_, i) => {
      let conflicts = 0;
      for (;;) {
        const metadata = await service.metadataIfAny(tenant, 'app/key');
        try {
          const written = await service.write(
            `cas-${i}`,
            tenant,
            'app/key',
            { v: `cas-${i}` },
            { cas: metadata?.currentVersion ?? 0 },
            { metadata },
          );
          return { ...written, conflicts };
        } catch (error: unknown) {
          if (!(error instanceof ConflictError)) throw error;
          conflicts += 1;
        }
      }
    });
    const written = await Promise.all([...plain, ...cas]);

    // Assess: every success got its own number, the numbers are exactly 2..25, and the metadata
    // and the items agree on the latest five, each holding what its writer wrote.
    const versions = written.map((result) => result.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: plainWriters + casWriters }, (_, i) => i + 2));
    const metadata = await service.readMetadata(tenant, 'app/key');
    const last = plainWriters + casWriters + 1;
    expect(metadata).toMatchObject({ currentVersion: last, oldestVersion: last - 4 });
    expect(Object.keys(metadata.versions).map(Number)).toEqual([
      last - 4,
      last - 3,
      last - 2,
      last - 1,
      last,
    ]);
    for (const result of written.filter((candidate) => candidate.version > last - 5)) {
      const read = await service.read(tenant, 'app/key', result.version);
      expect(read.data).toEqual({ v: read.metadata.createdBy });
    }
    expect((await service.read(tenant, 'app/key')).metadata.version).toBe(last);
    const { Items } = await parts.client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': DynamoDbSecretStore.partitionKey(tenant, 'app/key'), ':v': 'v#' },
      }),
    );
    // Pruned items are gone (deleted by key): only the five kept versions remain stored.
    expect(Items?.map((item): unknown => item.version)).toEqual([
      last - 4,
      last - 3,
      last - 2,
      last - 1,
      last,
    ]);
  });

  it('stores a destroyed version without its envelope and with the destroyed flag', async () => {
    const { service, client } = parts;
    await service.write('alice', 'raw', 'app/key', { v: '1' });

    await service.destroy('raw', 'app/key', [1]);
    const { Item } = await client.send(
      new GetCommand({ TableName: TABLE, Key: versionKey({ tenant: 'raw', path: 'app/key', version: 1 }) }),
    );

    expect(Item).toMatchObject({ version: 1, destroyed: true });
    expect(Item).not.toHaveProperty('envelope');
  });
});

describe('DynamoDB secret store throttling', () => {
  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'])(
    'maps %s to DependencyUnavailableError (503, Retry-After)',
    async (name) => {
      // Prepare: a document client whose every call is throttled.
      const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION }));
      const mock = mockClient(client);
      const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
        name,
      });
      mock
        .on(GetCommand)
        .rejects(throttled)
        .on(QueryCommand)
        .rejects(throttled)
        .on(UpdateCommand)
        .rejects(throttled);
      const store = new DynamoDbSecretStore(client, TABLE);

      // Act
      const error = await store.getMetadata('t', parseSecretPath('app/key')).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect((error as DependencyUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
      expect((error as Error).cause).toBe(throttled);
      mock.restore();
    },
  );
});

describe('DynamoDB secret store when writes answer HTTP 500 (InternalServerError, through the fault proxy)', () => {
  let dynamo: LocalDynamo;
  let proxy: DynamoFaultProxy;
  let service: SecretsService;
  let client: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
    await ensureTables(dynamo.endpoint, REGION, TABLE_LIST);
    proxy = await DynamoFaultProxy.start(dynamo.endpoint, 20261206);
    // One attempt: the SDK's own retries are not what this checks, and they would only slow it.
    client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: proxy.endpoint,
        region: REGION,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      }),
    );
    const cipher = new EnvelopeCipher(new FileKeyring({}), new DataKeyCache());
    service = new SecretsService(new DynamoDbSecretStore(client, TABLE), cipher, { now: () => new Date() });
    await service.write('alice', 'ise', 'app/key', { v: '1' });
    // A deleted version, so undelete has something to write.
    await service.write('alice', 'ise', 'app/key', { v: '2' });
    await service.softDelete('ise', 'app/key', [2]);
  });

  afterAll(async () => {
    client.destroy();
    await proxy.close();
    await dynamo.close();
  });

  it.each([
    ['write', () => service.write('alice', 'ise', 'app/key', { v: '3' })],
    ['delete', () => service.softDelete('ise', 'app/key', [1])],
    ['undelete', () => service.undelete('ise', 'app/key', [2])],
    ['destroy', () => service.destroy('ise', 'app/key', [1])],
    ['metadata', () => service.writeMetadata('ise', 'app/key', { maxVersions: 5 })],
    ['delete all', () => service.deleteAll('ise', 'app/key')],
  ])('%s fails closed with DependencyUnavailableError (503, Retry-After)', async (_name, act) => {
    // Prepare
    const stop = proxy.add([
      { kind: 'InternalServerError', operations: ['PutItem', 'UpdateItem', 'DeleteItem'], rate: 1 },
    ]);

    // Act
    const error = await act().catch((e: unknown) => e);
    stop();

    // Assess
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    expect((error as Error).message).not.toContain('"v"');
  });
});
