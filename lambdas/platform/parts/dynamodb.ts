/** The DynamoDB document client of a function, and the physical names of its tables. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigError, type FunctionConfig } from '../../shared/config.js';
import { TABLE_SPECS, type TableId } from '../../shared/tables.js';
import type { ColdStart } from '../cold-start.js';
import { localDocumentClient } from '../index.js';

/**
 * The function's document client. Locally every function shares one per process (the local
 * platform's), as they share one dynalite; in AWS each function has its own.
 */
export function documentClient(start: ColdStart): DynamoDBDocumentClient {
  const { config } = start;
  if (config.runtime === 'local') return localDocumentClient(config, newDocumentClient);
  const client = newDocumentClient(config);
  start.onReset(() => client.destroy());
  return client;
}

/** A document client of the configured endpoint (dynalite locally). */
export function newDocumentClient(config: FunctionConfig): DynamoDBDocumentClient {
  const client = new DynamoDBClient(
    config.dynamodbEndpoint === undefined
      ? { region: config.region }
      : {
          region: config.region,
          endpoint: config.dynamodbEndpoint,
          // dynalite ignores signatures; fixed credentials keep real ones off loopback traffic.
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        },
  );
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The physical name of a table; the manifest's check at cold start makes this a guard only. */
export function tableName(config: FunctionConfig, id: TableId): string {
  const name = config.tables[id];
  if (name === undefined) {
    throw new ConfigError(`Invalid configuration:\n  ${TABLE_SPECS[id].envVar}: required by this function`, [
      { variable: TABLE_SPECS[id].envVar, expected: 'the physical table name' },
    ]);
  }
  return name;
}
