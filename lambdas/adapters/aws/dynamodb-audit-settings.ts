/**
 * A tenant's audit settings and its wrapped HMAC key, in the settings table:
 * - `pk = <tenant>`, `sk = audit#settings`: `retentionDays` (absent: the deployment default);
 * - `pk = <tenant>`, `sk = audit#hmac-key`: the per-tenant HMAC key, wrapped by the keyring.
 * Settings are read on every recorded event, so they are cached for a minute per process; a
 * change therefore reaches every function within a minute (and applies to events recorded after).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditSettings, AuditSettingsStore } from '../../core/audit/audit-store.js';
import type { TenantKeyStore, WrappedTenantKey } from '../../core/audit/identifier-hasher.js';
import { type Clock, systemClock } from '../../core/ports.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';

const WHAT = 'settings store';
const SETTINGS_SK = 'audit#settings';
const HMAC_KEY_SK = 'audit#hmac-key';

export interface DynamoDbAuditSettingsOptions {
  readonly defaultRetentionDays: number;
  readonly cacheMs?: number;
  readonly clock?: Clock;
}

export class DynamoDbAuditSettings implements AuditSettingsStore, TenantKeyStore {
  private readonly cache = new Map<string, { readonly settings: AuditSettings; readonly until: number }>();
  private readonly cacheMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoDbAuditSettingsOptions,
  ) {
    this.cacheMs = options.cacheMs ?? 60_000;
    this.clock = options.clock ?? systemClock;
  }

  async get(tenant: string): Promise<AuditSettings> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(tenant);
    if (cached !== undefined && cached.until > now) return cached.settings;
    const item = await this.getItem(tenant, SETTINGS_SK);
    const retentionDays =
      typeof item?.retentionDays === 'number' &&
      Number.isInteger(item.retentionDays) &&
      item.retentionDays >= 1
        ? item.retentionDays
        : this.options.defaultRetentionDays;
    const settings = { retentionDays };
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(tenant, { settings, until: now + this.cacheMs });
    return settings;
  }

  async put(tenant: string, settings: AuditSettings): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: tenant,
            sk: SETTINGS_SK,
            retentionDays: settings.retentionDays,
            updatedAt: this.clock.now().toISOString(),
          },
        }),
      );
    } catch (error: unknown) {
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    this.cache.delete(tenant);
  }

  async getKey(tenant: string): Promise<WrappedTenantKey | undefined> {
    const item = await this.getItem(tenant, HMAC_KEY_SK);
    if (item === undefined) return undefined;
    if (typeof item.wrapped !== 'string' || typeof item.keyId !== 'string') {
      throw new Error(`The stored HMAC key of tenant ${tenant} is malformed`);
    }
    return { wrapped: Buffer.from(item.wrapped, 'base64'), keyId: item.keyId };
  }

  async putKeyIfAbsent(tenant: string, key: WrappedTenantKey): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: tenant,
            sk: HMAC_KEY_SK,
            wrapped: key.wrapped.toString('base64'),
            keyId: key.keyId,
            createdAt: this.clock.now().toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) return false;
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  private async getItem(tenant: string, sk: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: tenant, sk }, ConsistentRead: true }),
      );
      return Item;
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
  }
}
