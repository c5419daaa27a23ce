/**
 * Least-privilege access of functions to the tables. Each grant names the exact table and index
 * ARNs (no `index/*` wildcard) and lets the function use the table key only through DynamoDB,
 * and the function learns the physical name of exactly the tables it was granted.
 */
import { Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { TABLE_SPECS, type TableId } from '../lambdas/shared/tables.js';

/** The tables and the key that encrypts them, as stateless stacks receive them. */
export interface DataStores {
  readonly tables: Readonly<Record<TableId, ITable>>;
  readonly tableKey: IKey;
  /** Wraps the data keys of secret versions; granted only to functions that seal or open them. */
  readonly secretsKey: IKey;
  /** Signs audit digests (asymmetric); granted only to the functions that sign or serve its public key. */
  readonly auditSigningKey: IKey;
  /** The bus lifecycle events are published on (DESIGN.md, Events); users add their own rules to it. */
  readonly eventBus: IEventBus;
  /** Rotation jobs (scheduled, requested, retirements) for the rotation worker, and their dead letters. */
  readonly rotationQueue: IQueue;
  readonly rotationDeadLetterQueue: IQueue;
}

/**
 * Lets a function publish lifecycle events: `events:PutEvents` on the VaultPilot bus only, and the
 * environment variable that names it.
 */
export function grantEventPublishing(grantee: IGrantable, stores: DataStores): Record<string, string> {
  stores.eventBus.grantPutEventsTo(grantee);
  return { VAULTPILOT_EVENT_BUS_NAME: stores.eventBus.eventBusName };
}

/**
 * Reads by key and by query. `Scan` is left out on purpose: every key starts with the tenant, so
 * a query stays inside one tenant, while a scan would read all of them.
 */
export const TABLE_READ_ACTIONS: readonly string[] = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];

/** What DynamoDB needs of the caller to decrypt items of a table under a customer-managed key. */
const KEY_READ_ACTIONS: readonly string[] = ['kms:Decrypt', 'kms:DescribeKey'];

/** Table and index ARNs of one table: the index ARNs are listed, never `index/*`. */
export function tableResourceArns(table: ITable, id: TableId): string[] {
  return [
    table.tableArn,
    ...TABLE_SPECS[id].indexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
  ];
}

/**
 * Grants `actions` on one table (and its indexes) plus decryption through DynamoDB, and returns
 * the environment variable that tells the function the table's physical name.
 */
export function grantTableActions(
  grantee: IGrantable,
  stores: DataStores,
  id: TableId,
  actions: readonly string[],
): Record<string, string> {
  const table = stores.tables[id];
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: [...actions], resources: tableResourceArns(table, id) }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: [...KEY_READ_ACTIONS],
      resources: [stores.tableKey.keyArn],
      // The key serves DynamoDB only; a function cannot call KMS with it directly.
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(table).region}.amazonaws.com` } },
    }),
  );
  return { [TABLE_SPECS[id].envVar]: table.tableName };
}
