/**
 * The scheduler's view of the inventory: the sparse `dueForRotation` index of the credentials
 * table (only credentials with a due time carry `dueShard`/`dueAt`), read with the shared pager
 * for `dueAt <= now`. Never a scan: the read is proportional to what is due.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DueCredential, DueCredentials } from '../../core/rotation/scheduler.js';
import { DUE_INDEX, DUE_SHARDS } from './dynamodb-credential-store.js';
import { queryDueBefore, type ShardedIndex } from './dynamodb-sharded-index.js';

const DUE_FOR_ROTATION: ShardedIndex = {
  indexName: DUE_INDEX,
  shardAttribute: 'dueShard',
  shardPrefix: 'due',
  shards: DUE_SHARDS,
  dateAttribute: 'dueAt',
  what: 'rotation due index',
};

export class DynamoDbDueCredentials implements DueCredentials {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async *dueBefore(now: string, pageSize: number): AsyncIterable<readonly DueCredential[]> {
    const pages = queryDueBefore(this.client, this.tableName, DUE_FOR_ROTATION, {
      before: now,
      pageSize,
      projection: ['pk', 'id', 'dueAt'],
    });
    for await (const page of pages) {
      const items = page.flatMap((item) =>
        typeof item.pk === 'string' && typeof item.id === 'string' && typeof item.dueAt === 'string'
          ? [{ tenant: item.pk, credentialId: item.id, dueAt: item.dueAt }]
          : [],
      );
      if (items.length > 0) yield items;
    }
  }
}
