/**
 * The `AuditSink` on the audit table. Each event is its own item under a key no other event
 * shares (`pk = <tenant>#events`, `sk = <time>#<eventId>`), written with one conditional put: the
 * fail-closed write of a request never waits for another request of the same tenant, unlike an
 * append to the head of a hash chain (DESIGN.md, "Mind the hot spot"). The tamper-evident chain
 * is built from these items afterwards by one sequencer per chain.
 */
import { isDeepStrictEqual } from 'node:util';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEvent, AuditEventRejectedError, parseAuditEvent } from '../../core/audit/audit-event.js';
import type { AuditSink } from '../../core/audit/audit-sink.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';

export interface DynamoDbAuditSinkOptions {
  /** Days an event is kept before DynamoDB TTL may remove it (counted from the event's time). */
  readonly retentionDays?: number;
}

export const DEFAULT_AUDIT_RETENTION_DAYS = 365;
const SECONDS_PER_DAY = 86_400;
const WHAT = 'audit log';

export interface AuditEventKey {
  readonly pk: string;
  readonly sk: string;
}

export class DynamoDbAuditSink implements AuditSink {
  private readonly retentionDays: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbAuditSinkOptions = {},
  ) {
    const retentionDays = options.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
      throw new RangeError(`retentionDays must be a whole number of days, at least 1 (got ${retentionDays})`);
    }
    this.retentionDays = retentionDays;
  }

  /** The event's own key: tenant first, then time, so one Query reads a tenant's events in order. */
  static key(event: Pick<AuditEvent, 'tenant' | 'time' | 'eventId'>): AuditEventKey {
    return { pk: `${event.tenant}#events`, sk: `${event.time}#${event.eventId}` };
  }

  async record(event: AuditEvent): Promise<void> {
    const valid = parseAuditEvent(event);
    const item = auditEventItem(valid, this.retentionDays);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
      // The key is taken. The SDK retries a put whose answer was lost, so this is usually our own
      // event, already stored; anything else is a duplicate event id, which must not pass.
      await this.confirmStored(valid, error);
    }
  }

  private async confirmStored(event: AuditEvent, conflict: unknown): Promise<void> {
    let stored: Record<string, unknown> | undefined;
    try {
      ({ Item: stored } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: DynamoDbAuditSink.key(event),
          ConsistentRead: true,
        }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
    if (stored !== undefined && isDeepStrictEqual(auditEventFromItem(stored), event)) return;
    throw new AuditEventRejectedError(`Audit event ${event.eventId} collides with a different stored event`, {
      cause: conflict,
    });
  }
}

/** The stored item: the event's fields at the top level (so later indexes can use them), key and expiry. */
export function auditEventItem(event: AuditEvent, retentionDays: number): Record<string, unknown> {
  const expiresAt = Math.floor(Date.parse(event.time) / 1000) + retentionDays * SECONDS_PER_DAY;
  // A JSON round trip drops keys explicitly set to `undefined`, which DynamoDB cannot store.
  const fields = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
  return { ...DynamoDbAuditSink.key(event), ...fields, expiresAt };
}

/** The event an audit item holds; throws `AuditEventRejectedError` if the item is not a valid event. */
export function auditEventFromItem(item: Record<string, unknown>): AuditEvent {
  const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...event } = item;
  return parseAuditEvent(event);
}
