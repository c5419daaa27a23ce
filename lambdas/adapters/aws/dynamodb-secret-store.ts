/**
 * The DynamoDB `SecretStore` (also on dynalite locally). Items of the `secrets` table:
 *
 * - version item: `pk = <tenant>#<path>`, `sk = v#<10-digit version>`, `version`, `envelope`
 *   (absent once destroyed), `destroyed`, `createdTime`, `createdBy`. Version items are the
 *   truth: a number is taken by exactly one successful conditional put.
 * - metadata item: same `pk`, `sk = meta`, `listPk = <tenant>`, `listSk = <path>` (the sparse
 *   `byTenantPath` index), settings, `currentVersion`, `oldestVersion` and the per-version
 *   state (`versions`), so reading metadata is one GetItem.
 *
 * Without transactions every write is a single-item conditional write. A new version is:
 *   (a) `PutItem` of `v#n` with `attribute_not_exists(pk)`: of two writers of `n`, one wins;
 *   (b) record `n` in the metadata item: an `UpdateItem` that only moves `currentVersion`
 *       forward (`currentVersion < n`), or, if a writer of a higher number recorded first, adds
 *       the entry for `n` (`oldestVersion <= n`, entry absent);
 *   (c) prune: raise `oldestVersion` to `currentVersion - maxVersions + 1` in the metadata item
 *       first (conditionally, forward only), then delete the version items below it by key (the
 *       numbers come from the metadata: no Query).
 * In the steady state (b) and (c) are one `UpdateItem` conditioned on the snapshot the writer
 * started from (`currentVersion`, `oldestVersion`, `maxVersions` unchanged), and the snapshot is
 * the metadata the caller read for its own checks, so a write is: that read, (a), (b+c) and one
 * `DeleteItem`. The next number comes from the metadata's `currentVersion`; a lost race in (a)
 * re-reads the latest version item (Query `v#` descending, Limit 1) and retries with bounded,
 * jittered backoff, sealing again for the new number. Check-and-set writes exactly `cas + 1`, so
 * the put in (a) is the check.
 *
 * Reads: the store remembers per secret the latest version it last saw (a hint), and reads the
 * metadata, that version and the one after it in one `BatchGetItem`. The metadata decides: when
 * it names the hinted version as current and no later item exists, that is the answer; else (no
 * hint, a stale one, a version the metadata lags behind) the read falls back to the metadata
 * `GetItem` and the latest-version Query side by side, which also heal a lagging metadata item.
 *
 * Crashes between steps: after (a) and before (b) the metadata lags behind a version item.
 * Whoever next reads the latest version, the metadata or that version, or loses a race on a
 * number, records it (step (b) is idempotent), so the lagging state heals and the version is
 * never lost. After (c)'s metadata update and before the deletes, items below `oldestVersion`
 * linger; they are garbage by definition (never read), and deleting the secret removes them.
 *
 * Refusals after (a): (a) is the commit point. When the storage refuses (b) for good (throttled,
 * unavailable), the stored item is what a crashed writer leaves, and readers record it as well;
 * so the writer reads the metadata again, records the version once more, and if that is refused
 * too reports the version as written (the next read records it), never a 503 ("nothing
 * changed") for a value that becomes readable. The one exception is a number found below
 * `oldestVersion` (pruned while the writer stalled): that item is never read, and the writer
 * moves on as after a lost race. A refused (c) is housekeeping the next write redoes, and does
 * not fail the write either. A 503 from a write therefore means that (a) did not store anything.
 *
 * Destroy marks the versions destroyed in the metadata item first (the commit point: every read
 * then treats them as destroyed) and then removes their envelopes; a removal cut short is
 * finished by a retry or by the next read of that version.
 *
 * Deleting a secret (every version and the metadata) works the same way: one conditional update
 * marks the metadata item `deleting` and takes it out of the list index (the commit point: from
 * then on every read answers "no such secret" and no version item is adopted), then the version
 * items are deleted and the metadata item last. When the storage refuses those deletes the
 * secret is still deleted for every caller and the delete answers as done; whoever next reads or
 * writes that path finishes the deletion (a writer before it stores version 1 again; a reader
 * before it answers "no such secret", or 503 while the storage still refuses), so no value of a
 * deleted secret is ever served and none is left behind for good. Every metadata
 * update is conditioned on the mark's absence, so nothing is recorded into a deleted secret.
 *
 * The KV v2 rules (check-and-set, the next number, recording, pruning, version states, cursors)
 * are `core/secrets/kv-rules.ts`; this store only persists what they decide.
 *
 * Number reuse: a pruned number's item is deleted, so a writer stalled across `maxVersions`
 * other writes could put `v#n` again. Step (b) refuses any `n < oldestVersion`, and the writer
 * deletes that item and retries (or, with cas, reports a conflict), so no version number ever
 * names two values.
 */
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { Envelope } from '../../core/secrets/envelope.js';
import {
  ABOVE_PATH_CHARS,
  childSuccessor,
  decodeListCursor,
  immediateChild,
  initialMetadata,
  keptChanging,
  listPage,
  LOWEST_PATH_CHAR,
  MAX_METADATA_ATTEMPTS,
  metadataRecord,
  needsRecording,
  pruned,
  pruneFloor,
  readableVersion,
  recordDecision,
  recordedVersions,
  storedEnvelope,
  versionsBelow,
  withVersion,
  type WriteRetryPolicy,
  type WriteSnapshot,
  writeNewVersion,
} from '../../core/secrets/kv-rules.js';
import type { EnvelopeRewrapStore, StoredEnvelope } from '../../core/secrets/rewrap.js';
import type { SecretPath, SecretPrefix } from '../../core/secrets/secret-path.js';
import type {
  MetadataSettings,
  NewVersionRequest,
  PathListing,
  PathPage,
  SecretMetadataRecord,
  SecretStore,
  VersionRecord,
} from '../../core/secrets/secret-store.js';
import { DependencyUnavailableError } from '../../core/errors.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';
import { queryPages, scanPages } from './dynamodb-pages.js';

export const SECRETS_LIST_INDEX = 'byTenantPath';

export type DynamoDbSecretStoreOptions = WriteRetryPolicy;

const META_SK = 'meta';
const VERSION_PREFIX = 'v#';
const VERSION_DIGITS = 10;
/** Deletes sent at once when removing version items. */
const DELETE_BATCH = 25;
/** Secrets whose latest version number this store remembers (a hint, checked on every read). */
const LATEST_HINTS = 10_000;
/** Rounds of a BatchGetItem whose keys DynamoDB left unprocessed (throttling) before giving up. */
const BATCH_GET_ROUNDS = 4;

const VersionStateItem = z.object({
  createdTime: z.string(),
  createdBy: z.string(),
  deletionTime: z.string().optional(),
  destroyed: z.boolean(),
});

const MetaItem = z.object({
  currentVersion: z.number().int().min(0),
  oldestVersion: z.number().int().min(0),
  maxVersions: z.number().int().min(1),
  casRequired: z.boolean(),
  customMetadata: z.record(z.string(), z.string()),
  createdTime: z.string(),
  updatedTime: z.string(),
  versions: z.record(z.string(), VersionStateItem),
  /** Set by the commit point of a delete: the secret is gone for every caller, its items go next. */
  deleting: z.literal(true).optional(),
});
type MetaItem = z.infer<typeof MetaItem>;

/** The condition every metadata update carries: nothing is recorded into a secret being deleted. */
const NOT_DELETING = 'attribute_not_exists(#deleting)';

const VersionItem = z.object({
  version: z.number().int().positive(),
  envelope: z.unknown().optional(),
  createdTime: z.string(),
  createdBy: z.string(),
});
type VersionItem = z.infer<typeof VersionItem>;

type Snapshot = WriteSnapshot<MetaItem>;

export class DynamoDbSecretStore implements SecretStore, EnvelopeRewrapStore {
  /**
   * The latest version number last seen per secret (partition key). Only a hint of which version
   * item to fetch beside the metadata in one BatchGetItem: the metadata read in the same batch
   * decides, and a hint that turns out stale costs the two-call read it replaces.
   */
  private readonly latestHints = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retry: DynamoDbSecretStoreOptions = {},
  ) {}

  static partitionKey(tenant: string, path: string): string {
    return `${tenant}#${path}`;
  }

  static versionSortKey(version: number): string {
    return `${VERSION_PREFIX}${String(version).padStart(VERSION_DIGITS, '0')}`;
  }

  async getMetadata(tenant: string, path: SecretPath): Promise<SecretMetadataRecord | undefined> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    const hint = this.latestHints.get(pk);
    if (hint !== undefined) {
      // One round trip: the metadata, and the item after the latest it should name (a version
      // a crashed or in-flight writer has not recorded yet would be there).
      const { meta, items } = await this.readBatch(pk, [hint + 1]);
      if (meta?.deleting === true) return this.deleted(pk);
      if (meta !== undefined && meta.currentVersion === hint && !items.has(hint + 1)) {
        return metadataRecord(tenant, path, meta);
      }
    }
    const [meta, latest] = await Promise.all([this.readMeta(pk), this.latestVersionItem(pk, false)]);
    // A deleted secret's version items are never adopted, even while they linger.
    if (meta?.deleting === true) return this.deleted(pk);
    let current = meta;
    if (latest !== undefined && needsRecording(meta, latest.version)) {
      current = (await this.record(tenant, path, latest, meta)).meta;
      if (current.deleting === true) return this.deleted(pk);
    }
    this.remember(pk, current?.currentVersion);
    return current === undefined ? undefined : metadataRecord(tenant, path, current);
  }

  async getVersion(
    tenant: string,
    path: SecretPath,
    version: number | 'latest',
  ): Promise<{ record: VersionRecord; metadata: SecretMetadataRecord } | undefined> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    if (version !== 'latest') {
      const { meta, items } = await this.readBatch(pk, [version]);
      return this.readable(tenant, path, meta, items.get(version));
    }
    const hint = this.latestHints.get(pk);
    if (hint !== undefined) {
      // The common case in one round trip: the metadata, the version it should name as the
      // latest, and the one after it (present only if a writer has not recorded it yet).
      const { meta, items } = await this.readBatch(pk, [hint, hint + 1]);
      const item = items.get(hint);
      if (
        meta !== undefined &&
        meta.deleting !== true &&
        meta.currentVersion === hint &&
        item !== undefined &&
        !items.has(hint + 1)
      ) {
        return this.readable(tenant, path, meta, item);
      }
    }
    // No hint, or a stale one: the version items are the truth about "latest".
    const [meta, item] = await Promise.all([this.readMeta(pk), this.latestVersionItem(pk, true)]);
    const found = await this.readable(tenant, path, meta, item);
    this.remember(
      pk,
      found?.metadata.currentVersion ?? (meta?.deleting === true ? undefined : meta?.currentVersion),
    );
    return found;
  }

  /** A version item with the metadata it is read against; records it first if the metadata lags. */
  private async readable(
    tenant: string,
    path: SecretPath,
    meta: MetaItem | undefined,
    item: VersionItem | undefined,
  ): Promise<{ record: VersionRecord; metadata: SecretMetadataRecord } | undefined> {
    if (meta?.deleting === true) return this.deleted(DynamoDbSecretStore.partitionKey(tenant, path));
    if (item === undefined) return undefined;
    let current = meta;
    if (needsRecording(meta, item.version)) {
      const recorded = await this.record(tenant, path, item, meta);
      if (!recorded.accepted) return undefined;
      current = recorded.meta;
    }
    // The version items are the truth about "latest"; the metadata says whether it may be read.
    if (current === undefined || readableVersion(current, item.version) === undefined) return undefined;
    const state = current.versions[String(item.version)];
    if (state?.destroyed === true && item.envelope !== undefined) {
      // Destroyed (the metadata is the commit point) but its value is still stored: a destroy
      // stopped half-way. Finish it; the reader gets no value either way.
      await this.removeEnvelopes(DynamoDbSecretStore.partitionKey(tenant, path), [item.version]).catch(
        () => undefined,
      );
      return {
        record: toVersionRecord({ ...item, envelope: undefined }),
        metadata: metadataRecord(tenant, path, current),
      };
    }
    return { record: toVersionRecord(item), metadata: metadataRecord(tenant, path, current) };
  }

  /** Remembers the latest version of a secret as a hint for its next read. */
  private remember(pk: string, latest: number | undefined): void {
    if (latest === undefined) {
      this.latestHints.delete(pk);
      return;
    }
    this.latestHints.delete(pk);
    this.latestHints.set(pk, latest);
    if (this.latestHints.size > LATEST_HINTS) {
      const oldest = this.latestHints.keys().next();
      if (oldest.done !== true) this.latestHints.delete(oldest.value);
    }
  }

  async putNewVersion(
    request: NewVersionRequest,
  ): Promise<{ version: number; metadata: SecretMetadataRecord }> {
    const { tenant, path, known } = request;
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    const head = (version: number) => ({ version, createdTime: request.now, createdBy: request.createdBy });
    // Version numbers the recording update took out of the metadata: their items go after it.
    let purge: readonly number[] = [];
    // The claim stands but the metadata could not be updated now: the next reader records it.
    let unrecorded = false;
    let useKnown = known !== undefined;
    try {
      const written = await writeNewVersion(
        path,
        request.cas,
        {
          snapshot: async (verify) => {
            if (!verify && useKnown) {
              // The metadata the caller has just read (undefined: no secret yet), not read twice.
              useKnown = false;
              const meta = known?.metadata === undefined ? undefined : metaItemOf(known.metadata);
              return { meta, latest: meta?.currentVersion ?? 0, verified: false };
            }
            return this.snapshot(tenant, path, verify);
          },
          claim: async (version) =>
            this.putVersionItem(pk, { ...head(version), envelope: await request.seal(version) }),
          record: async (version, snapshot) => {
            try {
              const recorded = await this.recordAndPrune(tenant, path, head(version), snapshot.meta);
              purge = recorded.purge;
              return recorded;
            } catch (error: unknown) {
              if (!(error instanceof DependencyUnavailableError)) throw error;
              const outcome = await this.afterRefusedRecord(tenant, path, head(version), snapshot.meta);
              unrecorded = outcome.accepted && !outcome.recorded;
              return outcome;
            }
          },
          // The number had been pruned: this item reused it, so it must go.
          release: (version) => this.deleteItems(pk, [DynamoDbSecretStore.versionSortKey(version)]),
          settle: async (_version, meta) => {
            // Pruning is housekeeping after the commit: the next write prunes what this one could
            // not, and items left below `oldestVersion` are never read. Its failure must not turn
            // a stored version into a 503; an unrecorded version is pruned after it is recorded.
            if (unrecorded) return metadataRecord(tenant, path, meta);
            try {
              const settled = await this.prune(pk, meta);
              await this.deleteItems(
                pk,
                [...purge, ...settled.purge].map((version) => DynamoDbSecretStore.versionSortKey(version)),
              );
              return metadataRecord(tenant, path, settled.meta);
            } catch (error: unknown) {
              if (!(error instanceof DependencyUnavailableError)) throw error;
              return metadataRecord(tenant, path, meta);
            }
          },
        },
        this.retry,
      );
      this.remember(pk, written.metadata.currentVersion);
      return written;
    } catch (error: unknown) {
      this.latestHints.delete(pk);
      throw error;
    }
  }

  async putMetadata(
    tenant: string,
    path: SecretPath,
    settings: MetadataSettings,
    now: string,
  ): Promise<SecretMetadataRecord> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    const names: Record<string, string> = {
      '#updated': 'updatedTime',
      '#created': 'createdTime',
      '#current': 'currentVersion',
      '#oldest': 'oldestVersion',
      '#versions': 'versions',
      '#listPk': 'listPk',
      '#listSk': 'listSk',
      '#max': 'maxVersions',
      '#cas': 'casRequired',
      '#custom': 'customMetadata',
      '#deleting': 'deleting',
    };
    const initial = initialMetadata(now);
    const values: Record<string, unknown> = {
      ':now': now,
      ':zero': initial.currentVersion,
      ':empty': initial.versions,
      ':tenant': tenant,
      ':path': path,
      ':max': settings.maxVersions ?? initial.maxVersions,
      ':cas': settings.casRequired ?? initial.casRequired,
      ':custom': settings.customMetadata ?? initial.customMetadata,
    };
    const assign = (name: string, given: boolean): string =>
      given ? `${name} = :${name.slice(1)}` : `${name} = if_not_exists(${name}, :${name.slice(1)})`;
    const update = new UpdateCommand({
      TableName: this.tableName,
      Key: { pk, sk: META_SK },
      UpdateExpression: [
        'SET #updated = :now',
        '#created = if_not_exists(#created, :now)',
        '#current = if_not_exists(#current, :zero)',
        '#oldest = if_not_exists(#oldest, :zero)',
        '#versions = if_not_exists(#versions, :empty)',
        '#listPk = :tenant',
        '#listSk = :path',
        assign('#max', settings.maxVersions !== undefined),
        assign('#cas', settings.casRequired !== undefined),
        assign('#custom', settings.customMetadata !== undefined),
      ].join(', '),
      // Settings given to a deleted path start a new secret, after the old one's items are gone.
      ConditionExpression: NOT_DELETING,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    });
    let updated;
    try {
      updated = await this.call(this.client.send(update));
    } catch (error: unknown) {
      if (!isConditionFailed(error)) throw error;
      await this.finishDelete(pk);
      try {
        updated = await this.call(this.client.send(update));
      } catch (again: unknown) {
        if (!isConditionFailed(again)) throw again;
        throw keptChanging(path);
      }
    }
    const meta = parseMeta(updated.Attributes);
    const settled = await this.prune(pk, meta);
    await this.deleteItems(
      pk,
      settled.purge.map((version) => DynamoDbSecretStore.versionSortKey(version)),
    );
    this.latestHints.delete(pk);
    return metadataRecord(tenant, path, settled.meta);
  }

  async listPaths(tenant: string, prefix: SecretPrefix, page: PathPage): Promise<PathListing> {
    const after = page.cursor === undefined ? undefined : decodeListCursor(page.cursor, prefix);
    const upper = `${prefix}${ABOVE_PATH_CHARS}`;
    let lower = after === undefined ? `${prefix}${LOWEST_PATH_CHAR}` : `${prefix}${childSuccessor(after)}`;
    const keys: string[] = [];
    // One key more than asked for tells whether there is a next page. Each query starts after
    // the last child found, so a folder is returned once however many secrets it holds, and
    // at most one query per folder on the page skips over its subtree.
    while (keys.length <= page.limit) {
      const result = await this.call(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: SECRETS_LIST_INDEX,
            KeyConditionExpression: '#listPk = :tenant AND #listSk BETWEEN :lower AND :upper',
            ExpressionAttributeNames: { '#listPk': 'listPk', '#listSk': 'listSk' },
            ExpressionAttributeValues: { ':tenant': tenant, ':lower': lower, ':upper': upper },
            ProjectionExpression: '#listSk',
            Limit: Math.min(page.limit + 1 - keys.length, 1000),
          }),
        ),
      );
      for (const item of result.Items ?? []) {
        const listed: unknown = item.listSk;
        if (typeof listed !== 'string' || !listed.startsWith(prefix)) continue;
        const child = immediateChild(listed.slice(prefix.length));
        if (keys[keys.length - 1] !== child) keys.push(child);
      }
      const last = keys[keys.length - 1];
      if (result.LastEvaluatedKey === undefined || last === undefined) break;
      lower = `${prefix}${childSuccessor(last)}`;
    }
    return listPage(prefix, keys, page.limit);
  }

  async setDeletionTime(
    tenant: string,
    path: SecretPath,
    versions: readonly number[],
    deletionTime: string | undefined,
  ): Promise<void> {
    await this.updateVersionEntries(tenant, path, versions, {
      clause: (entry) =>
        deletionTime === undefined
          ? { remove: `${entry}.#deletionTime` }
          : { set: `${entry}.#deletionTime = :deletionTime` },
      names: { '#deletionTime': 'deletionTime' },
      values: deletionTime === undefined ? {} : { ':deletionTime': deletionTime },
    });
  }

  async destroyVersions(tenant: string, path: SecretPath, versions: readonly number[]): Promise<void> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    // The commit point: the metadata marks the versions destroyed, and from then on every read
    // treats them so, whatever happens to the values. A failure here changed nothing (503).
    await this.updateVersionEntries(tenant, path, versions, {
      clause: (entry) => ({ set: `${entry}.#destroyed = :true` }),
      names: { '#destroyed': 'destroyed' },
      values: { ':true': true },
    });
    try {
      await this.removeEnvelopes(pk, versions);
    } catch (error: unknown) {
      // Committed: the destroy stands and answers as done. A value left behind is never served
      // (the mark says destroyed); a retry of the destroy, or the next read of that version,
      // removes it, and pruning or deleting the secret removes its item.
      if (!(error instanceof DependencyUnavailableError)) throw error;
    }
  }

  /** Removes the envelopes of these versions from their items (absent items are skipped). */
  private async removeEnvelopes(pk: string, versions: readonly number[]): Promise<void> {
    await inBatches([...new Set(versions)], DELETE_BATCH, async (version) => {
      try {
        await this.call(
          this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk, sk: DynamoDbSecretStore.versionSortKey(version) },
              UpdateExpression: 'REMOVE #envelope SET #destroyed = :true',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#envelope': 'envelope', '#destroyed': 'destroyed' },
              ExpressionAttributeValues: { ':true': true },
            }),
          ),
        );
      } catch (error: unknown) {
        if (!isConditionFailed(error)) throw error;
      }
    });
  }

  async deleteSecret(tenant: string, path: SecretPath): Promise<void> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    this.latestHints.delete(pk);
    // The commit point: one conditional update marks the metadata deleted and takes it out of
    // the list index. A refusal here changed nothing (503); from here on the secret is gone for
    // every reader, whatever happens to its items.
    try {
      await this.call(
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk, sk: META_SK },
            UpdateExpression: 'SET #deleting = :true REMOVE #listPk, #listSk',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#deleting': 'deleting', '#listPk': 'listPk', '#listSk': 'listSk' },
            ExpressionAttributeValues: { ':true': true },
          }),
        ),
      );
    } catch (error: unknown) {
      if (!isConditionFailed(error)) throw error;
      // No metadata: a concurrent delete got there first.
      return;
    }
    try {
      await this.finishDelete(pk);
    } catch (error: unknown) {
      // Committed: the delete stands and answers as done (a 503 would tell the caller nothing
      // changed). What is left is never served, and the next read or write of the path removes it.
      if (!(error instanceof DependencyUnavailableError)) throw error;
    }
  }

  /**
   * The rest of a committed delete: the version items, then the marked metadata item (only while
   * it is still marked). Idempotent, so the deleter, readers and writers of the path share it.
   */
  private async finishDelete(pk: string): Promise<void> {
    this.latestHints.delete(pk);
    await this.deleteAllVersionItems(pk);
    try {
      await this.call(
        this.client.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { pk, sk: META_SK },
            ConditionExpression: '#deleting = :true',
            ExpressionAttributeNames: { '#deleting': 'deleting' },
            ExpressionAttributeValues: { ':true': true },
          }),
        ),
      );
    } catch (error: unknown) {
      // Already removed by another finisher.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * What a reader answers for a secret whose delete committed: absent, once its items are gone.
   * It finishes the delete first; when the storage refuses that, the reader gets the refusal (a
   * 503), never the secret, and the next caller tries again.
   */
  private async deleted(pk: string): Promise<undefined> {
    await this.finishDelete(pk);
    return undefined;
  }

  /**
   * Applies one clause per version entry of the metadata item, on the entries that exist: the
   * condition makes a concurrently pruned entry fail the update instead of recreating it
   * half-empty, and the update is retried on the entries still there.
   */
  async envelopesAfter(
    tenant: string,
    after: { readonly path: string; readonly version: number } | undefined,
    limit: number,
  ): Promise<{ items: StoredEnvelope[]; more: boolean }> {
    const items: StoredEnvelope[] = [];
    // The rest of the cursor's own secret first, then the following secrets in path order.
    if (after !== undefined) {
      const full = await this.envelopesOf(
        tenant,
        after.path as SecretPath,
        after.version,
        limit + 1 - items.length,
        items,
      );
      if (full) return { items: items.slice(0, limit), more: true };
    }
    let lower = after === undefined ? LOWEST_PATH_CHAR : `${after.path}${LOWEST_PATH_CHAR}`;
    for (;;) {
      const result = await this.call(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: SECRETS_LIST_INDEX,
            KeyConditionExpression: '#listPk = :tenant AND #listSk >= :lower',
            ExpressionAttributeNames: { '#listPk': 'listPk', '#listSk': 'listSk' },
            ExpressionAttributeValues: { ':tenant': tenant, ':lower': lower },
            ProjectionExpression: '#listSk',
            Limit: 100,
          }),
        ),
      );
      const paths = (result.Items ?? [])
        .map((item): unknown => item.listSk)
        .filter((path): path is string => typeof path === 'string');
      for (const path of paths) {
        if (await this.envelopesOf(tenant, path as SecretPath, 0, limit + 1 - items.length, items)) {
          return { items: items.slice(0, limit), more: true };
        }
      }
      const last = paths[paths.length - 1];
      if (result.LastEvaluatedKey === undefined || last === undefined) return { items, more: false };
      lower = `${last}${LOWEST_PATH_CHAR}`;
    }
  }

  async replaceEnvelope(
    tenant: string,
    path: SecretPath,
    version: number,
    expected: Envelope,
    next: Envelope,
  ): Promise<boolean> {
    try {
      await this.call(
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: {
              pk: DynamoDbSecretStore.partitionKey(tenant, path),
              sk: DynamoDbSecretStore.versionSortKey(version),
            },
            UpdateExpression: 'SET #envelope = :next',
            ConditionExpression: '#envelope.#keyId = :keyId AND #envelope.#wrappedKey = :wrappedKey',
            ExpressionAttributeNames: {
              '#envelope': 'envelope',
              '#keyId': 'keyId',
              '#wrappedKey': 'wrappedKey',
            },
            ExpressionAttributeValues: {
              ':next': next,
              ':keyId': expected.keyId,
              ':wrappedKey': expected.wrappedKey,
            },
          }),
        ),
      );
      return true;
    } catch (error: unknown) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Every tenant that has secrets. A Scan of the sparse list index, for the local maintenance
   * command (`vaultpilot rewrap`) only: no function is granted Scan.
   */
  async tenants(): Promise<string[]> {
    const found = new Set<string>();
    const pages = scanPages(
      this.client,
      {
        TableName: this.tableName,
        IndexName: SECRETS_LIST_INDEX,
        ProjectionExpression: '#listPk',
        ExpressionAttributeNames: { '#listPk': 'listPk' },
      },
      'secret store',
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) if (typeof item.listPk === 'string') found.add(item.listPk);
    }
    return [...found].sort();
  }

  /**
   * Appends the envelopes of one secret's versions above `afterVersion` to `into`, stopping once
   * `room` were added; true when it stopped because of `room` (more may follow).
   */
  private async envelopesOf(
    tenant: string,
    path: SecretPath,
    afterVersion: number,
    room: number,
    into: StoredEnvelope[],
  ): Promise<boolean> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    let added = 0;
    for await (const page of this.versionItemPages(pk, afterVersion + 1, 10 ** VERSION_DIGITS - 1)) {
      for (const raw of page.Items ?? []) {
        const item = parseVersion(raw);
        if (item.envelope === undefined) continue;
        into.push({ path, version: item.version, envelope: storedEnvelope(item.envelope) });
        added += 1;
        if (added >= room) return true;
      }
    }
    return false;
  }

  private async updateVersionEntries(
    tenant: string,
    path: SecretPath,
    versions: readonly number[],
    update: {
      readonly clause: (entry: string) => { set?: string; remove?: string };
      readonly names: Record<string, string>;
      readonly values: Record<string, unknown>;
    },
  ): Promise<void> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    const { clause, values } = update;
    let targets = [...new Set(versions)];
    for (let attempt = 0; attempt < MAX_METADATA_ATTEMPTS && targets.length > 0; attempt += 1) {
      const names: Record<string, string> = {
        '#versions': 'versions',
        '#deleting': 'deleting',
        ...update.names,
      };
      const sets: string[] = [];
      const removes: string[] = [];
      const conditions: string[] = [NOT_DELETING];
      targets.forEach((version, index) => {
        names[`#v${index}`] = String(version);
        const entry = `#versions.#v${index}`;
        const { set, remove } = clause(entry);
        if (set !== undefined) sets.push(set);
        if (remove !== undefined) removes.push(remove);
        conditions.push(`attribute_exists(${entry})`);
      });
      try {
        await this.call(
          this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk, sk: META_SK },
              UpdateExpression: [
                sets.length > 0 ? `SET ${sets.join(', ')}` : '',
                removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
              ]
                .join(' ')
                .trim(),
              ConditionExpression: conditions.join(' AND '),
              ExpressionAttributeNames: names,
              ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
            }),
          ),
        );
        return;
      } catch (error: unknown) {
        if (!isConditionFailed(error)) throw error;
      }
      const meta = await this.readMeta(pk);
      if (meta === undefined || meta.deleting === true) return;
      targets = recordedVersions(meta, targets);
    }
    if (targets.length > 0) throw keptChanging(path);
  }

  /**
   * The metadata and the highest version known. `verify` also reads the latest version item
   * (and records it if the metadata lags), which a write needs after losing a race.
   */
  private async snapshot(tenant: string, path: SecretPath, verify: boolean, round = 0): Promise<Snapshot> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    // A write to a deleted path starts a new secret once the old one's items are gone.
    const afterDelete = async (): Promise<Snapshot> => {
      if (round >= MAX_METADATA_ATTEMPTS) throw keptChanging(path);
      await this.finishDelete(pk);
      return this.snapshot(tenant, path, true, round + 1);
    };
    if (!verify) {
      const meta = await this.readMeta(pk);
      if (meta?.deleting === true) return afterDelete();
      return { meta, latest: meta?.currentVersion ?? 0, verified: false };
    }
    const [meta, latest] = await Promise.all([this.readMeta(pk), this.latestVersionItem(pk, false)]);
    if (meta?.deleting === true) return afterDelete();
    let current = meta;
    if (latest !== undefined && needsRecording(meta, latest.version)) {
      current = (await this.record(tenant, path, latest, meta)).meta;
      if (current.deleting === true) return afterDelete();
    }
    return {
      meta: current,
      latest: Math.max(current?.currentVersion ?? 0, latest?.version ?? 0),
      verified: true,
    };
  }

  /**
   * Step (b): records an existing version item in the metadata item, creating the metadata on
   * the first version. Idempotent, so writers and repairing readers share it. Not accepted
   * when the number is below `oldestVersion` (it was pruned).
   */
  private async record(
    tenant: string,
    path: SecretPath,
    item: Omit<VersionItem, 'envelope'>,
    known: MetaItem | undefined,
  ): Promise<{ accepted: boolean; meta: MetaItem }> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    const key = String(item.version);
    let meta = known;
    for (let attempt = 0; attempt < MAX_METADATA_ATTEMPTS; attempt += 1) {
      // A deleted secret records nothing: its items are on their way out (the caller finishes it).
      if (meta?.deleting === true) return { accepted: false, meta };
      try {
        if (meta === undefined) {
          const created: MetaItem = withVersion(initialMetadata(item.createdTime), item);
          await this.call(
            this.client.send(
              new PutCommand({
                TableName: this.tableName,
                Item: { pk, sk: META_SK, listPk: tenant, listSk: path, ...created },
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            ),
          );
          return { accepted: true, meta: created };
        }
        const decision = recordDecision(meta, item);
        if (decision.kind !== 'add') return { accepted: decision.kind === 'present', meta };
        const { advancing, entry } = decision;
        const updated = await this.call(
          this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk, sk: META_SK },
              UpdateExpression: advancing
                ? 'SET #current = :version, #updated = :time, #versions.#key = :entry'
                : 'SET #versions.#key = :entry',
              ConditionExpression: advancing
                ? `attribute_exists(pk) AND ${NOT_DELETING} AND #current < :version`
                : `attribute_exists(pk) AND ${NOT_DELETING} AND #oldest <= :version AND attribute_not_exists(#versions.#key)`,
              ExpressionAttributeNames: {
                '#versions': 'versions',
                '#deleting': 'deleting',
                '#key': key,
                ...(advancing
                  ? { '#current': 'currentVersion', '#updated': 'updatedTime' }
                  : { '#oldest': 'oldestVersion' }),
              },
              ExpressionAttributeValues: {
                ':version': item.version,
                ':entry': entry,
                ...(advancing ? { ':time': item.createdTime } : {}),
              },
              ReturnValues: 'ALL_NEW',
            }),
          ),
        );
        return { accepted: true, meta: parseMeta(updated.Attributes) };
      } catch (error: unknown) {
        if (!isConditionFailed(error)) throw error;
      }
      meta = await this.readMeta(pk);
    }
    throw keptChanging(path);
  }

  /**
   * Step (b) failed for good (throttling, an unavailable table) after step (a) stored the version
   * item. That item is the truth: whoever next reads the secret or loses a race on its number
   * records it, unless its number lies below `oldestVersion` (then it was pruned while this
   * writer stalled, and no read ever serves it). So the write's outcome is decided by that one
   * fact, not by the failed update: the metadata is read again and the version recorded once
   * more; if the storage still refuses, the version is reported as written (it is, and the next
   * read records it) rather than as a 503 that would make the caller believe nothing changed.
   * Only when even the metadata cannot be read is `oldestVersion` unknown; the writer then goes
   * by its snapshot, from which pruning this number would take `maxVersions` other writes
   * recorded in the meantime.
   */
  private async afterRefusedRecord(
    tenant: string,
    path: SecretPath,
    item: Omit<VersionItem, 'envelope'>,
    known: MetaItem | undefined,
  ): Promise<{ accepted: boolean; meta: MetaItem; recorded: boolean }> {
    const assumed = (meta: MetaItem | undefined) => ({
      accepted: true,
      meta: withVersion(meta ?? initialMetadata(item.createdTime), item),
      recorded: false,
    });
    let meta: MetaItem | undefined;
    try {
      meta = await this.readMeta(DynamoDbSecretStore.partitionKey(tenant, path));
    } catch (error: unknown) {
      if (!(error instanceof DependencyUnavailableError)) throw error;
      return assumed(known);
    }
    if (meta !== undefined && recordDecision(meta, item).kind === 'pruned') {
      return { accepted: false, meta, recorded: false };
    }
    try {
      return { ...(await this.record(tenant, path, item, meta)), recorded: true };
    } catch (error: unknown) {
      if (!(error instanceof DependencyUnavailableError)) throw error;
      return assumed(meta);
    }
  }

  /**
   * Steps (b) and (c) in one conditional UpdateItem when the writer's snapshot still holds (the
   * steady state: nobody recorded or changed the settings since it was read): records the new
   * version, raises `oldestVersion` and drops the pruned entries. Returns the numbers whose items
   * the caller then deletes by key. Anything else goes the general way (`record`, then `prune`).
   */
  private async recordAndPrune(
    tenant: string,
    path: SecretPath,
    item: Omit<VersionItem, 'envelope'>,
    known: MetaItem | undefined,
  ): Promise<{ accepted: boolean; meta: MetaItem; purge: readonly number[] }> {
    if (known !== undefined && known.currentVersion === item.version - 1) {
      const decision = recordDecision(known, item);
      const next = pruned(withVersion(known, item));
      if (decision.kind === 'add' && next.oldestVersion > known.oldestVersion) {
        const pk = DynamoDbSecretStore.partitionKey(tenant, path);
        const stale = versionsBelow(known, next.oldestVersion);
        const names: Record<string, string> = {
          '#current': 'currentVersion',
          '#updated': 'updatedTime',
          '#versions': 'versions',
          '#key': String(item.version),
          '#oldest': 'oldestVersion',
          '#max': 'maxVersions',
          '#deleting': 'deleting',
        };
        const removal = staleRemoval(stale, names);
        try {
          const updated = await this.call(
            this.client.send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: { pk, sk: META_SK },
                UpdateExpression: [
                  'SET #current = :version, #updated = :time, #versions.#key = :entry, #oldest = :floor',
                  removal,
                ]
                  .join(' ')
                  .trim(),
                ConditionExpression: `#current = :previous AND #oldest = :oldest AND #max = :max AND attribute_not_exists(#versions.#key) AND ${NOT_DELETING}`,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: {
                  ':version': item.version,
                  ':time': item.createdTime,
                  ':entry': decision.entry,
                  ':floor': next.oldestVersion,
                  ':previous': known.currentVersion,
                  ':oldest': known.oldestVersion,
                  ':max': known.maxVersions,
                },
                ReturnValues: 'ALL_NEW',
              }),
            ),
          );
          return {
            accepted: true,
            meta: parseMeta(updated.Attributes),
            purge: purgeable(known, next.oldestVersion),
          };
        } catch (error: unknown) {
          if (!isConditionFailed(error)) throw error;
          // Someone else changed the metadata since the snapshot: the general way re-reads it.
        }
      }
    }
    return { ...(await this.record(tenant, path, item, known)), purge: [] };
  }

  /**
   * Step (c) when (b) did not do it: raises `oldestVersion` to keep `maxVersions`. Returns the
   * numbers whose items the caller deletes by key (from the metadata, no Query).
   */
  private async prune(pk: string, meta: MetaItem): Promise<{ meta: MetaItem; purge: readonly number[] }> {
    const floor = pruneFloor(meta);
    if (floor === undefined) return { meta, purge: [] };
    const stale = versionsBelow(meta, floor);
    const names: Record<string, string> = {
      '#oldest': 'oldestVersion',
      '#versions': 'versions',
      '#deleting': 'deleting',
    };
    const removal = staleRemoval(stale, names);
    try {
      const updated = await this.call(
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk, sk: META_SK },
            UpdateExpression: ['SET #oldest = :floor', removal].join(' ').trim(),
            ConditionExpression: `attribute_exists(pk) AND ${NOT_DELETING} AND #oldest < :floor`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':floor': floor },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return { meta: parseMeta(updated.Attributes), purge: purgeable(meta, floor) };
    } catch (error: unknown) {
      if (!isConditionFailed(error)) throw error;
      // Someone pruned further (or deleted the secret) first; they delete what they pruned.
      return { meta: (await this.readMeta(pk)) ?? meta, purge: [] };
    }
  }

  private async putVersionItem(pk: string, item: VersionItem): Promise<boolean> {
    try {
      await this.call(
        this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { pk, sk: DynamoDbSecretStore.versionSortKey(item.version), ...item },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      return true;
    } catch (error: unknown) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * The metadata item and the given version items of one secret in one BatchGetItem (strongly
   * consistent). Keys DynamoDB leaves unprocessed are asked for again, a few rounds at most.
   */
  private async readBatch(
    pk: string,
    versions: readonly number[],
  ): Promise<{ meta: MetaItem | undefined; items: Map<number, VersionItem> }> {
    let keys: Record<string, unknown>[] = [
      { pk, sk: META_SK },
      ...versions.map((version) => ({ pk, sk: DynamoDbSecretStore.versionSortKey(version) })),
    ];
    let meta: MetaItem | undefined;
    const items = new Map<number, VersionItem>();
    for (let round = 0; round < BATCH_GET_ROUNDS && keys.length > 0; round += 1) {
      const result = await this.call(
        this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        ),
      );
      for (const found of result.Responses?.[this.tableName] ?? []) {
        if (found.sk === META_SK) meta = parseMeta(found);
        else {
          const item = parseVersion(found);
          items.set(item.version, item);
        }
      }
      keys = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      // Unprocessed keys mean throttling: back off before asking again, as the SDK would.
      if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));
    }
    if (keys.length > 0) {
      throw dynamoDbUnavailable('BatchGetItem', 'secret store', new Error('Keys left unprocessed'));
    }
    return { meta, items };
  }

  private async readMeta(pk: string): Promise<MetaItem | undefined> {
    const { Item } = await this.call(
      this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk, sk: META_SK }, ConsistentRead: true }),
      ),
    );
    return Item === undefined ? undefined : parseMeta(Item);
  }

  private async readVersionItem(pk: string, version: number): Promise<VersionItem | undefined> {
    const { Item } = await this.call(
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk, sk: DynamoDbSecretStore.versionSortKey(version) },
          ConsistentRead: true,
        }),
      ),
    );
    return Item === undefined ? undefined : parseVersion(Item);
  }

  /** The highest version item (the truth about "latest"), with or without its envelope. */
  private async latestVersionItem(pk: string, withEnvelope: boolean): Promise<VersionItem | undefined> {
    const { Items } = await this.call(
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': VERSION_PREFIX },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
          ...(withEnvelope
            ? {}
            : {
                ProjectionExpression: '#version, #createdTime, #createdBy',
                ExpressionAttributeNames: {
                  '#version': 'version',
                  '#createdTime': 'createdTime',
                  '#createdBy': 'createdBy',
                },
              }),
        }),
      ),
    );
    const item = Items?.[0];
    return item === undefined ? undefined : parseVersion(item);
  }

  private async deleteAllVersionItems(pk: string): Promise<void> {
    await this.deleteVersionItemsBelow(pk, 10 ** VERSION_DIGITS);
  }

  /** Deletes every version item numbered below `bound`, page by page. */
  private async deleteVersionItemsBelow(pk: string, bound: number): Promise<void> {
    // Each page's items are deleted before the next page is read.
    for await (const page of this.versionItemPages(pk, 0, bound - 1, 'pk, sk')) {
      const sortKeys = (page.Items ?? [])
        .map((item): unknown => item.sk)
        .filter((sk): sk is string => typeof sk === 'string');
      await this.deleteItems(pk, sortKeys);
    }
  }

  /** The version items of one secret numbered `first` to `last`, page by page (consistent reads). */
  private versionItemPages(pk: string, first: number, last: number, projection?: string) {
    return queryPages(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':first': DynamoDbSecretStore.versionSortKey(first),
          ':last': DynamoDbSecretStore.versionSortKey(last),
        },
        ...(projection === undefined ? {} : { ProjectionExpression: projection }),
        ConsistentRead: true,
      },
      'secret store',
    );
  }

  private async deleteItems(pk: string, sortKeys: readonly string[]): Promise<void> {
    await inBatches(sortKeys, DELETE_BATCH, async (sk) => {
      await this.call(this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk } })));
    });
  }

  /**
   * Anything DynamoDB threw but a lost condition (which the caller decides about) fails the
   * request closed with a 503 and Retry-After, through the one translation every table uses.
   */
  private async call<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) throw error;
      throw dynamoDbUnavailable('call', 'secret store', error);
    }
  }
}

/**
 * The `REMOVE` clause that takes the `stale` version entries out of the metadata item's
 * `versions` map (empty when there are none); adds their attribute names to `names`.
 */
function staleRemoval(stale: readonly string[], names: Record<string, string>): string {
  stale.forEach((key, index) => (names[`#p${index}`] = key));
  return stale.length > 0 ? `REMOVE ${stale.map((_, index) => `#versions.#p${index}`).join(', ')}` : '';
}

function isConditionFailed(error: unknown): boolean {
  return isConditionalCheckFailed(error);
}

function parseMeta(item: Record<string, unknown> | undefined): MetaItem {
  const result = MetaItem.safeParse(item);
  if (!result.success) {
    throw new Error('A secret metadata item is malformed', { cause: result.error });
  }
  return result.data;
}

function parseVersion(item: Record<string, unknown>): VersionItem {
  const result = VersionItem.safeParse(item);
  if (!result.success) throw new Error('A secret version item is malformed', { cause: result.error });
  return result.data;
}

/**
 * The version numbers pruning below `floor` takes away from `meta`: every number from its old
 * `oldestVersion` (1 before the first prune) up to `floor`, and any entry the metadata still
 * held below it. Deleted by key, so pruning costs no Query.
 */
function purgeable(meta: MetaItem, floor: number): number[] {
  const numbers = new Set(versionsBelow(meta, floor).map(Number));
  for (let version = Math.max(1, meta.oldestVersion); version < floor; version += 1) numbers.add(version);
  return [...numbers].sort((a, b) => a - b);
}

/** The metadata item of a record the store returned (the caller hands it back to spare a read). */
function metaItemOf(record: SecretMetadataRecord): MetaItem {
  return {
    currentVersion: record.currentVersion,
    oldestVersion: record.oldestVersion,
    maxVersions: record.maxVersions,
    casRequired: record.casRequired,
    customMetadata: { ...record.customMetadata },
    createdTime: record.createdTime,
    updatedTime: record.updatedTime,
    versions: Object.fromEntries(
      Object.entries(record.versions).map(([key, state]) => [
        key,
        {
          createdTime: state.createdTime,
          createdBy: state.createdBy,
          destroyed: state.destroyed,
          ...(state.deletionTime === undefined ? {} : { deletionTime: state.deletionTime }),
        },
      ]),
    ),
  };
}

function toVersionRecord(item: VersionItem): VersionRecord {
  return {
    version: item.version,
    envelope: item.envelope === undefined ? undefined : storedEnvelope(item.envelope),
    createdTime: item.createdTime,
    createdBy: item.createdBy,
  };
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  each: (item: T) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map(each));
  }
}
