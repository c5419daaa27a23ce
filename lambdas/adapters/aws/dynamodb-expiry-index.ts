/**
 * The expiry engine's view of the inventory: the sparse `expiryWatch` index of the credentials
 * table. A credential carries `expiryShard`/`expiryAt` only when it has a date to watch: its
 * expiry, its rotation due time, a Secrets Manager secret's next rotation date (which the expiry
 * engine treats as its expiry), or the day an active IAM user's access key reaches the default
 * maximum age. `expiryAt` is the earliest of them, so one Query per shard for `expiryAt <= horizon`
 * (the shared pager of `dynamodb-sharded-index.ts`) finds every credential near or past a date,
 * never a scan.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Credential } from '../../core/credentials/credential.js';
import {
  type ExpiryCandidate,
  type ExpiryIndex,
  IAM_KEY_INDEXED_AGE_DAYS,
  parseThresholdsTag,
  THRESHOLDS_TAG,
} from '../../core/notify/expiry.js';
import { type IndexItem, queryDueBefore, type ShardedIndex } from './dynamodb-sharded-index.js';

export const EXPIRY_INDEX = 'expiryWatch';
export const EXPIRY_SHARDS = 8;

const EXPIRY_WATCH: ShardedIndex = {
  indexName: EXPIRY_INDEX,
  shardAttribute: 'expiryShard',
  shardPrefix: 'expiry',
  shards: EXPIRY_SHARDS,
  dateAttribute: 'expiryAt',
  what: 'expiry index',
};

const DAY_MS = 86_400_000;

/** The date a discovered Secrets Manager secret must be rotated by. */
function nextRotationOf(credential: Credential): string | undefined {
  const fact = credential.facts.nextRotationAt;
  return credential.type === 'secretsmanager-secret' && typeof fact === 'string' ? fact : undefined;
}

function watchedExpiry(credential: Credential): string | undefined {
  return credential.expiresAt ?? nextRotationOf(credential);
}

/** An active IAM user key (root keys and inactive keys are findings, not rotations to chase). */
function ageWatchedSince(credential: Credential): string | undefined {
  const active =
    credential.type === 'aws-iam-access-key' &&
    credential.facts.keyStatus === 'Active' &&
    credential.facts.root !== true;
  if (!active || credential.rotation?.dueAt !== undefined || credential.createdAt === undefined)
    return undefined;
  return Number.isNaN(Date.parse(credential.createdAt)) ? undefined : credential.createdAt;
}

/** The index attributes of a credential item (none when it has nothing to watch, or is gone). */
export function expiryIndexKeys(credential: Credential): Record<string, string> {
  if (credential.status === 'gone') return {};
  const since = ageWatchedSince(credential);
  const dates = [
    watchedExpiry(credential),
    credential.rotation?.dueAt,
    since === undefined
      ? undefined
      : new Date(Date.parse(since) + IAM_KEY_INDEXED_AGE_DAYS * DAY_MS).toISOString(),
  ].filter((d): d is string => d !== undefined);
  if (dates.length === 0) return {};
  const shard =
    createHash('sha256').update(`${credential.tenant}\n${credential.id}`).digest().readUInt32BE(0) %
    EXPIRY_SHARDS;
  return { expiryShard: `expiry#${shard}`, expiryAt: dates.sort()[0] ?? '' };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const record = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};

function candidateOf(item: IndexItem): ExpiryCandidate[] {
  const tenant = str(item.tenant);
  const id = str(item.id);
  const type = str(item.type);
  if (tenant === undefined || id === undefined || type === undefined) return [];
  const facts = record(item.facts);
  const rotation = record(item.rotation);
  const tags = { ...record(item.sourceTags), ...record(item.tags) };
  const rotationDueAt = str(rotation.dueAt);
  const iamKey = type === 'aws-iam-access-key' && facts.keyStatus === 'Active' && facts.root !== true;
  return [
    {
      tenant,
      credentialId: id,
      credentialType: type,
      credentialName: str(item.name) ?? id,
      owner: str(item.owner),
      expiresAt:
        str(item.expiresAt) ?? (type === 'secretsmanager-secret' ? str(facts.nextRotationAt) : undefined),
      rotationDueAt,
      ageSince: iamKey && rotationDueAt === undefined ? str(item.createdAt) : undefined,
      expiryThresholds: parseThresholdsTag(str(tags[THRESHOLDS_TAG])),
    },
  ];
}

export class DynamoDbExpiryIndex implements ExpiryIndex {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async *dueBefore(before: string, pageSize: number): AsyncIterable<readonly ExpiryCandidate[]> {
    for await (const page of queryDueBefore(this.client, this.tableName, EXPIRY_WATCH, {
      before,
      pageSize,
    })) {
      const candidates = page.flatMap(candidateOf);
      if (candidates.length > 0) yield candidates;
    }
  }
}
