/**
 * The `RotationStore` on the rotations table, and the `RotationPolicyStore` on the settings table.
 *
 * Rotations table items (every key starts with the tenant):
 * - `pk = <tenant>#<credential id>`, `sk = <rotation id>`: one rotation record. While a
 *   retirement phase is pending it also carries `retireKey = <tenant>` and
 *   `retireAt = <due>#<rotation id>`, which put it in the sparse `retirementsDue` index.
 * - same pk, `sk = lock`: the credential's in-flight lock (`rotationId`, `since`).
 * - same pk, `sk = idem#<sha-256 of the key>`: an idempotency key (`rotationId`, `expiresAt` TTL).
 * - `pk = <tenant>#pair#<sha-256 of the pair>`, `sk = pair`: a pair's last rotation start.
 * Settings table: `pk = <tenant>`, `sk = rotation-policy#<name>`: a rotation policy (or the
 * tombstone of a deleted one, until the due-time refresh after the delete has run).
 *
 * Every write is a single-item conditional write (dynalite has no transactions).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import {
  parseRotationPolicy,
  ROTATOR_TYPES,
  type RotationPolicy,
  type StoredRotationPolicy,
} from '../../core/rotation/policy.js';
import {
  RETIREMENT_STATUSES,
  ROTATION_STATES,
  ROTATION_STEPS,
  ROTATION_TRIGGERS,
  type RotationRecord,
  STEP_STATUSES,
} from '../../core/rotation/rotation.js';
import type {
  LockResult,
  PairSlotResult,
  RotationKey,
  RotationPage,
  RotationPolicyStore,
  RotationStore,
} from '../../core/rotation/rotation-store.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';
import { queryPages } from './dynamodb-pages.js';
import type { DueTimeMarks, StaleDueTimes } from '../../core/rotation/due-time-refresh.js';

const WHAT = 'rotation store';
const LOCK_SK = 'lock';
const PAIR_SK = 'pair';
const IDEMPOTENCY_PREFIX = 'idem#';
const ROTATION_PREFIX = 'rot_';
export const RETIREMENTS_INDEX = 'retirementsDue';

type Item = Record<string, unknown>;

/** A stored item that is not what this store writes: refused rather than half-read. */
export class CorruptRotationItemError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptRotationItemError';
  }
}

const provider = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const optionalString = z.string().optional();

const RecordSchema = z.object({
  tenant: z.string(),
  credentialId: z.string(),
  rotationId: z.string(),
  credentialType: z.enum(ROTATOR_TYPES),
  trigger: z.enum(ROTATION_TRIGGERS),
  requestedBy: z.string(),
  policyName: optionalString,
  dryRun: z.boolean(),
  state: z.enum(ROTATION_STATES),
  steps: z.array(
    z.object({
      step: z.enum(ROTATION_STEPS),
      status: z.enum(STEP_STATUSES),
      startedAt: z.string(),
      endedAt: optionalString,
      attempts: z.number().int().min(1),
      outcome: optionalString,
    }),
  ),
  provider,
  baseVersion: z.number().int().optional(),
  promotedVersion: z.number().int().optional(),
  retirement: z
    .object({
      status: z.enum(RETIREMENT_STATUSES),
      ref: provider,
      nextPhase: z.enum(['deactivate', 'delete']).optional(),
      dueAt: optionalString,
      deactivatedAt: optionalString,
      retiredAt: optionalString,
      note: optionalString,
    })
    .optional(),
  failure: optionalString,
  lease: z.object({ owner: z.string(), until: z.string() }).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: optionalString,
  revision: z.number().int().positive(),
});

function partitionKey(tenant: string, credentialId: string): string {
  return `${tenant}#${credentialId}`;
}

function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The record's item: its fields (undefined ones dropped), keys, and the retirement index keys. */
export function rotationItem(record: RotationRecord): Item {
  const fields = JSON.parse(JSON.stringify(record)) as Item;
  const retirement = record.retirement;
  return {
    ...fields,
    pk: partitionKey(record.tenant, record.credentialId),
    sk: record.rotationId,
    ...(retirement?.nextPhase !== undefined && retirement.dueAt !== undefined
      ? { retireKey: record.tenant, retireAt: `${retirement.dueAt}#${record.rotationId}` }
      : {}),
  };
}

function toRecord(item: Item): RotationRecord {
  const { pk: _pk, sk: _sk, retireKey: _retireKey, retireAt: _retireAt, ...fields } = item;
  const parsed = RecordSchema.safeParse(fields);
  if (!parsed.success) {
    throw new CorruptRotationItemError(
      `Rotation item ${String(item.sk)} is not valid: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
      { cause: parsed.error },
    );
  }
  const r = parsed.data;
  return {
    ...r,
    policyName: r.policyName,
    baseVersion: r.baseVersion,
    promotedVersion: r.promotedVersion,
    failure: r.failure,
    lease: r.lease,
    finishedAt: r.finishedAt,
    steps: r.steps.map((step) => ({ ...step, endedAt: step.endedAt, outcome: step.outcome })),
    retirement:
      r.retirement === undefined
        ? undefined
        : {
            ...r.retirement,
            nextPhase: r.retirement.nextPhase,
            dueAt: r.retirement.dueAt,
            deactivatedAt: r.retirement.deactivatedAt,
            retiredAt: r.retirement.retiredAt,
            note: r.retirement.note,
          },
  };
}

function encodeCursor(sk: string): string {
  return Buffer.from(JSON.stringify({ sk }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = z
      .object({ sk: z.string().startsWith(ROTATION_PREFIX) })
      .parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.sk;
  } catch (error: unknown) {
    throw new ValidationError('Invalid cursor', { cause: error });
  }
}

export class DynamoDbRotationStore implements RotationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: RotationRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: rotationItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) return false;
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async get(tenant: string, credentialId: string, rotationId: string): Promise<RotationRecord | undefined> {
    const item = await this.getItem(partitionKey(tenant, credentialId), rotationId);
    return item === undefined ? undefined : toRecord(item);
  }

  async save(record: RotationRecord, expectedRevision: number): Promise<void> {
    if (record.revision !== expectedRevision + 1) {
      throw new RangeError(
        `A saved rotation must have revision ${expectedRevision + 1} (got ${record.revision})`,
      );
    }
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: rotationItem(record),
          ConditionExpression: 'revision = :expected',
          ExpressionAttributeValues: { ':expected': expectedRevision },
        }),
      );
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(`Rotation ${record.rotationId} changed meanwhile`, { cause: error });
      }
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async list(
    tenant: string,
    credentialId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<RotationPage> {
    const start = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    let result;
    try {
      result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression:
            start === undefined
              ? 'pk = :pk AND begins_with(sk, :prefix)'
              : 'pk = :pk AND sk BETWEEN :prefix AND :before',
          ExpressionAttributeValues: {
            ':pk': partitionKey(tenant, credentialId),
            ':prefix': ROTATION_PREFIX,
            ...(start === undefined ? {} : { ':before': start }),
          },
          ScanIndexForward: false,
          Limit: page.limit + (start === undefined ? 0 : 1),
          ConsistentRead: true,
        }),
      );
    } catch (error: unknown) {
      throw dynamoDbUnavailable('Query', WHAT, error);
    }
    const items = ((result.Items ?? []) as Item[]).filter((item) => item.sk !== start).slice(0, page.limit);
    const last = items.at(-1);
    const more =
      result.LastEvaluatedKey !== undefined ||
      (result.Items ?? []).length > items.length + (start === undefined ? 0 : 1);
    return {
      items: items.map(toRecord),
      cursor: more && last !== undefined ? encodeCursor(String(last.sk)) : undefined,
    };
  }

  async acquireLock(
    tenant: string,
    credentialId: string,
    rotationId: string,
    now: string,
    takeOverFrom?: string,
  ): Promise<LockResult> {
    const pk = partitionKey(tenant, credentialId);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, sk: LOCK_SK, rotationId, since: now },
          ConditionExpression:
            takeOverFrom === undefined
              ? 'attribute_not_exists(pk) OR rotationId = :me'
              : 'attribute_not_exists(pk) OR rotationId = :me OR rotationId = :stale',
          ExpressionAttributeValues: {
            ':me': rotationId,
            ...(takeOverFrom === undefined ? {} : { ':stale': takeOverFrom }),
          },
        }),
      );
      return { acquired: true };
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    const holder = await this.lockHolder(tenant, credentialId);
    // Freed between the put and the read: try once more.
    if (holder === undefined) return this.acquireLock(tenant, credentialId, rotationId, now, takeOverFrom);
    return { acquired: false, holder: holder.rotationId, since: holder.since };
  }

  async releaseLock(tenant: string, credentialId: string, rotationId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: partitionKey(tenant, credentialId), sk: LOCK_SK },
          ConditionExpression: 'rotationId = :me',
          ExpressionAttributeValues: { ':me': rotationId },
        }),
      );
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('DeleteItem', WHAT, error);
    }
  }

  async lockHolder(
    tenant: string,
    credentialId: string,
  ): Promise<{ rotationId: string; since: string } | undefined> {
    const item = await this.getItem(partitionKey(tenant, credentialId), LOCK_SK);
    return item === undefined
      ? undefined
      : { rotationId: String(item.rotationId), since: String(item.since) };
  }

  async claimPairSlot(
    tenant: string,
    pair: string,
    rotationId: string,
    now: string,
    startedBefore: string,
  ): Promise<PairSlotResult> {
    const pk = `${tenant}#pair#${hashOf(pair)}`;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, sk: PAIR_SK, rotationId, lastStartedAt: now },
          ConditionExpression: 'attribute_not_exists(pk) OR rotationId = :me OR lastStartedAt < :before',
          ExpressionAttributeValues: { ':me': rotationId, ':before': startedBefore },
        }),
      );
      return { claimed: true };
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    const item = await this.getItem(pk, PAIR_SK);
    return {
      claimed: false,
      holder: typeof item?.rotationId === 'string' ? item.rotationId : '',
      lastStartedAt: typeof item?.lastStartedAt === 'string' ? item.lastStartedAt : now,
    };
  }

  async rememberIdempotencyKey(
    tenant: string,
    credentialId: string,
    keyHash: string,
    rotationId: string,
    times: { readonly now: number; readonly expiresAt: number },
  ): Promise<string> {
    const key = { pk: partitionKey(tenant, credentialId), sk: `${IDEMPOTENCY_PREFIX}${keyHash}` };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, rotationId, expiresAt: times.expiresAt },
          // An expired key (TTL removes it within days, not at once) may be used again.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': times.now },
        }),
      );
      return rotationId;
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    const item = await this.getItem(key.pk, key.sk);
    if (item === undefined)
      return this.rememberIdempotencyKey(tenant, credentialId, keyHash, rotationId, times);
    return String(item.rotationId);
  }

  async dueRetirements(tenant: string, now: string, limit: number): Promise<RotationKey[]> {
    let items: Item[];
    try {
      ({ Items: items = [] } = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: RETIREMENTS_INDEX,
          KeyConditionExpression: 'retireKey = :tenant AND retireAt <= :upper',
          ExpressionAttributeValues: { ':tenant': tenant, ':upper': `${now}#\uffff` },
          Limit: limit,
        }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('Query', WHAT, error);
    }
    return items.map((item) => ({
      tenant,
      credentialId: String(item.credentialId),
      rotationId: String(item.rotationId),
    }));
  }

  private async getItem(pk: string, sk: string): Promise<Item | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }),
      );
      return Item;
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
  }
}

const POLICY_PREFIX = 'rotation-policy#';
/** Marks of a put and of a delete (the delete's tombstone is removed when its mark is cleared). */
const WRITTEN_MARK = 'written#';
const DELETED_MARK = 'deleted#';

/**
 * Rotation policies in the settings table: `pk = <tenant>`, `sk = rotation-policy#<name>`. Every
 * write also sets `dueTimesStale` to a fresh mark (`DueTimeMarks`, core/rotation/due-time-refresh.ts)
 * in the same single-item write; a delete leaves a tombstone (`deleted`, no settings) carrying its
 * mark until the refresh after it has run. Reads never show a tombstone.
 */
export class DynamoDbRotationPolicyStore implements RotationPolicyStore, DueTimeMarks {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(tenant: string, name: string): Promise<StoredRotationPolicy | undefined> {
    const item = await this.item(tenant, name);
    return item === undefined || isTombstone(item) ? undefined : toStoredPolicy(tenant, item);
  }

  async list(tenant: string): Promise<StoredRotationPolicy[]> {
    const items = await this.query(tenant);
    return items.filter((item) => !isTombstone(item)).map((item) => toStoredPolicy(tenant, item));
  }

  async put(
    tenant: string,
    policy: RotationPolicy,
    now: string,
    expectedRevision?: number,
  ): Promise<StoredRotationPolicy> {
    const current = await this.get(tenant, policy.name);
    if (expectedRevision !== undefined && (current?.revision ?? 0) !== expectedRevision) {
      throw new ConflictError(
        `Policy ${policy.name} is at revision ${current?.revision ?? 0}, not ${expectedRevision}`,
        {
          details: { revision: current?.revision ?? 0 },
        },
      );
    }
    const revision = (current?.revision ?? 0) + 1;
    const { name, ...settings } = policy;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: tenant,
            sk: `${POLICY_PREFIX}${name}`,
            name,
            settings: JSON.parse(JSON.stringify(settings)) as unknown,
            revision,
            updatedAt: now,
            dueTimesStale: newMark(WRITTEN_MARK),
          },
          // A new policy may take the place of a deleted one's tombstone, not of a live policy.
          ConditionExpression:
            current === undefined
              ? 'attribute_not_exists(pk) OR attribute_exists(deleted)'
              : 'revision = :expected AND attribute_not_exists(deleted)',
          ...(current === undefined ? {} : { ExpressionAttributeValues: { ':expected': current.revision } }),
        }),
      );
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(`Policy ${name} changed meanwhile; read it again`, { cause: error });
      }
      throw dynamoDbUnavailable('PutItem', 'rotation policy store', error);
    }
    return { tenant, policy, revision, updatedAt: now };
  }

  async delete(tenant: string, name: string, expectedRevision?: number): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: tenant,
            sk: `${POLICY_PREFIX}${name}`,
            name,
            deleted: true,
            dueTimesStale: newMark(DELETED_MARK),
          },
          ConditionExpression:
            expectedRevision === undefined
              ? 'attribute_exists(pk) AND attribute_not_exists(deleted)'
              : 'attribute_exists(pk) AND attribute_not_exists(deleted) AND revision = :expected',
          ...(expectedRevision === undefined
            ? {}
            : { ExpressionAttributeValues: { ':expected': expectedRevision } }),
        }),
      );
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error))
        throw dynamoDbUnavailable('PutItem', 'rotation policy store', error);
      const current = await this.get(tenant, name);
      if (current === undefined) throw new NotFoundError(`No rotation policy ${name}`, { cause: error });
      throw new ConflictError(`Policy ${name} is at revision ${current.revision}`, {
        cause: error,
        details: { revision: current.revision },
      });
    }
  }

  async staleDueTimes(tenant: string): Promise<readonly StaleDueTimes[]> {
    const items = await this.query(tenant, true);
    return items.map((item) => ({ name: String(item.name), mark: String(item.dueTimesStale) }));
  }

  async clearStaleDueTimes(tenant: string, marks: readonly StaleDueTimes[]): Promise<void> {
    for (const { name, mark } of marks) {
      const Key = { pk: tenant, sk: `${POLICY_PREFIX}${name}` };
      const condition = {
        ConditionExpression: 'dueTimesStale = :mark',
        ExpressionAttributeValues: { ':mark': mark },
      };
      const [operation, command] = mark.startsWith(DELETED_MARK)
        ? (['DeleteItem', new DeleteCommand({ TableName: this.tableName, Key, ...condition })] as const)
        : ([
            'UpdateItem',
            new UpdateCommand({
              TableName: this.tableName,
              Key,
              UpdateExpression: 'REMOVE dueTimesStale',
              ...condition,
            }),
          ] as const);
      try {
        await this.client.send(command);
      } catch (error: unknown) {
        // A later write marked the policy again: its own refresh (or the scheduler) clears that.
        if (isConditionalCheckFailed(error)) continue;
        throw dynamoDbUnavailable(operation, 'rotation policy store', error);
      }
    }
  }

  private async item(tenant: string, name: string): Promise<Item | undefined> {
    try {
      const { Item: item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: tenant, sk: `${POLICY_PREFIX}${name}` },
          ConsistentRead: true,
        }),
      );
      return item as Item | undefined;
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', 'rotation policy store', error);
    }
  }

  /** The tenant's policy items, tombstones included; only the marked ones when `marked`. */
  private async query(tenant: string, marked = false): Promise<Item[]> {
    const items: Item[] = [];
    const pages = queryPages(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': tenant, ':prefix': POLICY_PREFIX },
        ...(marked ? { FilterExpression: 'attribute_exists(dueTimesStale)' } : {}),
        ConsistentRead: true,
      },
      'rotation policy store',
    );
    for await (const page of pages) items.push(...((page.Items ?? []) as Item[]));
    return items;
  }
}

function isTombstone(item: Item): boolean {
  return item.deleted === true;
}

function newMark(kind: string): string {
  return `${kind}${randomBytes(12).toString('hex')}`;
}

function toStoredPolicy(tenant: string, item: Item): StoredRotationPolicy {
  const name = String(item.name);
  try {
    return {
      tenant,
      policy: parseRotationPolicy(name, item.settings),
      revision: Number(item.revision),
      updatedAt: String(item.updatedAt),
    };
  } catch (error: unknown) {
    throw new CorruptRotationItemError(`Rotation policy ${name} is not valid`, { cause: error });
  }
}
