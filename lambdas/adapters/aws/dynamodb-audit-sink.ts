/**
 * The `AuditSink` on the audit table. Each event is its own item under a key no other event
 * shares (`pk = <tenant>#events`, `sk = <time>#<eventId>`), written with one conditional put: the
 * fail-closed write of a request never waits for another request of the same tenant, unlike an
 * append to the head of a hash chain (DESIGN.md, "Mind the hot spot"). The tamper-evident chain
 * is built from these items afterwards by one sequencer per chain (ADR 0004).
 *
 * Besides the event's own fields the item carries its expiry (`expiresAt`, from the tenant's
 * retention) and the partition keys of the query indexes (`actorKey`, `actionKey`, `targetKey`,
 * `outcomeKey`, each `<tenant>#<value>`), so `GET /audit` is served by queries, never a scan.
 * The first event of a tenant in a process also registers the tenant (`<tenant>#registry`) in the
 * sparse `auditTenants` index, through which the digest engine finds every tenant.
 */
import { isDeepStrictEqual } from 'node:util';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { eventSortKey, expiryOf } from '../../core/audit/audit-chain.js';
import {
  type AuditEvent,
  AuditEventRejectedError,
  type AuditTarget,
  parseAuditEvent,
} from '../../core/audit/audit-event.js';
import type { AuditSink } from '../../core/audit/audit-sink.js';
import type { AuditSettingsStore } from '../../core/audit/audit-store.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';

export interface DynamoDbAuditSinkOptions {
  /** Days an event is kept before DynamoDB TTL may remove it, for every tenant (tests). */
  readonly retentionDays?: number;
  /** Each tenant's own retention (its audit settings); takes precedence over `retentionDays`. */
  readonly settings?: Pick<AuditSettingsStore, 'get'>;
  /** Register tenants in the `auditTenants` index (default true). */
  readonly registerTenants?: boolean;
}

export const DEFAULT_AUDIT_RETENTION_DAYS = 365;
export const TENANT_REGISTRY_INDEX = 'auditTenants';
const WHAT = 'audit log';

/** Attributes of an event item that are not the event's own fields. */
const ITEM_ATTRIBUTES = ['pk', 'sk', 'expiresAt', 'actorKey', 'actionKey', 'targetKey', 'outcomeKey'];

export interface AuditEventKey {
  readonly pk: string;
  readonly sk: string;
}

/** The one value an event is found by in the target index: path, credential, policy or HMAC. */
export function auditTargetKey(target: AuditTarget): string | undefined {
  const hashed = Object.entries(target.hashed ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return target.path ?? target.credentialId ?? target.policy ?? hashed[0]?.[1];
}

export class DynamoDbAuditSink implements AuditSink {
  /** The partition value of the `auditTenants` index. */
  static readonly REGISTRY = 'audit-tenants';

  private readonly retentionDays: number;
  private readonly registered = new Set<string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoDbAuditSinkOptions = {},
  ) {
    const retentionDays = options.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
      throw new RangeError(`retentionDays must be a whole number of days, at least 1 (got ${retentionDays})`);
    }
    this.retentionDays = retentionDays;
  }

  /** The event's own key: tenant first, then time, so one Query reads a tenant's events in order. */
  static key(event: Pick<AuditEvent, 'tenant' | 'time' | 'eventId'>): AuditEventKey {
    return { pk: `${event.tenant}#events`, sk: eventSortKey(event) };
  }

  async record(event: AuditEvent): Promise<void> {
    await this.recordWithExpiry(event);
  }

  /** Records `event` and answers the expiry it was stored with (the in-process sequencer needs it). */
  async recordWithExpiry(event: AuditEvent): Promise<number> {
    const valid = parseAuditEvent(event);
    const retentionDays =
      this.options.settings === undefined
        ? this.retentionDays
        : (await this.options.settings.get(valid.tenant)).retentionDays;
    await this.register(valid.tenant);
    const item = auditEventItem(valid, retentionDays);
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
      return this.confirmStored(valid, error);
    }
    return item.expiresAt as number;
  }

  /** Puts the tenant's registry item once per process (a conditional put; an existing one stands). */
  private async register(tenant: string): Promise<void> {
    if (this.options.registerTenants === false || this.registered.has(tenant)) return;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: tenantRegistryItem(tenant),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    this.registered.add(tenant);
  }

  private async confirmStored(event: AuditEvent, conflict: unknown): Promise<number> {
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
    if (stored !== undefined && isDeepStrictEqual(auditEventFromItem(stored), event)) {
      return Number(stored.expiresAt);
    }
    throw new AuditEventRejectedError(`Audit event ${event.eventId} collides with a different stored event`, {
      cause: conflict,
    });
  }
}

/** The stored item: the event's fields at the top level, its key, expiry and index keys. */
export function auditEventItem(event: AuditEvent, retentionDays: number): Record<string, unknown> {
  // A JSON round trip drops keys explicitly set to `undefined`, which DynamoDB cannot store.
  const fields = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
  return {
    ...DynamoDbAuditSink.key(event),
    ...fields,
    expiresAt: expiryOf(event.time, retentionDays),
    ...auditIndexKeys(event),
  };
}

/** The partition keys of the query indexes an event item carries, each `<tenant>#<value>`. */
export function auditIndexKeys(event: AuditEvent): Record<string, string> {
  const targetKey = auditTargetKey(event.target);
  return {
    actorKey: `${event.tenant}#${event.actor.id}`,
    actionKey: `${event.tenant}#${event.action}`,
    outcomeKey: `${event.tenant}#${event.outcome}`,
    ...(targetKey === undefined ? {} : { targetKey: `${event.tenant}#${targetKey}` }),
  };
}

/** The item that puts a tenant in the `auditTenants` index. */
export function tenantRegistryItem(tenant: string): Record<string, string> {
  return { pk: `${tenant}#registry`, sk: 'tenant', registry: DynamoDbAuditSink.REGISTRY, tenant };
}

/** The event an audit item holds; throws `AuditEventRejectedError` if the item is not a valid event. */
export function auditEventFromItem(item: Record<string, unknown>): AuditEvent {
  const event = Object.fromEntries(Object.entries(item).filter(([name]) => !ITEM_ATTRIBUTES.includes(name)));
  return parseAuditEvent(event);
}
