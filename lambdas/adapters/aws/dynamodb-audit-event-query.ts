/**
 * `GET /audit` on the audit table: a tenant's recorded events, newest first, by Query only. The
 * most selective filter picks the index (target, then actor, action, outcome; none: the tenant's
 * own event partition); the time range is a condition on the sort key (`<time>#<eventId>`, the
 * sort key of every index too) and the other filters are filter expressions.
 *
 * The cursor is the sort key where the previous page stopped, base64url-encoded. It is opaque to
 * callers, and safe to take back from them: the partition keys of the next page are rebuilt from
 * the caller's own tenant and filters, never read from the cursor, so a forged cursor can only
 * move within the caller's own events.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEvent, AuditEventRejectedError } from '../../core/audit/audit-event.js';
import type {
  AuditEventQuery,
  AuditQueryFilter,
  AuditQueryPage,
  AuditQueryResult,
} from '../../core/audit/audit-store.js';
import { ValidationError } from '../../core/errors.js';
import { auditEventFromItem } from './dynamodb-audit-sink.js';
import { dynamoDbUnavailable } from './dynamodb-errors.js';

const EVENT_SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f-]{36}$/;
/** Items read per page before answering with fewer than `limit` (filters may discard many). */
const MAX_READS_PER_PAGE = 5_000;

interface IndexChoice {
  readonly indexName: string | undefined;
  readonly keyName: string;
  readonly keyValue: string;
}

export function encodeCursor(sortKey: string): string {
  return Buffer.from(sortKey, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!EVENT_SORT_KEY.test(sortKey) || encodeCursor(sortKey) !== cursor) {
    throw new ValidationError('Invalid cursor: pass back the nextCursor of the previous page');
  }
  return sortKey;
}

function chooseIndex(tenant: string, filter: AuditQueryFilter): IndexChoice {
  if (filter.target !== undefined) {
    return { indexName: 'byTarget', keyName: 'targetKey', keyValue: `${tenant}#${filter.target}` };
  }
  if (filter.actor !== undefined) {
    return { indexName: 'byActor', keyName: 'actorKey', keyValue: `${tenant}#${filter.actor}` };
  }
  if (filter.action !== undefined) {
    return { indexName: 'byAction', keyName: 'actionKey', keyValue: `${tenant}#${filter.action}` };
  }
  if (filter.outcome !== undefined) {
    return { indexName: 'byOutcome', keyName: 'outcomeKey', keyValue: `${tenant}#${filter.outcome}` };
  }
  return { indexName: undefined, keyName: 'pk', keyValue: `${tenant}#events` };
}

export class DynamoDbAuditEventQuery implements AuditEventQuery {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async query(tenant: string, filter: AuditQueryFilter, page: AuditQueryPage): Promise<AuditQueryResult> {
    const index = chooseIndex(tenant, filter);
    const names: Record<string, string> = { '#key': index.keyName };
    const values: Record<string, unknown> = { ':key': index.keyValue };
    // Sort keys are `<time>#<eventId>`: from `from` on, up to every key that starts with `to`.
    const bounds: string[] = [];
    if (filter.from !== undefined) {
      values[':from'] = filter.from;
      bounds.push('from');
    }
    if (filter.to !== undefined) {
      values[':to'] = `${filter.to}#~`;
      bounds.push('to');
    }
    const range = {
      both: ' AND #sk BETWEEN :from AND :to',
      from: ' AND #sk >= :from',
      to: ' AND #sk <= :to',
      none: '',
    }[bounds.length === 2 ? 'both' : ((bounds[0] as 'from' | 'to' | undefined) ?? 'none')];
    if (range !== '') names['#sk'] = 'sk';

    const conditions: string[] = [];
    // The filters the index does not already apply; each index key is `<tenant>#<value>`.
    const add = (name: string, value: string | undefined): void => {
      if (value === undefined || index.keyName === `${name}Key`) return;
      names[`#${name}`] = `${name}Key`;
      values[`:${name}`] = `${tenant}#${value}`;
      conditions.push(`#${name} = :${name}`);
    };
    add('target', filter.target);
    add('actor', filter.actor);
    add('action', filter.action);
    add('outcome', filter.outcome);

    let startKey: Record<string, unknown> | undefined;
    if (page.cursor !== undefined) {
      const sk = decodeCursor(page.cursor);
      startKey = {
        pk: `${tenant}#events`,
        sk,
        ...(index.indexName === undefined ? {} : { [index.keyName]: index.keyValue }),
      };
    }

    const events: AuditEvent[] = [];
    let lastSortKey: string | undefined;
    let reads = 0;
    let more = true;
    while (events.length < page.limit && more && reads < MAX_READS_PER_PAGE) {
      let answer;
      try {
        answer = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ...(index.indexName === undefined ? { ConsistentRead: true } : { IndexName: index.indexName }),
            KeyConditionExpression: `#key = :key${range}`,
            ...(conditions.length === 0 ? {} : { FilterExpression: conditions.join(' AND ') }),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ScanIndexForward: false,
            Limit: page.limit - events.length,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error: unknown) {
        throw dynamoDbUnavailable('Query', 'audit log', error);
      }
      reads += answer.ScannedCount ?? 0;
      for (const item of answer.Items ?? []) {
        lastSortKey = String(item.sk);
        try {
          events.push(auditEventFromItem(item));
        } catch (error: unknown) {
          // An item that no longer parses is tampered with; the chain verifier reports it.
          if (!(error instanceof AuditEventRejectedError)) throw error;
        }
      }
      startKey = answer.LastEvaluatedKey;
      if (startKey !== undefined && typeof startKey.sk === 'string') lastSortKey = startKey.sk;
      more = startKey !== undefined;
    }
    return { events, cursor: more && lastSortKey !== undefined ? encodeCursor(lastSortKey) : undefined };
  }
}
