/**
 * Everything that holds data: the DynamoDB tables (from the table specs the local runtime also
 * uses) and the customer-managed KMS keys. Retained and deletion-protected, in a stack of its
 * own, so replacing or deleting any stateless stack can never touch the data.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { TABLE_LIST, type KeyAttribute, type TableId, type TableSpec } from '../lambdas/shared/tables.js';
import { constructId } from './construct-id.js';
import type { DataStores } from './table-access.js';

export interface StatefulStackProps extends StackProps {
  readonly stage: string;
}

function toAttribute(key: KeyAttribute): { name: string; type: AttributeType } {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

export interface SpecTableProps {
  readonly spec: TableSpec;
  readonly encryptionKey: Key;
}

/** One DynamoDB table built from its spec, with the protections every VaultPilot table has. */
export class SpecTable extends Table {
  public readonly spec: TableSpec;

  constructor(scope: Construct, id: string, { spec, encryptionKey }: SpecTableProps) {
    super(scope, id, {
      partitionKey: toAttribute(spec.partitionKey),
      ...(spec.sortKey !== undefined ? { sortKey: toAttribute(spec.sortKey) } : {}),
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(spec.ttlAttribute !== undefined ? { timeToLiveAttribute: spec.ttlAttribute } : {}),
    });
    this.spec = spec;
    for (const index of spec.indexes) {
      this.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: toAttribute(index.partitionKey),
        ...(index.sortKey !== undefined ? { sortKey: toAttribute(index.sortKey) } : {}),
      });
    }
  }
}

export class StatefulStack extends Stack {
  /** Encrypts the tables at rest; used by DynamoDB on the callers' behalf. */
  public readonly tableKey: Key;
  /**
   * Wraps the per-version data keys of the secret store (envelope encryption). A key of its own,
   * so the many functions that may read a table never hold the right to unwrap secret data keys.
   */
  public readonly secretsKey: Key;
  public readonly tables: Readonly<Record<TableId, Table>>;
  /**
   * The bus of VaultPilot's lifecycle events. Here, not in a stateless stack, because users attach
   * their own rules to it: replacing a stateless stack must not take their rules away.
   */
  public readonly eventBus: EventBus;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);

    this.tableKey = new Key(this, 'TableKey', {
      alias: `alias/vaultpilot-${props.stage}-tables`,
      description: `VaultPilot ${props.stage}: encryption at rest of the DynamoDB tables`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.secretsKey = new Key(this, 'SecretsKey', {
      alias: `alias/vaultpilot-${props.stage}-secrets`,
      description: `VaultPilot ${props.stage}: wraps the data keys of secret versions`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const tables: Partial<Record<TableId, Table>> = {};
    for (const spec of TABLE_LIST) {
      tables[spec.id] = new SpecTable(this, constructId(spec.id, 'Table'), {
        spec,
        encryptionKey: this.tableKey,
      });
    }
    this.tables = tables as Record<TableId, Table>;

    this.eventBus = new EventBus(this, 'EventBus', {
      eventBusName: `vaultpilot-${props.stage}`,
      description: `VaultPilot ${props.stage}: credential, rotation and audit lifecycle events`,
    });
  }

  /** The tables and their key, as the stateless stacks receive them. */
  get dataStores(): DataStores {
    return {
      tables: this.tables,
      tableKey: this.tableKey,
      secretsKey: this.secretsKey,
      eventBus: this.eventBus,
    };
  }
}
