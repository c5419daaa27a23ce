/**
 * The notifier's stores on the `settings` table (every key starts with the tenant; single-item
 * conditional writes only, as dynalite has no transactions):
 * - channels `pk=<tenant>`, `sk=channel#<id>`; routes `sk=route#<id>`; holds `sk=hold#<credential id>`;
 * - conditions `pk=<tenant>#conditions`, `sk=<condition key>` (de-duplication);
 * - delivery log `pk=<tenant>#deliveries`, `sk=<event time>#<event id>#<channel id>`: the key is
 *   deterministic for a redelivered event (idempotency) and sorts newest first without an index.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { CHANNEL_STATES, type Channel } from '../../core/notify/channel.js';
import {
  DELIVERY_STATUSES,
  type DeliveryEntry,
  type DeliveryKey,
  type DeliveryLogFilter,
  type DeliveryLogPage,
  type DeliveryLogPager,
  type DeliveryLogQuery,
  type DeliveryLogStore,
} from '../../core/notify/delivery-log.js';
import type {
  ConditionStore,
  ManagedAlertHoldStore,
  ManagedChannelStore,
  ManagedRouteStore,
  RouteSet,
} from '../../core/notify/ports.js';
import { parseRouteInput, type Route } from '../../core/notify/routing.js';
import type { AlertHold, ConditionRecord } from '../../core/notify/suppression.js';
import { ConflictError } from '../../core/errors.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';
import { queryPages } from './dynamodb-pages.js';

type Item = Record<string, unknown>;

export class CorruptNotifyItemError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptNotifyItemError';
  }
}

/** Drops undefined fields (DynamoDB has none) through a JSON copy. */
function plain<T>(value: T): Item {
  return JSON.parse(JSON.stringify(value)) as Item;
}

function parse<T>(schema: z.ZodType<T>, item: Item, what: string): T {
  const result = schema.safeParse(item);
  if (!result.success)
    throw new CorruptNotifyItemError(`${what} item ${String(item.sk)} is not valid`, { cause: result.error });
  return result.data;
}

const DeliverySchema = z.object({
  tenant: z.string(),
  eventId: z.string(),
  eventTime: z.string(),
  channelId: z.string(),
  eventType: z.string(),
  channelKind: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int().min(0),
  reason: z.string().optional(),
  credentialId: z.string().optional(),
  updatedAt: z.string(),
  leaseUntil: z.string().optional(),
  revision: z.number().int().positive(),
});

const ChannelSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  name: z.string(),
  settings: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('email'), recipients: z.array(z.string()) }),
    z.object({
      kind: z.literal('slack'),
      mode: z.enum(['webhook', 'bot']),
      channelId: z.string().optional(),
      apiUrl: z.string().optional(),
    }),
    z.object({ kind: z.literal('sns'), topicArn: z.string() }),
    z.object({ kind: z.literal('webhook') }),
  ]),
  secretHint: z.string().optional(),
  hasSecret: z.boolean(),
  digest: z.boolean(),
  state: z.enum(CHANNEL_STATES),
  failure: z.object({ reason: z.string(), since: z.string() }).optional(),
  revision: z.number().int().positive(),
});

const ConditionSchema = z.object({
  key: z.string(),
  state: z.string(),
  eventId: z.string(),
  sentAt: z.string(),
});

const RouteSetSchema = z.object({
  routes: z.array(z.looseObject({ id: z.string() })),
  revision: z.number().int().positive(),
});

const HoldSchema = z.object({
  credentialId: z.string(),
  kind: z.enum(['acknowledged', 'snoozed']),
  until: z.string().optional(),
  conditions: z.record(z.string(), z.string()),
  by: z.string(),
  at: z.string(),
  note: z.string().optional(),
});

abstract class SettingsTableStore {
  constructor(
    protected readonly client: DynamoDBDocumentClient,
    protected readonly tableName: string,
    protected readonly what: string,
  ) {}

  protected async getItem(pk: string, sk: string): Promise<Item | undefined> {
    try {
      const { Item: item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }),
      );
      return item;
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', this.what, error);
    }
  }

  /** A conditional put; false when the condition failed. */
  protected async putItem(item: Item, condition?: { expression: string; values?: Item }): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(condition === undefined
            ? {}
            : {
                ConditionExpression: condition.expression,
                ...(condition.values === undefined ? {} : { ExpressionAttributeValues: condition.values }),
              }),
        }),
      );
      return true;
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) return false;
      throw dynamoDbUnavailable('PutItem', this.what, error);
    }
  }

  /** Deletes an item; false when there was none. */
  protected async deleteItem(pk: string, sk: string): Promise<boolean> {
    try {
      const { Attributes: old } = await this.client.send(
        new DeleteCommand({ TableName: this.tableName, Key: { pk, sk }, ReturnValues: 'ALL_OLD' }),
      );
      return old !== undefined;
    } catch (error: unknown) {
      throw dynamoDbUnavailable('DeleteItem', this.what, error);
    }
  }

  protected async queryPrefix(
    pk: string,
    prefix: string,
    options: { newestFirst?: boolean } = {},
  ): Promise<Item[]> {
    const items: Item[] = [];
    const pages = queryPages(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        ScanIndexForward: options.newestFirst !== true,
        ConsistentRead: true,
      },
      this.what,
    );
    for await (const page of pages) items.push(...((page.Items ?? []) as Item[]));
    return items;
  }
}

function deliverySk(key: DeliveryKey): string {
  return `${key.eventTime}#${key.eventId}#${key.channelId}`;
}

/** The highest sort key of an event time: every `<time>#…` key of that time sorts below it. */
const AFTER_ALL = '#\uffff';

export class DynamoDbDeliveryLog extends SettingsTableStore implements DeliveryLogStore, DeliveryLogPager {
  constructor(client: DynamoDBDocumentClient, tableName: string) {
    super(client, tableName, 'notification delivery log');
  }

  async get(key: DeliveryKey): Promise<DeliveryEntry | undefined> {
    const item = await this.getItem(`${key.tenant}#deliveries`, deliverySk(key));
    return item === undefined ? undefined : (parse(DeliverySchema, item, 'Delivery') as DeliveryEntry);
  }

  create(entry: DeliveryEntry): Promise<boolean> {
    return this.putItem(
      { ...plain(entry), pk: `${entry.tenant}#deliveries`, sk: deliverySk(entry) },
      { expression: 'attribute_not_exists(pk)' },
    );
  }

  replace(entry: DeliveryEntry, expectedRevision: number): Promise<boolean> {
    return this.putItem(
      { ...plain(entry), pk: `${entry.tenant}#deliveries`, sk: deliverySk(entry) },
      { expression: 'revision = :expected', values: { ':expected': expectedRevision } },
    );
  }

  async list(tenant: string, filter: DeliveryLogFilter): Promise<DeliveryEntry[]> {
    const matches = (entry: DeliveryEntry): boolean =>
      (filter.status === undefined || entry.status === filter.status) &&
      (filter.channelId === undefined || entry.channelId === filter.channelId) &&
      (filter.eventType === undefined || entry.eventType === filter.eventType) &&
      (filter.credentialId === undefined || entry.credentialId === filter.credentialId);
    const items = await this.queryPrefix(`${tenant}#deliveries`, '', { newestFirst: true });
    return items
      .map((item) => parse(DeliverySchema, item, 'Delivery') as DeliveryEntry)
      .filter(matches)
      .slice(0, filter.limit);
  }

  /**
   * A page, newest event first: the time window is a key condition (the sort key starts with the
   * event time), the other filters a filter expression; pages are read until `limit` entries
   * match or the partition ends. `after` is the sort key of the last entry of the previous page.
   */
  async page(tenant: string, query: DeliveryLogQuery): Promise<DeliveryLogPage> {
    const pk = `${tenant}#deliveries`;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':pk': pk };
    let keyCondition = 'pk = :pk';
    if (query.from !== undefined || query.to !== undefined) {
      values[':from'] = query.from ?? '';
      values[':to'] = `${query.to ?? '9999'}${AFTER_ALL}`;
      keyCondition += ' AND sk BETWEEN :from AND :to';
    }
    const filters: string[] = [];
    const equal = (attribute: string, value: string | undefined): void => {
      if (value === undefined) return;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      filters.push(`#${attribute} = :${attribute}`);
    };
    equal('status', query.status);
    equal('channelId', query.channelId);
    equal('eventType', query.eventType);
    equal('credentialId', query.credentialId);

    const entries: DeliveryEntry[] = [];
    const pages = queryPages(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: keyCondition,
        ...(filters.length === 0
          ? {}
          : { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names }),
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        ConsistentRead: true,
        // Filtered reads may skip many items; read a few pages' worth at once.
        Limit: Math.max(query.limit + 1, filters.length === 0 ? 0 : 100),
        ...(query.after === undefined ? {} : { ExclusiveStartKey: { pk, sk: query.after } }),
      },
      this.what,
    );
    for await (const page of pages) {
      for (const item of (page.Items ?? []) as Item[]) {
        if (entries.length === query.limit) {
          // More matched than the page holds: continue after the last one returned.
          const last = entries[entries.length - 1];
          return { entries, next: last === undefined ? undefined : deliverySk(last) };
        }
        entries.push(parse(DeliverySchema, item, 'Delivery') as DeliveryEntry);
      }
    }
    return { entries, next: undefined };
  }
}

export class DynamoDbConditionStore extends SettingsTableStore implements ConditionStore {
  constructor(client: DynamoDBDocumentClient, tableName: string) {
    super(client, tableName, 'notification condition store');
  }

  async get(tenant: string, key: string): Promise<ConditionRecord | undefined> {
    const item = await this.getItem(`${tenant}#conditions`, key);
    return item === undefined ? undefined : parse(ConditionSchema, item, 'Condition');
  }

  record(tenant: string, record: ConditionRecord, expectedEventId: string | undefined): Promise<boolean> {
    return this.putItem(
      { ...plain(record), pk: `${tenant}#conditions`, sk: record.key },
      expectedEventId === undefined
        ? { expression: 'attribute_not_exists(pk)' }
        : { expression: 'eventId = :expected', values: { ':expected': expectedEventId } },
    );
  }
}

export class DynamoDbChannelStore extends SettingsTableStore implements ManagedChannelStore {
  constructor(client: DynamoDBDocumentClient, tableName: string) {
    super(client, tableName, 'notification channel store');
  }

  async list(tenant: string): Promise<Channel[]> {
    const items = await this.queryPrefix(tenant, 'channel#');
    return items.map((item) => parse(ChannelSchema, item, 'Channel') as Channel);
  }

  async get(tenant: string, id: string): Promise<Channel | undefined> {
    const item = await this.getItem(tenant, `channel#${id}`);
    return item === undefined ? undefined : (parse(ChannelSchema, item, 'Channel') as Channel);
  }

  async put(channel: Channel, expectedRevision: number | undefined): Promise<void> {
    const ok = await this.putItem(
      { ...plain(channel), pk: channel.tenant, sk: `channel#${channel.id}` },
      expectedRevision === undefined
        ? { expression: 'attribute_not_exists(pk)' }
        : { expression: 'revision = :expected', values: { ':expected': expectedRevision } },
    );
    if (!ok) throw new ConflictError(`Channel ${channel.id} changed meanwhile`);
  }

  async restore(channel: Channel, ifRevision: number | undefined): Promise<void> {
    await this.putItem(
      { ...plain(channel), pk: channel.tenant, sk: `channel#${channel.id}` },
      ifRevision === undefined
        ? { expression: 'attribute_not_exists(pk)' }
        : { expression: 'revision = :expected', values: { ':expected': ifRevision } },
    );
  }

  async delete(tenant: string, id: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({ TableName: this.tableName, Key: { pk: tenant, sk: `channel#${id}` } }),
      );
    } catch (error: unknown) {
      throw dynamoDbUnavailable('DeleteItem', 'notification channel store', error);
    }
  }

  async markFailing(tenant: string, id: string, reason: string, since: string): Promise<boolean> {
    const current = await this.get(tenant, id);
    if (current === undefined || current.state === 'failing') return false;
    const next: Channel = {
      ...current,
      state: 'failing',
      failure: { reason, since },
      revision: current.revision + 1,
    };
    return this.putItem(
      { ...plain(next), pk: tenant, sk: `channel#${id}` },
      { expression: 'revision = :expected', values: { ':expected': current.revision } },
    );
  }
}

/**
 * A tenant's routes, as one item (`sk=routes`): a change (the day-one defaults stored along with
 * the first route of the tenant's own, for one) is a single conditional write of the whole set.
 */
export class DynamoDbRouteStore extends SettingsTableStore implements ManagedRouteStore {
  constructor(client: DynamoDBDocumentClient, tableName: string) {
    super(client, tableName, 'notification route store');
  }

  async list(tenant: string): Promise<Route[]> {
    return (await this.load(tenant)).routes;
  }

  async load(tenant: string): Promise<RouteSet> {
    const item = await this.getItem(tenant, 'routes');
    if (item === undefined) return { routes: [], revision: 0 };
    const stored = parse(RouteSetSchema, item, 'Routes');
    // Routes are validated as they are written; reading them back checks the same rules.
    return {
      routes: stored.routes.map(({ id, ...route }) => ({ id, ...parseRouteInput(route) })),
      revision: stored.revision,
    };
  }

  save(tenant: string, routes: readonly Route[], expectedRevision: number): Promise<boolean> {
    return this.putItem(
      { pk: tenant, sk: 'routes', routes: plain(routes), revision: expectedRevision + 1 },
      expectedRevision === 0
        ? { expression: 'attribute_not_exists(pk)' }
        : { expression: 'revision = :expected', values: { ':expected': expectedRevision } },
    );
  }
}

export class DynamoDbAlertHoldStore extends SettingsTableStore implements ManagedAlertHoldStore {
  constructor(client: DynamoDBDocumentClient, tableName: string) {
    super(client, tableName, 'alert hold store');
  }

  async get(tenant: string, credentialId: string): Promise<AlertHold | undefined> {
    const item = await this.getItem(tenant, `hold#${credentialId}`);
    if (item === undefined) return undefined;
    const hold = parse(HoldSchema, item, 'Hold');
    return { ...hold, until: hold.until, note: hold.note };
  }

  async put(tenant: string, hold: AlertHold): Promise<void> {
    await this.putItem({ ...plain(hold), pk: tenant, sk: `hold#${hold.credentialId}` });
  }

  async list(tenant: string): Promise<AlertHold[]> {
    const items = await this.queryPrefix(tenant, 'hold#');
    return items.map((item) => {
      const hold = parse(HoldSchema, item, 'Hold');
      return { ...hold, until: hold.until, note: hold.note };
    });
  }

  delete(tenant: string, credentialId: string): Promise<boolean> {
    return this.deleteItem(tenant, `hold#${credentialId}`);
  }
}
