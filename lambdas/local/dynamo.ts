/**
 * The local DynamoDB: dynalite (the DynamoDB API over LevelDB) on loopback, persisted under the
 * data directory or kept in memory, with tables created from the same specs CDK uses.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  auditEventFromItem,
  auditIndexKeys,
  tenantRegistryItem,
} from '../adapters/aws/dynamodb-audit-sink.js';
import { localTableName, type TableId, type TableSpec } from '../shared/tables.js';
import { LocalStateError } from './local-state-error.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * LevelDB's open options for a data dir (classic-level's names; dynalite passes them through, see
 * patches/dynalite+4.0.0.patch). Only what differs from LevelDB's defaults.
 */
export interface LevelDbOptions {
  /** Bounds the table cache (LevelDB keeps 10 of these for other files and allows 74 at least). */
  readonly maxOpenFiles?: number;
  /** Bytes per table file (LevelDB's default 2 MiB); tests make it small to create many tables. */
  readonly maxFileSize?: number;
  /** Bytes of writes held in memory before a table is written (default 4 MiB). */
  readonly writeBufferSize?: number;
}

/**
 * LevelDB keeps every table it opens in its table cache: the table's index block stays in memory
 * (about 80 KB per 2 MiB table of audit events here) and its file mapped. LevelDB's default,
 * 1,000 open files, lets that grow with the data up to some 80 MB of native memory, plus the
 * mapped pages, while the audit log (which nothing expires locally) keeps adding tables: `npm
 * start` added a table about every thousand requests of mixed traffic. 74 is LevelDB's minimum (64
 * tables cached): a lookup touches at most one table per level, so the recent tables requests
 * read stay cached, and a miss costs one file open and index read.
 */
export const LOCAL_LEVELDB_OPTIONS: LevelDbOptions = { maxOpenFiles: 74 };

export async function startLocalDynamo(options: {
  /** LevelDB directory; undefined keeps everything in memory. */
  readonly path: string | undefined;
  readonly host: string;
  readonly port: number;
  /** Over LOCAL_LEVELDB_OPTIONS, for a data dir. */
  readonly leveldb?: LevelDbOptions;
}): Promise<LocalDynamo> {
  const server = dynalite({
    ...(options.path === undefined
      ? {}
      : { path: options.path, leveldb: { ...LOCAL_LEVELDB_OPTIONS, ...options.leveldb } }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new LocalStateError(
              `VAULTPILOT_DYNAMODB_PORT ${options.port} is already in use; choose another port or 0 for any free one`,
            )
          : error,
      );
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${options.host}:${port}`;
  return {
    endpoint,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error | null) =>
          error === undefined || error === null ? resolve() : reject(error),
        );
      }),
  };
}

function createTableInput(spec: TableSpec): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>();
  const keys = [
    spec.partitionKey,
    spec.sortKey,
    ...spec.indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  for (const key of keys) if (key !== undefined) attributes.set(key.name, key.type);
  return {
    TableName: localTableName(spec.id),
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: spec.partitionKey.name, KeyType: 'HASH' },
      ...(spec.sortKey === undefined
        ? []
        : [{ AttributeName: spec.sortKey.name, KeyType: 'RANGE' as const }]),
    ],
    ...(spec.indexes.length === 0
      ? {}
      : {
          GlobalSecondaryIndexes: spec.indexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
              ...(index.sortKey === undefined
                ? []
                : [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }]),
            ],
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }),
  };
}

/** Creates each table that does not exist yet; existing tables (a persisted data dir) are kept. */
export async function ensureTables(
  endpoint: string,
  region: string,
  specs: readonly TableSpec[],
): Promise<string[]> {
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const created: string[] = [];
  try {
    for (const spec of specs) {
      const TableName = localTableName(spec.id);
      try {
        const { Table } = await client.send(new DescribeTableCommand({ TableName }));
        const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
        if (spec.indexes.every((index) => existing.has(index.indexName))) continue;
        // dynalite cannot add an index to a table: rebuild it (a data dir from an older version).
        await rebuildTable(client, spec);
        created.push(TableName);
        continue;
      } catch (error: unknown) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
      try {
        await client.send(new CreateTableCommand(createTableInput(spec)));
        created.push(TableName);
      } catch (error: unknown) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      await waitUntilActive(client, TableName);
    }
  } finally {
    client.destroy();
  }
  return created;
}

/**
 * Waits until a table dynalite has just created answers as ACTIVE: it creates tables `CREATING`
 * and flips them on a timer, and until then refuses every item call with "Requested resource
 * not found" (a busy process can send the first write before the timer runs).
 */
export async function waitUntilActive(client: DynamoDBClient, TableName: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Local table ${TableName} did not become active`);
}

/**
 * Re-creates a table with the indexes of its spec and puts its items back, each upgraded to carry
 * the index keys its current writers add (`upgradeLocalItems`). Local data directories only.
 */
async function rebuildTable(client: DynamoDBClient, spec: TableSpec): Promise<void> {
  const TableName = localTableName(spec.id);
  const documents = DynamoDBDocumentClient.from(client);
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan({ client: documents }, { TableName })) {
    items.push(...(page.Items ?? []));
  }
  await client.send(new DeleteTableCommand({ TableName }));
  await client.send(new CreateTableCommand(createTableInput(spec)));
  await waitUntilActive(client, TableName);
  for (const item of upgradeLocalItems(spec.id, items)) {
    await documents.send(new PutCommand({ TableName, Item: item }));
  }
}

/** Items of an older local table as today's writers would store them. */
function upgradeLocalItems(
  table: TableId,
  items: readonly Record<string, unknown>[],
): Record<string, unknown>[] {
  if (table !== 'audit') return [...items];
  const tenants = new Set<string>();
  const upgraded = items.map((item) => {
    const isEvent = typeof item.pk === 'string' && item.pk.endsWith('#events');
    if (!isEvent || item.actorKey !== undefined) return item;
    try {
      const event = auditEventFromItem(item);
      tenants.add(event.tenant);
      return { ...item, ...auditIndexKeys(event) };
    } catch {
      return item;
    }
  });
  return [...upgraded, ...[...tenants].map((tenant) => tenantRegistryItem(tenant))];
}
