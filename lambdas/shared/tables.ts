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
  /** A DynamoDB stream of new item images (AWS only: dynalite has no streams). */
  readonly stream?: 'NEW_IMAGE';
  readonly purpose: string;
}

export const TABLE_IDS = ['secrets', 'credentials', 'rotations', 'audit', 'settings'] as const;
export type TableId = (typeof TABLE_IDS)[number];

const pk: KeyAttribute = { name: 'pk', type: 'S' };
const sk: KeyAttribute = { name: 'sk', type: 'S' };
const nameKey: KeyAttribute = { name: 'nameKey', type: 'S' };

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
      {
        indexName: 'expiryWatch',
        partitionKey: { name: 'expiryShard', type: 'S' },
        sortKey: { name: 'expiryAt', type: 'S' },
        purpose:
          'Sparse: only credentials with an expiry, a rotation due time or a next rotation date carry expiryShard, so the expiry check queries, never scans.',
      },
      // The inventory's name-ordered listings (issue 13): one index per filter dimension, each
      // sorted by nameKey=<lower-case name>\u0001<id>, so a page of GET /credentials is one Query
      // per partition whatever the inventory's size. Sparse where the value is optional.
      {
        indexName: 'inventoryByName',
        partitionKey: { name: 'listKey', type: 'S' },
        sortKey: nameKey,
        purpose: "A tenant's whole inventory in name order (listKey=<tenant>), for unfiltered listings.",
      },
      {
        indexName: 'typeByName',
        partitionKey: { name: 'typeKey', type: 'S' },
        sortKey: nameKey,
        purpose: 'Credentials of one type in one tenant (typeKey=<tenant>#<type>) in name order.',
      },
      {
        indexName: 'statusByName',
        partitionKey: { name: 'statusKey', type: 'S' },
        sortKey: nameKey,
        purpose: 'Credentials in one status in one tenant (statusKey=<tenant>#<status>) in name order.',
      },
      {
        indexName: 'sourceByName',
        partitionKey: { name: 'sourceKey', type: 'S' },
        sortKey: nameKey,
        purpose: 'Credentials from one source in one tenant (sourceKey=<tenant>#<source>) in name order.',
      },
      {
        indexName: 'ownerByName',
        partitionKey: { name: 'ownerKey', type: 'S' },
        sortKey: nameKey,
        purpose:
          'Sparse: credentials of one owner in one tenant (ownerKey=<tenant>#<lower-case owner>) in name order.',
      },
      {
        indexName: 'severityByName',
        partitionKey: { name: 'severityKey', type: 'S' },
        sortKey: nameKey,
        purpose:
          'Sparse: credentials with findings by their worst severity (severityKey=<tenant>#<severity>) in name order.',
      },
      {
        indexName: 'expiryFindingsByDate',
        partitionKey: { name: 'expiryFindingKey', type: 'S' },
        sortKey: { name: 'expiryKey', type: 'S' },
        purpose:
          "Sparse: credentials with an expiry finding (expiryFindingKey=<tenant>#<rule>) in expiry order (expiryKey=<expiresAt>, then <id>), so the overview's expiring lists are one Query per finding.",
      },
      {
        indexName: 'tenants',
        partitionKey: { name: 'registryShard', type: 'S' },
        sortKey: pk,
        purpose:
          'Sparse: one marker item per tenant with an inventory, so the hourly discovery run finds tenants without a scan.',
      },
    ],
    purpose:
      'Credential inventory (discovered and managed): pk=<tenant>, sk=cred#<id>; listing counters pk=<tenant>, sk=counts; history pk=<tenant>#history#<id>; discovery runs pk=<tenant>#discovery-runs, sk=run#<id>, and their one-run-at-a-time lease sk=lease.',
  },
  rotations: {
    id: 'rotations',
    envVar: 'VAULTPILOT_TABLE_ROTATIONS',
    partitionKey: pk,
    sortKey: sk,
    indexes: [
      {
        indexName: 'retirementsDue',
        partitionKey: { name: 'retireKey', type: 'S' },
        sortKey: { name: 'retireAt', type: 'S' },
        purpose:
          'Sparse: only rotations with a retirement phase pending carry retireKey=<tenant> and retireAt=<due>#<rotation id>, so the sweeper queries, never scans.',
      },
    ],
    // Idempotency keys of rotation requests expire after a day.
    ttlAttribute: 'expiresAt',
    purpose:
      'Rotation state machines and history: pk=<tenant>#<credential id>, sk=<rotation id> (the rotation token), plus sk=lock (one rotation in flight) and sk=idem#<key hash>; pair slots pk=<tenant>#pair#<hash>.',
  },
  audit: {
    id: 'audit',
    envVar: 'VAULTPILOT_TABLE_AUDIT',
    partitionKey: pk,
    sortKey: sk,
    // Event items only carry the index keys (`<tenant>#<value>`); chain entries, markers and
    // digests carry none, so the indexes hold events alone. All sort by the event's sort key.
    indexes: [
      {
        indexName: 'byActor',
        partitionKey: { name: 'actorKey', type: 'S' },
        sortKey: sk,
        purpose: "A tenant's audit events by actor (actorKey=<tenant>#<actor id>), newest first.",
      },
      {
        indexName: 'byAction',
        partitionKey: { name: 'actionKey', type: 'S' },
        sortKey: sk,
        purpose: "A tenant's audit events by action (actionKey=<tenant>#<action>), newest first.",
      },
      {
        indexName: 'byTarget',
        partitionKey: { name: 'targetKey', type: 'S' },
        sortKey: sk,
        purpose:
          "A tenant's audit events by target (targetKey=<tenant>#<path, credential id, policy or HMAC>), newest first.",
      },
      {
        indexName: 'byOutcome',
        partitionKey: { name: 'outcomeKey', type: 'S' },
        sortKey: sk,
        purpose: "A tenant's audit events by outcome (outcomeKey=<tenant>#<outcome>), newest first.",
      },
      {
        indexName: 'auditTenants',
        partitionKey: { name: 'registry', type: 'S' },
        sortKey: { name: 'tenant', type: 'S' },
        purpose:
          'Sparse: one registry item per tenant with audit events, so the digest engine finds tenants without a scan.',
      },
    ],
    ttlAttribute: 'expiresAt',
    // The sequencer chains recorded events from the stream (events of a tenant share a partition
    // key, so they arrive in order).
    stream: 'NEW_IMAGE',
    purpose:
      'Append-only audit log: events pk=<tenant>#events, chain pk=<tenant>#chain (sk=<seq>), markers pk=<tenant>#chained, digests pk=<tenant>#digests, registry pk=<tenant>#registry.',
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
