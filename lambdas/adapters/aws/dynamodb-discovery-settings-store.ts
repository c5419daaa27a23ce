/**
 * The `DiscoverySettingsStore` on the settings table: `pk = <tenant>`, `sk = discovery`, with a
 * revision for check-and-set. Stored settings are checked again on read; an item this store did
 * not write is refused rather than half-trusted (a wrong role ARN must not be assumed).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  DEFAULT_DISCOVERY_SETTINGS,
  type DiscoverySettings,
  DiscoverySettingsSchema,
  type DiscoverySettingsStore,
  type StoredDiscoverySettings,
} from '../../core/discovery/settings.js';
import { ConflictError } from '../../core/errors.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';

const WHAT = 'settings store';
const SORT_KEY = 'discovery';

export class DynamoDbDiscoverySettingsStore implements DiscoverySettingsStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(tenant: string): Promise<StoredDiscoverySettings> {
    let item: Record<string, unknown> | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: tenant, sk: SORT_KEY },
          ConsistentRead: true,
        }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
    if (item === undefined) return DEFAULT_DISCOVERY_SETTINGS;
    const { pk: _pk, sk: _sk, revision, updatedAt, ...settings } = item;
    const parsed = DiscoverySettingsSchema.safeParse(settings);
    if (!parsed.success || typeof revision !== 'number' || typeof updatedAt !== 'string') {
      throw new Error(`The discovery settings item of tenant ${tenant} is not valid`, {
        cause: parsed.success ? undefined : parsed.error,
      });
    }
    return { ...parsed.data, revision, updatedAt };
  }

  async put(
    tenant: string,
    settings: DiscoverySettings,
    options: { readonly expectedRevision?: number | undefined; readonly now: string },
  ): Promise<StoredDiscoverySettings> {
    const current = options.expectedRevision ?? (await this.get(tenant)).revision;
    const stored: StoredDiscoverySettings = { ...settings, revision: current + 1, updatedAt: options.now };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: tenant,
            sk: SORT_KEY,
            ...(JSON.parse(JSON.stringify(stored)) as Record<string, unknown>),
          },
          ...(current === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'revision = :expected',
                ExpressionAttributeValues: { ':expected': current },
              }),
        }),
      );
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError('The discovery settings changed meanwhile; read them again', {
          cause: error,
        });
      }
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    return stored;
  }
}
