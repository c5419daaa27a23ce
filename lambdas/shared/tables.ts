/**
 * The one place that describes VaultPilot's DynamoDB tables. CDK (`lib/stateful-stack.ts`) and
 * the local runtime (`lambdas/local/dynamo.ts`) both build tables from these specs, so the two
 * runtimes cannot drift. Every partition key starts with the tenant (`<tenant>#...`), so no
 * query can cross tenants.
 */
export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexSpec {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Why the index exists, in one sentence (also used as documentation). */
  readonly purpose: string;
}

export interface TableSpec {
  readonly id: TableId;
  /** Environment variable through which functions receive the physical table name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly indexes: readonly IndexSpec[];
  /** Attribute holding an epoch-seconds expiry; DynamoDB TTL in AWS, not enforced locally. */
  readonly ttlAttribute?: string;
  readonly purpose: string;
}

export const TABLE_IDS = ['secrets', 'credentials', 'rotations', 'audit', 'settings'] as const;
export type TableId = (typeof TABLE_IDS)[number];

const pk: KeyAttribute = { name: 'pk', type: 'S' };
const sk: KeyAttribute = { name: 'sk', type: 'S' };

export const TABLE_SPECS: Readonly<Record<TableId, TableSpec>> = {
  secrets: {
    id: 'secrets',
    envVar: 'VAULTPILOT_TABLE_SECRETS',
    partitionKey: pk,
    sortKey: sk,
    indexes: [
      {
        indexName: 'byTenantPath',
        partitionKey: { name: 'listPk', type: 'S' },
        sortKey: { name: 'listSk', type: 'S' },
        purpose: 'Sparse: only metadata items carry listPk=<tenant>, so listing by path prefix is a Query.',
      },
    ],
    purpose: 'Versioned secret items: pk=<tenant>#<path>, sk=v#<zero-padded version> plus a metadata item.',
  },
  credentials: {
    id: 'credentials',
    envVar: 'VAULTPILOT_TABLE_CREDENTIALS',
    partitionKey: pk,
    sortKey: sk,
    indexes: [
      {
        indexName: 'dueForRotation',
        partitionKey: { name: 'dueShard', type: 'S' },
        sortKey: { name: 'dueAt', type: 'S' },
        purpose:
          'Sparse: only credentials with rotation enabled carry dueShard, so the scheduler queries, never scans.',
      },
    ],
    purpose: 'Credential inventory (discovered and managed): pk=<tenant>, sk=<credential id>.',
  },
  rotations: {
    id: 'rotations',
    envVar: 'VAULTPILOT_TABLE_ROTATIONS',
    partitionKey: pk,
    sortKey: sk,
    indexes: [],
    purpose: 'Rotation state machines and history: pk=<tenant>#<credential id>, sk=<rotation token>.',
  },
  audit: {
    id: 'audit',
    envVar: 'VAULTPILOT_TABLE_AUDIT',
    partitionKey: pk,
    sortKey: sk,
    indexes: [],
    ttlAttribute: 'expiresAt',
    purpose:
      'Append-only audit events and their per-tenant hash chain: pk=<tenant>#..., sk=<seq or event id>.',
  },
  settings: {
    id: 'settings',
    envVar: 'VAULTPILOT_TABLE_SETTINGS',
    partitionKey: pk,
    sortKey: sk,
    indexes: [],
    purpose: 'Tenant settings, notification channels and access policies: pk=<tenant>, sk=<kind>#<id>.',
  },
};

export const TABLE_LIST: readonly TableSpec[] = TABLE_IDS.map((id) => TABLE_SPECS[id]);

/** Physical table name used by the local runtime (CDK lets CloudFormation name them). */
export function localTableName(id: TableId): string {
  return `vaultpilot-${id}`;
}
