/**
 * dynalite 4.0.0 never closed the LevelDB iterator behind a Query or Scan (its streams called
 * `iterator.return()`, which abstract-level 2+ iterators do not have), so `npm start` kept one
 * iterator and its snapshot per Query until it ran out of memory. patches/dynalite+4.0.0.patch,
 * applied by the root `postinstall`, closes them; this test fails without the patch.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startLocalDynamo, type LocalDynamo, waitUntilActive } from '../../lambdas/local/dynamo.js';

const require = createRequire(import.meta.url);

interface Resource {
  close(): Promise<void>;
}
interface LevelPrototype {
  attachResource(resource: Resource): void;
  detachResource(resource: Resource): void;
}
// The same module instance dynalite's LevelDB and memory stores inherit from.
const { AbstractLevel } = require('abstract-level') as { AbstractLevel: { prototype: LevelPrototype } };

/** Open LevelDB resources (iterators, snapshots) attached to any database, tracked from now on. */
function trackOpenResources(): Set<Resource> {
  const open = new Set<Resource>();
  const attach = AbstractLevel.prototype.attachResource;
  const detach = AbstractLevel.prototype.detachResource;
  vi.spyOn(AbstractLevel.prototype, 'attachResource').mockImplementation(function (
    this: LevelPrototype,
    resource,
  ) {
    open.add(resource);
    attach.call(this, resource);
  });
  vi.spyOn(AbstractLevel.prototype, 'detachResource').mockImplementation(function (
    this: LevelPrototype,
    resource,
  ) {
    open.delete(resource);
    detach.call(this, resource);
  });
  return open;
}

const TableName = 'iterator-probe';

async function tableWithItems(client: DynamoDBClient, count: number): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byGroup',
          KeySchema: [
            { AttributeName: 'gk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await waitUntilActive(client, TableName);
  for (let i = 0; i < count; i += 1) {
    await client.send(
      new PutItemCommand({
        TableName,
        Item: { pk: { S: 'tenant' }, sk: { S: `item#${String(i).padStart(4, '0')}` }, gk: { S: 'g' } },
      }),
    );
  }
}

/** Waits for closes that complete asynchronously after the response was sent. */
async function settled(open: Set<Resource>, atMost: number): Promise<number> {
  for (let i = 0; i < 50 && open.size > atMost; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return open.size;
}

describe.each([
  ['LevelDB on disk', () => mkdtempSync(join(tmpdir(), 'vp-dynalite-'))],
  ['in memory', () => undefined],
])('dynalite iterators (%s)', (_label, dataPath) => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let open: Set<Resource>;

  beforeEach(async () => {
    open = trackOpenResources();
    dynamo = await startLocalDynamo({ path: dataPath(), host: '127.0.0.1', port: 0 });
    client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    await tableWithItems(client, 30);
  });

  afterEach(async () => {
    client.destroy();
    await dynamo.close();
    vi.restoreAllMocks();
  });

  it('closes every iterator of Queries and Scans that stop at their Limit or run to the end', async () => {
    // Prepare: whatever the table set-up left open (nothing, normally).
    const before = await settled(open, 0);

    // Act: 100 of each kind: limited table and index Queries, backwards, full, and a limited Scan.
    const partition = { ':pk': { S: 'tenant' } };
    for (let i = 0; i < 100; i += 1) {
      await client.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: partition,
          Limit: 5,
        }),
      );
      await client.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: partition,
          ScanIndexForward: false,
          Limit: 1,
        }),
      );
      await client.send(
        new QueryCommand({
          TableName,
          IndexName: 'byGroup',
          KeyConditionExpression: 'gk = :g',
          ExpressionAttributeValues: { ':g': { S: 'g' } },
          Limit: 3,
        }),
      );
      await client.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: partition,
        }),
      );
      await client.send(new ScanCommand({ TableName, Limit: 2 }));
    }

    // Assess: 500 requests leave no iterator behind (unpatched: 500 or 1,000 stay open).
    expect(await settled(open, before)).toBe(before);
  });

  it('still pages correctly: a limited Query returns its Limit and a key to continue from', async () => {
    // Act
    const first = await client.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'tenant' } },
        Limit: 10,
      }),
    );
    const rest = await client.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'tenant' } },
        ExclusiveStartKey: first.LastEvaluatedKey,
      }),
    );

    // Assess
    expect(first.Items?.map((item) => item.sk?.S)).toEqual(
      Array.from({ length: 10 }, (_, i) => `item#${String(i).padStart(4, '0')}`),
    );
    expect(first.LastEvaluatedKey?.sk?.S).toBe('item#0009');
    expect(rest.Items).toHaveLength(20);
    expect(rest.LastEvaluatedKey).toBeUndefined();
  });
});

describe('dynalite patch', () => {
  it('is applied to the installed dynalite 4.0.0', () => {
    // Prepare
    const dynalitePackage = JSON.parse(readFileSync(require.resolve('dynalite/package.json'), 'utf8')) as {
      version: string;
    };
    const source = readFileSync(require.resolve('dynalite/db/index.js'), 'utf8');

    // Assess: the patch names the version it fits; a dynalite upgrade must revisit it.
    expect(dynalitePackage.version).toBe('4.0.0');
    expect(source).toContain('function closeLevelIterator');
  });
});
