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
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { localTableName, type TableSpec } from '../shared/tables.js';
import { LocalStateError } from './local-state-error.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startLocalDynamo(options: {
  /** LevelDB directory; undefined keeps everything in memory. */
  readonly path: string | undefined;
  readonly host: string;
  readonly port: number;
}): Promise<LocalDynamo> {
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
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
        await client.send(new DescribeTableCommand({ TableName }));
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
    }
  } finally {
    client.destroy();
  }
  return created;
}
