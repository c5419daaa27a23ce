/**
 * LevelDB keeps each table it has opened in its table cache, with the table's index block in
 * memory and its file mapped, up to `maxOpenFiles` (1,000 by default). The local audit log only
 * grows, so with the default `npm start`'s native memory grew with its data. startLocalDynamo opens
 * a data dir with LOCAL_LEVELDB_OPTIONS, passed to LevelDB by patches/dynalite+4.0.0.patch (unpatched,
 * dynalite drops them); this test fails if either is missing.
 *
 * Tables are made small here (`maxFileSize`, `writeBufferSize`) so that a few MB of writes make
 * far more tables than the cache may hold. The mapped table files of the data dir, read from
 * /proc/self/maps (the tests run on Linux), are what the cache holds open.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LOCAL_LEVELDB_OPTIONS,
  type LevelDbOptions,
  startLocalDynamo,
  type LocalDynamo,
  waitUntilActive,
} from '../../lambdas/local/dynamo.js';

const TableName = 'table-cache-probe';
/** Small tables: a few MB of writes make more than a hundred of them. */
const SMALL_TABLES: LevelDbOptions = { maxFileSize: 32 * 1024, writeBufferSize: 64 * 1024 };
/** LevelDB keeps 10 of its open files for other uses than tables. */
const CACHED_TABLES = (LOCAL_LEVELDB_OPTIONS.maxOpenFiles ?? 1000) - 10;

/** The distinct table files of `dir` this process has mapped. */
function mappedTables(dir: string): number {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const tables = new Set<string>();
  for (const line of maps.split('\n')) {
    const path = line.slice(line.indexOf('/'));
    if (line.includes('/') && path.startsWith(dir) && path.endsWith('.ldb')) tables.add(path);
  }
  return tables.size;
}

function tablesOnDisk(dir: string): number {
  return readdirSync(dir).filter((name) => name.endsWith('.ldb')).length;
}

/** Tables the data must make: well over what the bounded cache may hold. */
const ENOUGH_TABLES = CACHED_TABLES + 40;
/** A stop in case LevelDB makes far larger tables than asked: the test then fails, it does not hang. */
const MAX_MEGABYTES = 48;

async function createTable(client: DynamoDBClient): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  await waitUntilActive(client, TableName);
}

/**
 * Writes incompressible 3 KB items, 25 a batch, a megabyte at a time, until the data dir holds
 * ENOUGH_TABLES tables or MAX_MEGABYTES are written. How many tables a megabyte makes depends on
 * when LevelDB flushes and compacts (keys written in order go straight to a deeper level), so
 * the amount is not fixed.
 */
async function writeUntilManyTables(client: DynamoDBClient, dir: string): Promise<void> {
  await createTable(client);
  const batchesPerMegabyte = Math.ceil((1024 * 1024) / (25 * 3 * 1024));
  for (let megabyte = 0; megabyte < MAX_MEGABYTES && tablesOnDisk(dir) < ENOUGH_TABLES; megabyte += 1) {
    for (let i = 0; i < batchesPerMegabyte; i += 1) {
      const batch = megabyte * batchesPerMegabyte + i;
      await client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [TableName]: Array.from({ length: 25 }, (_, item) => ({
              PutRequest: {
                Item: {
                  pk: { S: 'tenant#events' },
                  sk: { S: `${String(batch).padStart(6, '0')}#${String(item).padStart(2, '0')}` },
                  body: { S: randomBytes(2304).toString('base64') },
                },
              },
            })),
          },
        }),
      );
    }
  }
}

describe('LevelDB table cache of the local DynamoDB', () => {
  let dynamo: LocalDynamo | undefined;
  let client: DynamoDBClient | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    client?.destroy();
    await dynamo?.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function start(leveldb: LevelDbOptions): Promise<{ dir: string; client: DynamoDBClient }> {
    const dir = mkdtempSync(join(tmpdir(), 'vp-table-cache-'));
    dirs.push(dir);
    dynamo = await startLocalDynamo({ path: dir, host: '127.0.0.1', port: 0, leveldb });
    client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    return { dir, client };
  }

  it('holds at most maxOpenFiles - 10 tables open however many the data makes', async () => {
    // Prepare
    const { dir, client: dynamoClient } = await start(SMALL_TABLES);

    // Act
    await writeUntilManyTables(dynamoClient, dir);

    // Assess: the data made well over the cache's share of tables; no more than it stay mapped.
    expect(tablesOnDisk(dir)).toBeGreaterThanOrEqual(ENOUGH_TABLES);
    expect(mappedTables(dir)).toBeGreaterThan(0);
    expect(mappedTables(dir)).toBeLessThanOrEqual(CACHED_TABLES);
  });

  it("keeps every table mapped with LevelDB's default (the measure above can fail)", async () => {
    // Prepare
    const { dir, client: dynamoClient } = await start({ ...SMALL_TABLES, maxOpenFiles: 1000 });

    // Act
    await writeUntilManyTables(dynamoClient, dir);

    // Assess: above the bounded cache's share, growing with the data.
    expect(tablesOnDisk(dir)).toBeGreaterThanOrEqual(ENOUGH_TABLES);
    expect(mappedTables(dir)).toBeGreaterThan(CACHED_TABLES + 20);
  });
});
