/**
 * Everything that holds data: the DynamoDB tables (from the table specs the local runtime also
 * uses) and the customer-managed KMS keys. Retained and deletion-protected, in a stack of its
 * own, so replacing or deleting any stateless stack can never touch the data.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { ROTATION_WORKER_TIMEOUT_SECONDS } from '../lambdas/shared/engines.js';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
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
      ...(spec.stream === 'NEW_IMAGE' ? { stream: StreamViewType.NEW_IMAGE } : {}),
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
  /**
   * Signs the audit digests (ECC_NIST_P256, ECDSA_SHA_256; ADR 0004). Asymmetric, so anyone can
   * verify with its public key and only the digest signers can sign. Asymmetric keys cannot rotate
   * automatically; a new key would start a new digest chain (documented in ADR 0004).
   */
  public readonly auditSigningKey: Key;
  public readonly tables: Readonly<Record<TableId, Table>>;
  /**
   * The bus of VaultPilot's lifecycle events. Here, not in a stateless stack, because users attach
   * their own rules to it: replacing a stateless stack must not take their rules away.
   */
  public readonly eventBus: EventBus;
  /**
   * Rotation jobs between the scheduler, the API and the worker. Here, next to the bus, because
   * both the API and the engines use it. A job that fails `maxReceiveCount` times goes to the
   * dead-letter queue (the Engines stack alarms on it).
   */
  public readonly rotationQueue: Queue;
  public readonly rotationDeadLetterQueue: Queue;

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

    this.auditSigningKey = new Key(this, 'AuditSigningKey', {
      alias: `alias/vaultpilot-${props.stage}-audit-signing`,
      description: `VaultPilot ${props.stage}: signs the digests of the tamper-evident audit chain`,
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
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

    this.rotationDeadLetterQueue = new Queue(this, 'RotationDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.rotationQueue = new Queue(this, 'RotationQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the worker's timeout (AWS's advice for SQS event sources), so a job is never
      // delivered again while a worker still runs it.
      visibilityTimeout: Duration.seconds(6 * ROTATION_WORKER_TIMEOUT_SECONDS),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.rotationDeadLetterQueue, maxReceiveCount: 5 },
    });
  }

  /** The tables and their key, as the stateless stacks receive them. */
  get dataStores(): DataStores {
    return {
      tables: this.tables,
      tableKey: this.tableKey,
      secretsKey: this.secretsKey,
      auditSigningKey: this.auditSigningKey,
      eventBus: this.eventBus,
      rotationQueue: this.rotationQueue,
      rotationDeadLetterQueue: this.rotationDeadLetterQueue,
    };
  }
}
