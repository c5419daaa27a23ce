/**
 * The scheduler's view of the inventory: the sparse `dueForRotation` index of the credentials
 * table (only credentials with a due time carry `dueShard`/`dueAt`), queried partition by
 * partition for `dueAt <= now`. Never a scan: the read is proportional to what is due.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DueCredential, DueCredentials } from '../../core/rotation/scheduler.js';
import { DUE_INDEX, DUE_SHARDS } from './dynamodb-credential-store.js';
import { dynamoDbUnavailable } from './dynamodb-errors.js';

export class DynamoDbDueCredentials implements DueCredentials {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async *dueBefore(now: string, pageSize: number): AsyncIterable<readonly DueCredential[]> {
    for (let shard = 0; shard < DUE_SHARDS; shard += 1) {
      let start: Record<string, unknown> | undefined;
      do {
        let page;
        try {
          page = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: DUE_INDEX,
              KeyConditionExpression: 'dueShard = :shard AND dueAt <= :now',
              ExpressionAttributeValues: { ':shard': `due#${shard}`, ':now': now },
              ProjectionExpression: 'pk, id, dueAt',
              Limit: pageSize,
              ExclusiveStartKey: start,
            }),
          );
        } catch (error: unknown) {
          throw dynamoDbUnavailable('Query', 'rotation due index', error);
        }
        const items = (page.Items ?? []).flatMap((item) =>
          typeof item.pk === 'string' && typeof item.id === 'string' && typeof item.dueAt === 'string'
            ? [{ tenant: item.pk, credentialId: item.id, dueAt: item.dueAt }]
            : [],
        );
        if (items.length > 0) yield items;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }
  }
}
