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
 *       first (conditionally, forward only), then delete the version items below it.
 * The next number comes from the metadata's `currentVersion`; a lost race in (a) re-reads the
 * latest version item (Query `v#` descending, Limit 1) and retries with bounded, jittered
 * backoff, sealing again for the new number. Check-and-set writes exactly `cas + 1`, so the put
 * in (a) is the check.
 *
 * Crashes between steps: after (a) and before (b) the metadata lags behind a version item.
 * Whoever next reads the latest version, the metadata or that version, or loses a race on a
 * number, records it (step (b) is idempotent), so the lagging state heals and the version is
 * never lost. After (c)'s metadata update and before the deletes, items below `oldestVersion`
 * linger; they are garbage by definition (never read) and the next prune deletes them.
 *
 * Number reuse: a pruned number's item is deleted, so a writer stalled across `maxVersions`
 * other writes could put `v#n` again. Step (b) refuses any `n < oldestVersion`, and the writer
 * deletes that item and retries (or, with cas, reports a conflict), so no version number ever
 * names two values.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { ConflictError, DependencyUnavailableError, ValidationError } from '../../core/errors.js';
import { type Envelope, EnvelopeSchema } from '../../core/secrets/envelope.js';
import { EnvelopeIntegrityError } from '../../core/secrets/keyring.js';
import type { EnvelopeRewrapStore, StoredEnvelope } from '../../core/secrets/rewrap.js';
import {
  type SecretPath,
  type SecretPrefix,
  secretPathSegmentProblem,
} from '../../core/secrets/secret-path.js';
import {
  DEFAULT_MAX_VERSIONS,
  type MetadataSettings,
  type NewVersionRequest,
  type PathListing,
  type PathPage,
  type SecretMetadataRecord,
  type SecretStore,
  type VersionRecord,
} from '../../core/secrets/secret-store.js';

export const SECRETS_LIST_INDEX = 'byTenantPath';

export interface DynamoDbSecretStoreOptions {
  /** Attempts at a version number before a write without cas gives up (409). Default 100. */
  readonly maxWriteAttempts?: number;
  /** Full-jitter backoff between attempts: random in [0, min(capMs, baseMs * 2^attempt)]. */
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  readonly random?: () => number;
}

const META_SK = 'meta';
const VERSION_PREFIX = 'v#';
const VERSION_DIGITS = 10;
/** Attempts at recording one version in a metadata item that keeps changing under us. */
const MAX_METADATA_ATTEMPTS = 25;
/** Deletes sent at once when removing version items. */
const DELETE_BATCH = 25;
/** Valid path characters all sort between these two (`-` is the lowest, `~` above `z`). */
const LOWEST_PATH_CHAR = '-';
const ABOVE_PATH_CHARS = '~';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

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
});
type MetaItem = z.infer<typeof MetaItem>;

const VersionItem = z.object({
  version: z.number().int().positive(),
  envelope: z.unknown().optional(),
  createdTime: z.string(),
  createdBy: z.string(),
});
type VersionItem = z.infer<typeof VersionItem>;

const Cursor = z.strictObject({ p: z.string(), after: z.string().min(1) });

interface Snapshot {
  readonly meta: MetaItem | undefined;
  /** Highest version known to exist (from the metadata, or a newer version item). */
  readonly latest: number;
  /** Whether `latest` was checked against the version items, not only the metadata. */
  readonly verified: boolean;
}

export class DynamoDbSecretStore implements SecretStore, EnvelopeRewrapStore {
  private readonly maxWriteAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly random: () => number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbSecretStoreOptions = {},
  ) {
    this.maxWriteAttempts = options.maxWriteAttempts ?? 100;
    this.backoffBaseMs = options.backoffBaseMs ?? 2;
    this.backoffCapMs = options.backoffCapMs ?? 100;
    this.random = options.random ?? Math.random;
  }

  static partitionKey(tenant: string, path: string): string {
    return `${tenant}#${path}`;
  }

  static versionSortKey(version: number): string {
    return `${VERSION_PREFIX}${String(version).padStart(VERSION_DIGITS, '0')}`;
  }

  async getMetadata(tenant: string, path: SecretPath): Promise<SecretMetadataRecord | undefined> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    const [meta, latest] = await Promise.all([this.readMeta(pk), this.latestVersionItem(pk, false)]);
    if (latest !== undefined && needsRecording(meta, latest.version)) {
      const recorded = await this.record(tenant, path, latest, meta);
      return toRecord(tenant, path, recorded.meta);
    }
    return meta === undefined ? undefined : toRecord(tenant, path, meta);
  }

  async getVersion(
    tenant: string,
    path: SecretPath,
    version: number | 'latest',
  ): Promise<{ record: VersionRecord; metadata: SecretMetadataRecord } | undefined> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    const [meta, item] = await Promise.all([
      this.readMeta(pk),
      version === 'latest' ? this.latestVersionItem(pk, true) : this.readVersionItem(pk, version),
    ]);
    if (item === undefined) return undefined;
    let current = meta;
    if (needsRecording(meta, item.version)) {
      const recorded = await this.record(tenant, path, item, meta);
      if (!recorded.accepted) return undefined;
      current = recorded.meta;
    }
    if (current === undefined || item.version < current.oldestVersion) return undefined;
    return { record: toVersionRecord(item), metadata: toRecord(tenant, path, current) };
  }

  async putNewVersion(
    request: NewVersionRequest,
  ): Promise<{ version: number; metadata: SecretMetadataRecord }> {
    const { tenant, path, cas } = request;
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    let snapshot = await this.snapshot(tenant, path, false);
    for (let attempt = 1; attempt <= this.maxWriteAttempts; attempt += 1) {
      if (cas !== undefined) {
        // The metadata may lag behind a version item after a crash; look before refusing.
        if (cas > snapshot.latest && !snapshot.verified) snapshot = await this.snapshot(tenant, path, true);
        if (cas !== snapshot.latest) throw casConflict(cas, snapshot.latest);
      }
      const version = (cas ?? snapshot.latest) + 1;
      const item: VersionItem = {
        version,
        envelope: await request.seal(version),
        createdTime: request.now,
        createdBy: request.createdBy,
      };
      if (await this.putVersionItem(pk, item)) {
        const recorded = await this.record(tenant, path, item, snapshot.meta);
        if (recorded.accepted) {
          const pruned = await this.prune(pk, recorded.meta);
          return { version, metadata: toRecord(tenant, path, pruned) };
        }
        // The number had been pruned: this item reused it, so it must go.
        await this.deleteItems(pk, [DynamoDbSecretStore.versionSortKey(version)]);
      }
      if (cas !== undefined) throw casConflict(cas, version);
      await this.pause(attempt);
      snapshot = await this.snapshot(tenant, path, true);
    }
    throw new ConflictError('Too many concurrent writers to this secret; retry the write', {
      details: { path, reason: 'contention' },
    });
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
    };
    const values: Record<string, unknown> = {
      ':now': now,
      ':zero': 0,
      ':empty': {},
      ':tenant': tenant,
      ':path': path,
      ':max': settings.maxVersions ?? DEFAULT_MAX_VERSIONS,
      ':cas': settings.casRequired ?? false,
      ':custom': settings.customMetadata ?? {},
    };
    const assign = (name: string, given: boolean): string =>
      given ? `${name} = :${name.slice(1)}` : `${name} = if_not_exists(${name}, :${name.slice(1)})`;
    const updated = await this.call(
      this.client.send(
        new UpdateCommand({
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
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const meta = parseMeta(updated.Attributes);
    return toRecord(tenant, path, await this.prune(pk, meta));
  }

  async listPaths(tenant: string, prefix: SecretPrefix, page: PathPage): Promise<PathListing> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor, prefix);
    const upper = `${prefix}${ABOVE_PATH_CHARS}`;
    let lower = after === undefined ? `${prefix}${LOWEST_PATH_CHAR}` : `${prefix}${successor(after)}`;
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
        const child = childOf(listed.slice(prefix.length));
        if (keys[keys.length - 1] !== child) keys.push(child);
      }
      const last = keys[keys.length - 1];
      if (result.LastEvaluatedKey === undefined || last === undefined) break;
      lower = `${prefix}${successor(last)}`;
    }
    const more = keys.length > page.limit;
    const shown = keys.slice(0, page.limit);
    const final = shown[shown.length - 1];
    return { keys: shown, cursor: more && final !== undefined ? encodeCursor(prefix, final) : undefined };
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
    // The value goes first: once this returns, no envelope of these versions is left, whatever
    // happens to the metadata update after it.
    await inBatches(versions, DELETE_BATCH, async (version) => {
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
    await this.updateVersionEntries(tenant, path, versions, {
      clause: (entry) => ({ set: `${entry}.#destroyed = :true` }),
      names: { '#destroyed': 'destroyed' },
      values: { ':true': true },
    });
  }

  async deleteSecret(tenant: string, path: SecretPath): Promise<void> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    // Versions first, metadata last: a crash half-way leaves the metadata (and a retry finds
    // the secret again), never version items without metadata, which a read would adopt.
    await this.deleteAllVersionItems(pk);
    await this.call(
      this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk: META_SK } })),
    );
    // A version a concurrent writer put in between would otherwise outlive the delete.
    await this.deleteAllVersionItems(pk);
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
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.call(
        this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            IndexName: SECRETS_LIST_INDEX,
            ProjectionExpression: '#listPk',
            ExpressionAttributeNames: { '#listPk': 'listPk' },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) if (typeof item.listPk === 'string') found.add(item.listPk);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
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
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.call(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
            ExpressionAttributeValues: {
              ':pk': pk,
              ':first': DynamoDbSecretStore.versionSortKey(afterVersion + 1),
              ':last': DynamoDbSecretStore.versionSortKey(10 ** VERSION_DIGITS - 1),
            },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const raw of page.Items ?? []) {
        const item = parseVersion(raw);
        if (item.envelope === undefined) continue;
        into.push({ path, version: item.version, envelope: toEnvelope(item.envelope) });
        added += 1;
        if (added >= room) return true;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
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
      const names: Record<string, string> = { '#versions': 'versions', ...update.names };
      const sets: string[] = [];
      const removes: string[] = [];
      const conditions: string[] = [];
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
      if (meta === undefined) return;
      targets = targets.filter(
        (version) => version >= meta.oldestVersion && meta.versions[String(version)] !== undefined,
      );
    }
    if (targets.length > 0) {
      throw new ConflictError('This secret kept changing during the update; retry', { details: { path } });
    }
  }

  /**
   * The metadata and the highest version known. `verify` also reads the latest version item
   * (and records it if the metadata lags), which a write needs after losing a race.
   */
  private async snapshot(tenant: string, path: SecretPath, verify: boolean): Promise<Snapshot> {
    const pk = DynamoDbSecretStore.partitionKey(tenant, path);
    if (!verify) {
      const meta = await this.readMeta(pk);
      return { meta, latest: meta?.currentVersion ?? 0, verified: false };
    }
    const [meta, latest] = await Promise.all([this.readMeta(pk), this.latestVersionItem(pk, false)]);
    let current = meta;
    if (latest !== undefined && needsRecording(meta, latest.version)) {
      current = (await this.record(tenant, path, latest, meta)).meta;
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
    const entry = { createdTime: item.createdTime, createdBy: item.createdBy, destroyed: false };
    let meta = known;
    for (let attempt = 0; attempt < MAX_METADATA_ATTEMPTS; attempt += 1) {
      try {
        if (meta === undefined) {
          const created: MetaItem = {
            currentVersion: item.version,
            oldestVersion: 0,
            maxVersions: DEFAULT_MAX_VERSIONS,
            casRequired: false,
            customMetadata: {},
            createdTime: item.createdTime,
            updatedTime: item.createdTime,
            versions: { [key]: entry },
          };
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
        if (item.version < meta.oldestVersion) return { accepted: false, meta };
        if (meta.versions[key] !== undefined) return { accepted: true, meta };
        const advancing = meta.currentVersion < item.version;
        const updated = await this.call(
          this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk, sk: META_SK },
              UpdateExpression: advancing
                ? 'SET #current = :version, #updated = :time, #versions.#key = :entry'
                : 'SET #versions.#key = :entry',
              ConditionExpression: advancing
                ? 'attribute_exists(pk) AND #current < :version'
                : 'attribute_exists(pk) AND #oldest <= :version AND attribute_not_exists(#versions.#key)',
              ExpressionAttributeNames: {
                '#versions': 'versions',
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
    throw new ConflictError('This secret kept changing while a version was recorded; retry', {
      details: { path },
    });
  }

  /** Step (c): raises `oldestVersion` to keep `maxVersions`, then deletes the items below it. */
  private async prune(pk: string, meta: MetaItem): Promise<MetaItem> {
    const floor = meta.currentVersion - meta.maxVersions + 1;
    if (floor <= 1 || floor <= meta.oldestVersion) return meta;
    const stale = Object.keys(meta.versions).filter((key) => Number(key) < floor);
    const names: Record<string, string> = { '#oldest': 'oldestVersion', '#versions': 'versions' };
    stale.forEach((key, index) => (names[`#p${index}`] = key));
    let pruned = meta;
    try {
      const updated = await this.call(
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk, sk: META_SK },
            UpdateExpression: [
              'SET #oldest = :floor',
              stale.length > 0 ? `REMOVE ${stale.map((_, index) => `#versions.#p${index}`).join(', ')}` : '',
            ]
              .join(' ')
              .trim(),
            ConditionExpression: 'attribute_exists(pk) AND #oldest < :floor',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':floor': floor },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      pruned = parseMeta(updated.Attributes);
    } catch (error: unknown) {
      if (!isConditionFailed(error)) throw error;
      // Someone pruned further (or deleted the secret) first.
      pruned = (await this.readMeta(pk)) ?? meta;
    }
    await this.deleteVersionItemsBelow(pk, Math.max(floor, pruned.oldestVersion));
    return pruned;
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
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.call(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
            ExpressionAttributeValues: {
              ':pk': pk,
              ':first': DynamoDbSecretStore.versionSortKey(0),
              ':last': DynamoDbSecretStore.versionSortKey(bound - 1),
            },
            ProjectionExpression: 'pk, sk',
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      const sortKeys = (page.Items ?? [])
        .map((item): unknown => item.sk)
        .filter((sk): sk is string => typeof sk === 'string');
      await this.deleteItems(pk, sortKeys);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  private async deleteItems(pk: string, sortKeys: readonly string[]): Promise<void> {
    await inBatches(sortKeys, DELETE_BATCH, async (sk) => {
      await this.call(this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk } })));
    });
  }

  private pause(attempt: number): Promise<void> {
    const ceiling = Math.min(this.backoffCapMs, this.backoffBaseMs * 2 ** Math.min(attempt, 16));
    return new Promise((resolve) => setTimeout(resolve, Math.floor(this.random() * ceiling)));
  }

  /** DynamoDB throttling fails the request with a 503 and Retry-After; other errors pass through. */
  private async call<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error: unknown) {
      if (error instanceof Error && THROTTLING.has(error.name)) {
        throw new DependencyUnavailableError('The secret store is throttled; retry shortly', 1, {
          cause: error,
        });
      }
      throw error;
    }
  }
}

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Whether a version item exists that the metadata does not record yet (a write that crashed or is in flight). */
function needsRecording(meta: MetaItem | undefined, version: number): boolean {
  return (
    meta === undefined || (version >= meta.oldestVersion && meta.versions[String(version)] === undefined)
  );
}

function casConflict(cas: number, current: number): ConflictError {
  return new ConflictError(
    cas === 0
      ? 'check-and-set failed: the secret already exists'
      : `check-and-set failed: expected version ${cas} to be current`,
    { details: { cas, reason: 'cas-mismatch', ...(current < cas ? { currentVersion: current } : {}) } },
  );
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

function toVersionRecord(item: VersionItem): VersionRecord {
  return {
    version: item.version,
    envelope: item.envelope === undefined ? undefined : toEnvelope(item.envelope),
    createdTime: item.createdTime,
    createdBy: item.createdBy,
  };
}

function toEnvelope(stored: unknown): Envelope {
  const result = EnvelopeSchema.safeParse(stored);
  if (!result.success) {
    throw new EnvelopeIntegrityError('A stored secret envelope is malformed', {
      cause: result.error,
      details: { fields: result.error.issues.map((issue) => issue.path.join('.')) },
    });
  }
  return result.data;
}

function toRecord(tenant: string, path: SecretPath, meta: MetaItem): SecretMetadataRecord {
  const versions = Object.fromEntries(
    Object.entries(meta.versions)
      .filter(([key]) => Number(key) >= meta.oldestVersion)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([key, state]) => [
        key,
        {
          createdTime: state.createdTime,
          createdBy: state.createdBy,
          deletionTime: state.deletionTime,
          destroyed: state.destroyed,
        },
      ]),
  );
  return {
    tenant,
    path,
    currentVersion: meta.currentVersion,
    oldestVersion: meta.oldestVersion,
    maxVersions: meta.maxVersions,
    casRequired: meta.casRequired,
    customMetadata: meta.customMetadata,
    createdTime: meta.createdTime,
    updatedTime: meta.updatedTime,
    versions,
  };
}

/** The immediate child of a prefix that a path below it falls under: `name` or `name/`. */
function childOf(rest: string): string {
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash + 1);
}

/**
 * The lowest string above a child and everything under it, among valid paths: `name-` after a
 * secret `name` (`-` is the lowest path character), `name0` after a folder `name/` (`0` follows `/`).
 */
function successor(child: string): string {
  return child.endsWith('/') ? `${child.slice(0, -1)}0` : `${child}${LOWEST_PATH_CHAR}`;
}

function encodeCursor(prefix: SecretPrefix, after: string): string {
  return Buffer.from(JSON.stringify({ p: prefix, after }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, prefix: SecretPrefix): string {
  const invalid = () =>
    new ValidationError('The list cursor is invalid; pass back the cursor of the previous page unchanged', {
      details: { cursor: 'invalid' },
    });
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.toString('base64url') !== cursor) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error: unknown) {
    throw new ValidationError('The list cursor is invalid', { cause: error, details: { cursor: 'invalid' } });
  }
  const result = Cursor.safeParse(parsed);
  if (!result.success || result.data.p !== prefix) throw invalid();
  const { after } = result.data;
  const segment = after.endsWith('/') ? after.slice(0, -1) : after;
  if (secretPathSegmentProblem(segment, 1) !== undefined) throw invalid();
  return after;
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
