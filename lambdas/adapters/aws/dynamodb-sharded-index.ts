/**
 * The one pager of VaultPilot's sparse, sharded "due" indexes (`dueForRotation`, `expiryWatch`):
 * an item carries a shard attribute (`<prefix>#<n>`, n from a hash of tenant and id, so writes
 * spread evenly) and a date sort key only while it has a date to watch. One Query per shard for
 * `date <= before`, page by page: never a scan, and the read is proportional to what is due.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryPages } from './dynamodb-pages.js';

export interface ShardedIndex {
  readonly indexName: string;
  /** Partition key attribute and the prefix of its values (`dueShard`, `due`: `due#0` … `due#7`). */
  readonly shardAttribute: string;
  readonly shardPrefix: string;
  readonly shards: number;
  /** Sort key attribute: an ISO-8601 date. */
  readonly dateAttribute: string;
  /** What the index is, for the error that says it is unavailable. */
  readonly what: string;
}

export type IndexItem = Record<string, unknown>;

export async function* queryDueBefore(
  client: DynamoDBDocumentClient,
  tableName: string,
  index: ShardedIndex,
  query: { readonly before: string; readonly pageSize: number; readonly projection?: readonly string[] },
): AsyncIterable<readonly IndexItem[]> {
  for (let shard = 0; shard < index.shards; shard += 1) {
    const pages = queryPages(
      client,
      {
        TableName: tableName,
        IndexName: index.indexName,
        KeyConditionExpression: '#shard = :shard AND #date <= :before',
        ExpressionAttributeNames: { '#shard': index.shardAttribute, '#date': index.dateAttribute },
        ExpressionAttributeValues: { ':shard': `${index.shardPrefix}#${shard}`, ':before': query.before },
        ...(query.projection === undefined ? {} : { ProjectionExpression: query.projection.join(', ') }),
        Limit: query.pageSize,
      },
      index.what,
    );
    for await (const page of pages) {
      const items = page.Items ?? [];
      if (items.length > 0) yield items;
    }
  }
}
