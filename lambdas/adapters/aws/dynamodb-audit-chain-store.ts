/**
 * The audit chain on the audit table (ADR 0004). Partitions of one tenant, every key starting
 * with the tenant:
 * - `<tenant>#events`   sk `<time>#<eventId>`: the durably recorded events (DynamoDbAuditSink);
 * - `<tenant>#chain`    sk `<seq, 12 digits>`: the chain entries, format 2 (`format`, `seq`,
 *                        `prevHash`, `hash`, `body`: the hashed bytes, `expiresAt`); entries of
 *                        older versions hold `seq`, `prevHash`, `hash`, `expiresAt`,
 *                        `prevExpiresAt` and `event` and are read as they are;
 * - `<tenant>#chained`  sk `<time>#<eventId>`: "this event is chained at `seq`" markers;
 * - `<tenant>#digests`  sk `<fromSeq, 12 digits>`: the signed digests;
 * - `<tenant>#registry` sk `tenant`: the tenant's entry in the sparse `auditTenants` index.
 * Every write is a conditional PutItem; nothing here updates or deletes (the functions' roles
 * cannot), and `expiresAt` on every item lets DynamoDB TTL apply the tenant's retention.
 */
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type ChainEntry,
  expandChainEntry,
  formatSeq,
  isHash,
  storedChainEntry,
} from '../../core/audit/audit-chain.js';
import { type AuditDigest, AuditDigestSchema } from '../../core/audit/audit-digest.js';
import { AuditEventRejectedError } from '../../core/audit/audit-event.js';
import type {
  AuditChainStore,
  ChainedMarker,
  RecordedAuditEvent,
  RecordedEventStatus,
  SeqRange,
} from '../../core/audit/audit-store.js';
import { canonicalJson } from '../../core/audit/canonical-json.js';
import {
  auditEventFromItem,
  auditIndexKeys,
  DynamoDbAuditSink,
  TENANT_REGISTRY_INDEX,
} from './dynamodb-audit-sink.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';
import { queryPages } from './dynamodb-pages.js';
import { IntegrityError } from '../../core/errors.js';

const WHAT = 'audit log';
const BATCH_GET_LIMIT = 100;
const PAGE = 500;

/** A stored chain entry or digest is not what it must be: an integrity failure, not an outage. */
export class AuditChainCorruptError extends IntegrityError {
  readonly subject = 'audit-chain';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditChainCorruptError';
  }
}

export function chainKey(tenant: string, seq: number): { pk: string; sk: string } {
  return { pk: `${tenant}#chain`, sk: formatSeq(seq) };
}

function stripKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

/** The head as the sequencer needs it; a head it cannot continue from stops the chain (fail closed). */
function headEntry(tenant: string, item: Record<string, unknown>): ChainEntry {
  const entry = expandChainEntry(stripKeys(item));
  const { seq, prevHash, hash, expiresAt, prevExpiresAt, event } = entry;
  if (
    typeof seq !== 'number' ||
    !isHash(prevHash) ||
    !isHash(hash) ||
    typeof expiresAt !== 'number' ||
    typeof prevExpiresAt !== 'number'
  ) {
    throw new AuditChainCorruptError(`The head of the audit chain of tenant ${tenant} is not a chain entry`);
  }
  try {
    return {
      seq,
      prevHash,
      hash,
      expiresAt,
      prevExpiresAt,
      event: auditEventFromItem(event as Record<string, unknown>),
    };
  } catch (error: unknown) {
    if (error instanceof AuditEventRejectedError) {
      throw new AuditChainCorruptError(
        `The head of the audit chain of tenant ${tenant} holds no valid event`,
      );
    }
    throw error;
  }
}

/** Whether a recorded event item holds exactly the chain's copy of the event, and its index keys. */
function recordedItemMatches(item: Record<string, unknown>, chained: unknown): boolean {
  try {
    const recorded = auditEventFromItem(item);
    const keys = auditIndexKeys(recorded);
    return (
      canonicalJson(recorded) === canonicalJson(chained) &&
      Object.entries(keys).every(([name, value]) => item[name] === value) &&
      (item.targetKey === undefined || keys.targetKey !== undefined)
    );
  } catch {
    // Not an event any more, or content canonical JSON cannot hold: changed.
    return false;
  }
}

export class DynamoDbAuditChainStore implements AuditChainStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async head(tenant: string): Promise<ChainEntry | undefined> {
    const { Items } = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `${tenant}#chain` },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    const [item] = Items ?? [];
    return item === undefined ? undefined : headEntry(tenant, item);
  }

  async append(entry: ChainEntry): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          // Format 2: the exact bytes that were hashed, so verification hashes them as stored.
          Item: { ...chainKey(entry.event.tenant, entry.seq), ...storedChainEntry(entry) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) return false;
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async markChained(tenant: string, eventSortKey: string, seq: number, expiresAt: number): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `${tenant}#chained`, sk: eventSortKey, seq, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error: unknown) {
      // Already marked (by us before a retry, or by another sequencer): the marker stands.
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async chainedSeqs(tenant: string, eventSortKeys: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const keys = [...new Set(eventSortKeys)].map((sk) => ({ pk: `${tenant}#chained`, sk }));
    const found = new Map<string, number>();
    for (const [sk, item] of await this.batchGet(keys, 'sk, seq')) {
      if (typeof item.seq === 'number') found.set(sk, item.seq);
    }
    return found;
  }

  /** Items by sort key, read consistently in batches of 100, unprocessed keys retried. */
  private async batchGet(
    allKeys: readonly { pk: string; sk: string }[],
    projection?: string,
  ): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    for (let start = 0; start < allKeys.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = allKeys.slice(start, start + BATCH_GET_LIMIT);
      for (let attempt = 0; keys.length > 0; attempt += 1) {
        if (attempt > 8) throw dynamoDbUnavailable('BatchGetItem', WHAT, new Error('UnprocessedKeys'));
        let answer;
        try {
          answer = await this.client.send(
            new BatchGetCommand({
              RequestItems: {
                [this.tableName]: {
                  Keys: keys,
                  ConsistentRead: true,
                  ...(projection === undefined ? {} : { ProjectionExpression: projection }),
                },
              },
            }),
          );
        } catch (error: unknown) {
          throw dynamoDbUnavailable('BatchGetItem', WHAT, error);
        }
        for (const item of answer.Responses?.[this.tableName] ?? []) {
          if (typeof item.sk === 'string') found.set(item.sk, item);
        }
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      }
    }
    return found;
  }

  async *entries(tenant: string, range: SeqRange = {}): AsyncIterable<Record<string, unknown>> {
    const from = formatSeq(range.fromSeq ?? 0);
    const to = formatSeq(Math.min(range.toSeq ?? 10 ** 12 - 1, 10 ** 12 - 1));
    for await (const item of this.pages({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': `${tenant}#chain`, ':from': from, ':to': to },
      ConsistentRead: true,
    })) {
      yield stripKeys(item);
    }
  }

  async recordedEventStatus(
    tenant: string,
    events: readonly unknown[],
  ): Promise<ReadonlyMap<string, RecordedEventStatus>> {
    const chained = new Map<string, unknown>();
    for (const event of events) {
      const { time, eventId } = (event ?? {}) as { time?: unknown; eventId?: unknown };
      if (typeof time === 'string' && typeof eventId === 'string') chained.set(`${time}#${eventId}`, event);
    }
    const items = await this.batchGet([...chained.keys()].map((sk) => ({ pk: `${tenant}#events`, sk })));
    const statuses = new Map<string, RecordedEventStatus>();
    for (const [sk, event] of chained) {
      const item = items.get(sk);
      statuses.set(sk, item === undefined ? 'absent' : recordedItemMatches(item, event) ? 'same' : 'differs');
    }
    return statuses;
  }

  async *chainedMarkersSince(tenant: string, fromSortKey: string): AsyncIterable<ChainedMarker> {
    for await (const item of this.pages({
      KeyConditionExpression: 'pk = :pk AND sk >= :from',
      ExpressionAttributeValues: { ':pk': `${tenant}#chained`, ':from': fromSortKey || '0' },
      ConsistentRead: true,
    })) {
      if (typeof item.sk === 'string' && typeof item.seq === 'number' && typeof item.expiresAt === 'number') {
        yield { eventSortKey: item.sk, seq: item.seq, expiresAt: item.expiresAt };
      }
    }
  }

  async entryAt(tenant: string, seq: number): Promise<Record<string, unknown> | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: chainKey(tenant, seq), ConsistentRead: true }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
    return item === undefined ? undefined : stripKeys(item);
  }

  async *recordedEvents(
    tenant: string,
    from: string,
    to: string,
  ): AsyncIterable<readonly RecordedAuditEvent[]> {
    const answers = queryPages(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        // `to` is exclusive: every sort key of an event at `to` starts with `to#`.
        ExpressionAttributeValues: { ':pk': `${tenant}#events`, ':from': from || '0', ':to': `${to}#` },
        ConsistentRead: true,
        Limit: PAGE,
      },
      WHAT,
    );
    for await (const answer of answers) {
      const page: RecordedAuditEvent[] = [];
      for (const item of answer.Items ?? []) {
        if (typeof item.sk !== 'string' || item.sk.startsWith(`${to}#`)) continue;
        try {
          page.push({ event: auditEventFromItem(item), expiresAt: Number(item.expiresAt) });
        } catch {
          // An event item that is no longer a valid event cannot be chained; the verifier of the
          // chain is not concerned with it, and the query API shows what is stored.
        }
      }
      if (page.length > 0) yield page;
    }
  }

  async *digests(tenant: string): AsyncIterable<Record<string, unknown>> {
    for await (const item of this.pages({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `${tenant}#digests` },
      ConsistentRead: true,
    })) {
      yield stripKeys(item);
    }
  }

  async latestDigest(tenant: string): Promise<AuditDigest | undefined> {
    const { Items } = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `${tenant}#digests` },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    const [item] = Items ?? [];
    if (item === undefined) return undefined;
    const digest = AuditDigestSchema.safeParse(stripKeys(item));
    if (!digest.success) {
      throw new AuditChainCorruptError(`The latest audit digest of tenant ${tenant} is not a valid digest`);
    }
    return digest.data;
  }

  async putDigest(digest: AuditDigest): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `${digest.tenant}#digests`, sk: formatSeq(digest.fromSeq), ...digest },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) return false;
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async *tenants(): AsyncIterable<string> {
    for await (const item of this.pages({
      IndexName: TENANT_REGISTRY_INDEX,
      KeyConditionExpression: '#registry = :registry',
      ExpressionAttributeNames: { '#registry': 'registry' },
      ExpressionAttributeValues: { ':registry': DynamoDbAuditSink.REGISTRY },
    })) {
      if (typeof item.tenant === 'string') yield item.tenant;
    }
  }

  private async query(input: Omit<QueryCommandInput, 'TableName'>) {
    try {
      return await this.client.send(new QueryCommand({ TableName: this.tableName, ...input }));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('Query', WHAT, error);
    }
  }

  /** The items of every page, one by one. */
  private async *pages(input: Omit<QueryCommandInput, 'TableName'>): AsyncIterable<Record<string, unknown>> {
    for await (const answer of queryPages(this.client, { TableName: this.tableName, ...input }, WHAT)) {
      yield* answer.Items ?? [];
    }
  }
}
