/**
 * The expiry engine's view of the inventory: the sparse `expiryWatch` index of the credentials
 * table. A credential carries `expiryShard`/`expiryAt` only when it has a date to watch: its
 * expiry, its rotation due time, or a Secrets Manager secret's next rotation date (which the
 * expiry engine treats as its expiry). `expiryAt` is the earliest of them, so one Query per
 * shard for `expiryAt <= horizon` finds every credential near or past a date, never a scan.
 */
import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Credential } from '../../core/credentials/credential.js';
import type { ExpiryCandidate, ExpiryIndex } from '../../core/notify/expiry.js';
import { dynamoDbUnavailable } from './dynamodb-errors.js';

export const EXPIRY_INDEX = 'expiryWatch';
export const EXPIRY_SHARDS = 8;

/** The date a discovered Secrets Manager secret must be rotated by. */
function nextRotationOf(credential: Credential): string | undefined {
  const fact = credential.facts.nextRotationAt;
  return credential.type === 'secretsmanager-secret' && typeof fact === 'string' ? fact : undefined;
}

function watchedExpiry(credential: Credential): string | undefined {
  return credential.expiresAt ?? nextRotationOf(credential);
}

/** The index attributes of a credential item (none when it has nothing to watch, or is gone). */
export function expiryIndexKeys(credential: Credential): Record<string, string> {
  if (credential.status === 'gone') return {};
  const dates = [watchedExpiry(credential), credential.rotation?.dueAt].filter(
    (d): d is string => d !== undefined,
  );
  if (dates.length === 0) return {};
  const shard =
    createHash('sha256').update(`${credential.tenant}\n${credential.id}`).digest().readUInt32BE(0) %
    EXPIRY_SHARDS;
  return { expiryShard: `expiry#${shard}`, expiryAt: dates.sort()[0] ?? '' };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export class DynamoDbExpiryIndex implements ExpiryIndex {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async *dueBefore(before: string, pageSize: number): AsyncIterable<readonly ExpiryCandidate[]> {
    for (let shard = 0; shard < EXPIRY_SHARDS; shard += 1) {
      let start: Record<string, unknown> | undefined;
      do {
        let page;
        try {
          page = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: EXPIRY_INDEX,
              KeyConditionExpression: 'expiryShard = :shard AND expiryAt <= :before',
              ExpressionAttributeValues: { ':shard': `expiry#${shard}`, ':before': before },
              Limit: pageSize,
              ExclusiveStartKey: start,
            }),
          );
        } catch (error: unknown) {
          throw dynamoDbUnavailable('Query', 'expiry index', error);
        }
        const candidates = (page.Items ?? []).flatMap((item): ExpiryCandidate[] => {
          const tenant = str(item.tenant);
          const id = str(item.id);
          const type = str(item.type);
          if (tenant === undefined || id === undefined || type === undefined) return [];
          const facts = (item.facts ?? {}) as Record<string, unknown>;
          const rotation = (item.rotation ?? {}) as Record<string, unknown>;
          const thresholds: unknown = item.expiryThresholds;
          return [
            {
              tenant,
              credentialId: id,
              credentialType: type,
              credentialName: str(item.name) ?? id,
              owner: str(item.owner),
              expiresAt:
                str(item.expiresAt) ??
                (type === 'secretsmanager-secret' ? str(facts.nextRotationAt) : undefined),
              rotationDueAt: str(rotation.dueAt),
              expiryThresholds:
                Array.isArray(thresholds) && thresholds.every((n): n is number => typeof n === 'number')
                  ? thresholds
                  : undefined,
            },
          ];
        });
        if (candidates.length > 0) yield candidates;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }
  }
}
