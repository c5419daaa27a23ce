/**
 * The `CredentialStore` on the credentials table:
 * - `pk = <tenant>`, `sk = cred#<id>`: one item per credential, with `nameKey` and the partition
 *   keys of the name-ordered listing indexes (`listKey`, `typeKey`, `statusKey`, `sourceKey`,
 *   `ownerKey`, `severityKey`), and, with an expiry finding, `expiryFindingKey` and `expiryKey` of
 *   the expiry-ordered one (see `inventory-pages.ts`);
 * - `pk = <tenant>`, `sk = counts`: the listing's counters (`n:<count key>`) in `format` 2, moved
 *   with ADD after every write; dropped when an update fails, and rebuilt by the next listing from
 *   the items (also when they are of an older format, which lacks counters of later partitions);
 * - `pk = <tenant>#history#<id>`, `sk = <time>#<random>`: one item per change of a credential;
 * - `pk = <tenant>`, `sk = tenant`, `registryShard = tenants`: the tenant's marker in the sparse
 *   `tenants` index, which the hourly run queries instead of scanning the table.
 * Writes are single-item conditional writes on `revision` (dynalite has no transactions).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  type Credential,
  CREDENTIAL_SOURCES,
  CREDENTIAL_STATUSES,
  CREDENTIAL_TYPES,
} from '../../core/credentials/credential.js';
import {
  CREDENTIAL_CHANGE_ACTIONS,
  type CredentialChange,
  type CredentialStore,
} from '../../core/credentials/credential-store.js';
import {
  countAll,
  countDelta,
  expiryKeyOf,
  type InventoryCounts,
  type InventoryDimension,
  type InventoryPartition,
  nameKeyOf,
  orderOf,
  partitionsOf,
  type PartitionChunk,
} from '../../core/credentials/inventory-pages.js';
import { FINDING_RULE_IDS, SEVERITIES } from '../../core/credentials/findings.js';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import { ACTOR_KINDS } from '../../core/audit/audit-event.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';
import { queryPages } from './dynamodb-pages.js';
import { expiryIndexKeys } from './dynamodb-expiry-index.js';

const WHAT = 'credential inventory';
const CREDENTIAL_PREFIX = 'cred#';
const TENANT_MARKER = 'tenant';
const REGISTRY_SHARD = 'tenants';
const COUNTS_SK = 'counts';
const COUNT_PREFIX = 'n:';
/**
 * The counters' format: 2 adds the expiry partitions' counters. Counters of an older format are
 * rebuilt by the next listing, which also gives older items the index keys they lack.
 */
const COUNTS_FORMAT = 2;

/** The index of each listing dimension and the attribute holding its partition. */
const LISTING_INDEXES: Readonly<Record<InventoryDimension, { index: string; attribute: string }>> = {
  all: { index: 'inventoryByName', attribute: 'listKey' },
  type: { index: 'typeByName', attribute: 'typeKey' },
  status: { index: 'statusByName', attribute: 'statusKey' },
  source: { index: 'sourceByName', attribute: 'sourceKey' },
  owner: { index: 'ownerByName', attribute: 'ownerKey' },
  severity: { index: 'severityByName', attribute: 'severityKey' },
  expiry: { index: 'expiryFindingsByDate', attribute: 'expiryFindingKey' },
};

/** The sort key attribute of each order's indexes. */
const ORDER_ATTRIBUTES = { name: 'nameKey', expiry: 'expiryKey' } as const;

function partitionValue(tenant: string, partition: InventoryPartition): string {
  return partition.dimension === 'all' ? tenant : `${tenant}#${partition.value}`;
}

/** The listing index attributes of a credential item. */
function listingKeys(credential: Credential): Item {
  const keys: Item = { listKey: credential.tenant, nameKey: nameKeyOf(credential) };
  for (const partition of partitionsOf(credential)) {
    keys[LISTING_INDEXES[partition.dimension].attribute] = partitionValue(credential.tenant, partition);
    if (partition.dimension === 'expiry') keys[ORDER_ATTRIBUTES.expiry] = expiryKeyOf(credential);
  }
  return keys;
}

/** Whether a stored item lacks (or has other) listing index keys than its credential's. */
function listingKeysStale(item: Item, credential: Credential): boolean {
  return Object.entries(listingKeys(credential)).some(([name, value]) => item[name] !== value);
}

type Item = Record<string, unknown>;

/** A stored item that is not what this store writes: refused rather than half-read. */
export class CorruptCredentialItemError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptCredentialItemError';
  }
}

const optionalString = z.string().optional();
const StringMap = z.record(z.string(), z.string());

const CredentialItemSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  type: z.enum(CREDENTIAL_TYPES),
  source: z.enum(CREDENTIAL_SOURCES),
  name: z.string(),
  description: optionalString,
  reference: z.object({
    arn: optionalString,
    account: optionalString,
    region: optionalString,
    keyId: optionalString,
    userName: optionalString,
    path: optionalString,
    location: optionalString,
  }),
  owner: optionalString,
  tags: StringMap,
  sourceTags: StringMap,
  createdAt: optionalString,
  lastRotatedAt: optionalString,
  lastUsedAt: optionalString,
  usageTracked: z.boolean(),
  expiresAt: optionalString,
  rotationPolicy: optionalString,
  rotationState: z.enum(['rotating', 'failed']).optional(),
  status: z.enum(CREDENTIAL_STATUSES),
  findings: z.array(
    z.object({ ruleId: z.enum(FINDING_RULE_IDS), severity: z.enum(SEVERITIES), since: z.string() }),
  ),
  facts: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  scope: optionalString,
  registeredAt: z.string(),
  updatedAt: z.string(),
  goneAt: optionalString,
  revision: z.number().int().positive(),
  rotation: z
    .object({
      secretPath: z.string(),
      settings: z.record(z.string(), z.unknown()),
      policy: z.record(z.string(), z.unknown()).optional(),
      dueAt: optionalString,
    })
    .optional(),
});

/** The sparse `dueForRotation` index: credentials with a due time, spread over a few partitions. */
export const DUE_INDEX = 'dueForRotation';
export const DUE_SHARDS = 8;

/** The index partition of a credential: `due#<n>`, n from a hash of tenant and id (writes spread evenly). */
export function dueShardOf(tenant: string, id: string): string {
  return `due#${createHash('sha256').update(`${tenant}\n${id}`).digest().readUInt32BE(0) % DUE_SHARDS}`;
}

const ChangeItemSchema = z.object({
  at: z.string(),
  actor: z.object({ kind: z.enum(ACTOR_KINDS), id: z.string() }),
  action: z.enum(CREDENTIAL_CHANGE_ACTIONS),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
  findingsOpened: z.array(z.enum(FINDING_RULE_IDS)),
  findingsResolved: z.array(z.enum(FINDING_RULE_IDS)),
});

/** Drops undefined fields (DynamoDB has no undefined) recursively through plain objects. */
function defined(value: Record<string, unknown>): Item {
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .map(([key, field]) => [
        key,
        field !== null && typeof field === 'object' && !Array.isArray(field)
          ? defined(field as Record<string, unknown>)
          : field,
      ]),
  );
}

function credentialItem(credential: Credential): Item {
  return defined({
    pk: credential.tenant,
    sk: `${CREDENTIAL_PREFIX}${credential.id}`,
    ...listingKeys(credential),
    ...credential,
    findings: credential.findings.map((finding) => ({ ...finding })),
    // A copy through JSON: rotation settings may nest arrays and objects.
    rotation:
      credential.rotation === undefined
        ? undefined
        : (JSON.parse(JSON.stringify(credential.rotation)) as unknown),
    ...(credential.rotation?.dueAt === undefined
      ? {}
      : { dueShard: dueShardOf(credential.tenant, credential.id), dueAt: credential.rotation.dueAt }),
    ...expiryIndexKeys(credential),
  });
}

function toCredential(item: Item): Credential {
  const parsed = CredentialItemSchema.safeParse(item);
  if (!parsed.success) {
    throw new CorruptCredentialItemError(
      `Credential item ${String(item.sk)} is not valid: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      { cause: parsed.error },
    );
  }
  const c = parsed.data;
  return {
    ...c,
    description: c.description,
    owner: c.owner,
    createdAt: c.createdAt,
    lastRotatedAt: c.lastRotatedAt,
    lastUsedAt: c.lastUsedAt,
    expiresAt: c.expiresAt,
    rotationPolicy: c.rotationPolicy,
    rotationState: c.rotationState,
    scope: c.scope,
    goneAt: c.goneAt,
  };
}

function historyPk(tenant: string, id: string): string {
  return `${tenant}#history#${id}`;
}

export class DynamoDbCredentialStore implements CredentialStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(tenant: string, id: string): Promise<Credential | undefined> {
    let item: Item | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: tenant, sk: `${CREDENTIAL_PREFIX}${id}` },
          ConsistentRead: true,
        }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
    return item === undefined ? undefined : toCredential(item);
  }

  async list(tenant: string): Promise<Credential[]> {
    const items = await this.queryAll(this.tenantItemsQuery(tenant));
    return items.map(toCredential).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async readPartition(
    tenant: string,
    partition: InventoryPartition,
    options: { readonly after: string | undefined; readonly limit: number; readonly descending: boolean },
  ): Promise<PartitionChunk> {
    const { index, attribute } = LISTING_INDEXES[partition.dimension];
    const orderAttribute = ORDER_ATTRIBUTES[orderOf(partition.dimension)];
    let page;
    try {
      page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression:
            options.after === undefined
              ? '#key = :value'
              : `#key = :value AND #order ${options.descending ? '<' : '>'} :after`,
          ExpressionAttributeNames: {
            '#key': attribute,
            ...(options.after === undefined ? {} : { '#order': orderAttribute }),
          },
          ExpressionAttributeValues: {
            ':value': partitionValue(tenant, partition),
            ...(options.after === undefined ? {} : { ':after': options.after }),
          },
          ScanIndexForward: !options.descending,
          Limit: options.limit,
        }),
      );
    } catch (error: unknown) {
      throw dynamoDbUnavailable('Query', WHAT, error);
    }
    return {
      items: ((page.Items ?? []) as Item[]).map(toCredential),
      exhausted: page.LastEvaluatedKey === undefined,
    };
  }

  async readCounts(tenant: string): Promise<InventoryCounts | undefined> {
    let item: Item | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: tenant, sk: COUNTS_SK } }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
    if (item?.format !== COUNTS_FORMAT) return undefined;
    const counts: Record<string, number> = {};
    for (const [name, value] of Object.entries(item)) {
      if (name.startsWith(COUNT_PREFIX) && typeof value === 'number')
        counts[name.slice(COUNT_PREFIX.length)] = value;
    }
    return counts;
  }

  async rebuildCounts(tenant: string): Promise<InventoryCounts> {
    const items = await this.queryAll(this.tenantItemsQuery(tenant));
    const credentials = items.map(toCredential);
    // Items written before a listing index existed get its keys now (a one-off per tenant and
    // counters format); the condition keeps a newer write by someone else.
    for (const [index, credential] of credentials.entries()) {
      const item = items[index];
      if (item !== undefined && !listingKeysStale(item, credential)) continue;
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: credentialItem(credential),
            ConditionExpression: 'revision = :revision',
            ExpressionAttributeValues: { ':revision': credential.revision },
          }),
        );
      } catch (error: unknown) {
        if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
      }
    }
    const counts = countAll(credentials);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: tenant,
            sk: COUNTS_SK,
            format: COUNTS_FORMAT,
            ...Object.fromEntries(
              Object.entries(counts).map(([key, count]) => [`${COUNT_PREFIX}${key}`, count]),
            ),
          },
          // Replaces counters of an older format, never current ones another listing rebuilt.
          ConditionExpression:
            'attribute_not_exists(pk) OR attribute_not_exists(#format) OR #format < :format',
          ExpressionAttributeNames: { '#format': 'format' },
          ExpressionAttributeValues: { ':format': COUNTS_FORMAT },
        }),
      );
    } catch (error: unknown) {
      // A concurrent listing rebuilt them first: theirs stand.
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
      return (await this.readCounts(tenant)) ?? counts;
    }
    return counts;
  }

  async create(credential: Credential): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: credentialItem(credential),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(`Credential ${credential.id} already exists`, { cause: error });
      }
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    await this.moveCounts(credential.tenant, undefined, credential);
  }

  async replace(credential: Credential, expectedRevision: number): Promise<void> {
    if (credential.revision !== expectedRevision + 1) {
      throw new RangeError(
        `A replacement must have revision ${expectedRevision + 1} (got ${credential.revision})`,
      );
    }
    let old: Item | undefined;
    try {
      ({ Attributes: old } = await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: credentialItem(credential),
          ConditionExpression: 'revision = :expected',
          ExpressionAttributeValues: { ':expected': expectedRevision },
          ReturnValues: 'ALL_OLD',
        }),
      ));
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) throw await this.lostRace(credential.tenant, credential.id, error);
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    await this.moveCounts(credential.tenant, old, credential);
  }

  async delete(tenant: string, id: string, expectedRevision: number): Promise<void> {
    let old: Item | undefined;
    try {
      ({ Attributes: old } = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: tenant, sk: `${CREDENTIAL_PREFIX}${id}` },
          ConditionExpression: 'revision = :expected',
          ExpressionAttributeValues: { ':expected': expectedRevision },
          ReturnValues: 'ALL_OLD',
        }),
      ));
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) throw await this.lostRace(tenant, id, error);
      throw dynamoDbUnavailable('DeleteItem', WHAT, error);
    }
    await this.moveCounts(tenant, old, undefined);
  }

  async appendHistory(tenant: string, id: string, change: CredentialChange): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          // The random suffix keeps two changes in the same millisecond apart.
          Item: defined({
            pk: historyPk(tenant, id),
            sk: `${change.at}#${randomBytes(4).toString('hex')}`,
            ...change,
            changes: JSON.parse(JSON.stringify(change.changes)) as unknown,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error: unknown) {
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async history(tenant: string, id: string, limit: number): Promise<CredentialChange[]> {
    let items: Item[] | undefined;
    try {
      ({ Items: items } = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': historyPk(tenant, id) },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('Query', WHAT, error);
    }
    return (items ?? []).map((item) => {
      const parsed = ChangeItemSchema.safeParse(item);
      if (!parsed.success) {
        throw new CorruptCredentialItemError(`History item ${String(item.sk)} is not valid`, {
          cause: parsed.error,
        });
      }
      return parsed.data;
    });
  }

  async registerTenant(tenant: string): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: tenant, sk: TENANT_MARKER, registryShard: REGISTRY_SHARD },
        }),
      );
    } catch (error: unknown) {
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async tenants(): Promise<string[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: 'tenants',
      KeyConditionExpression: 'registryShard = :shard',
      ExpressionAttributeValues: { ':shard': REGISTRY_SHARD },
    });
    return items.map((item) => String(item.pk));
  }

  private tenantItemsQuery(tenant: string): QueryCommandInput {
    return {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenant, ':prefix': CREDENTIAL_PREFIX },
      ConsistentRead: true,
    };
  }

  /**
   * Moves the listing counters after a write that has succeeded. Only counters that exist are
   * moved (a tenant without them gets them rebuilt by its next listing). The write stands
   * whatever happens here: a counter update that fails drops the counters, so that the next
   * listing rebuilds them from the items rather than show a wrong total.
   */
  private async moveCounts(
    tenant: string,
    oldItem: Item | undefined,
    after: Credential | undefined,
  ): Promise<void> {
    let before: Credential | undefined;
    try {
      before = oldItem === undefined ? undefined : toCredential(oldItem);
    } catch {
      await this.dropCounts(tenant);
      return;
    }
    const delta = Object.entries(countDelta(before, after));
    if (delta.length === 0) return;
    const names = Object.fromEntries(delta.map(([key], index) => [`#c${index}`, `${COUNT_PREFIX}${key}`]));
    const values = Object.fromEntries(delta.map(([, change], index) => [`:c${index}`, change]));
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: tenant, sk: COUNTS_SK },
          UpdateExpression: `ADD ${delta.map((_, index) => `#c${index} :c${index}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error)) await this.dropCounts(tenant);
    }
  }

  private async dropCounts(tenant: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({ TableName: this.tableName, Key: { pk: tenant, sk: COUNTS_SK } }),
      );
    } catch {
      // Nothing more can be done here; the write itself succeeded and is not undone.
    }
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    for await (const page of queryPages(this.client, input, WHAT)) {
      items.push(...((page.Items ?? []) as Item[]));
    }
    return items;
  }

  /** After a failed condition: the credential is gone (404) or changed (409). */
  private async lostRace(tenant: string, id: string, cause: unknown): Promise<Error> {
    const current = await this.get(tenant, id);
    return current === undefined
      ? new NotFoundError(`No credential ${id}`, { cause })
      : new ConflictError(`Credential ${id} changed meanwhile (now at revision ${current.revision})`, {
          cause,
          details: { revision: current.revision },
        });
  }
}
