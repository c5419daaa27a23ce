/**
 * The Secrets Manager `SecretStore`: one Secrets Manager secret per VaultPilot path, named
 * `<prefix><tenant>/<path>` (prefix `vaultpilot/` by default). See docs/secrets-manager-backend.md.
 *
 * Versions of the Secrets Manager secret are of two kinds, told apart by their SecretString:
 * - value version: `{"kind":"value","version":n,"createdTime","createdBy","envelope"}`. Its
 *   VersionId (the `ClientRequestToken`) is a UUID derived from (tenant, path, n) and it carries
 *   the staging label `v<n>`; the latest one also carries `AWSCURRENT` (Secrets Manager moves
 *   `AWSPREVIOUS` itself). The value is our sealed envelope, so it is encrypted twice: by
 *   Secrets Manager's KMS key and by our envelope. We keep our envelope because it is the one
 *   sealing code path for both backends (one data-key cache, one integrity
 *   check), and because its AAD binds tenant, path and version: Secrets Manager's own
 *   encryption context names only the secret, so a value copied between versions would
 *   otherwise go unnoticed, and a version destroyed here stays sealed under our key.
 * - metadata version: `{"kind":"metadata","generation":g,...}` with the staging label
 *   `vp-meta`: settings, custom metadata and the per-version state (times, actors, deletion,
 *   destroyed). Not the Description (2,048 characters, no condition on UpdateSecret) nor tags
 *   (50 of 256 characters, no condition either): 64 custom keys of 512 characters and up to
 *   16 versions with 1 KiB actors do not fit there, and concurrent metadata updates need a
 *   compare-and-set, which only PutSecretValue's token gives.
 *
 * Check-and-set comes from the deterministic `ClientRequestToken`: PutSecretValue with a token
 * that already names a version succeeds without effect if the SecretString is the same (a
 * retry) and fails with ResourceExistsException if it differs (another writer took that
 * number; our envelopes never repeat, the IV is random). A new version is therefore:
 *   (a) PutSecretValue of value version n (token(n), label `v<n>`): of two writers of n, one wins;
 *   (b) record n in the metadata: PutSecretValue of metadata generation g+1 (token(meta, g+1)),
 *       with pruning of versions beyond `maxVersions` folded into the same update;
 *   (c) remove the `v<k>` labels of pruned versions and move `AWSCURRENT` onto n (best effort,
 *       guarded by `RemoveFromVersionId` so a slower writer never moves it back).
 * A crash after (a) leaves a labelled value version the metadata does not record; the next
 * writer collides on token(n), reads the labels with DescribeSecret and records it first.
 *
 * The KV v2 rules (check-and-set, the next number, recording, pruning, version states, cursors)
 * are `core/secrets/kv-rules.ts`; this store only persists what they decide.
 *
 * What does not map (details in the doc):
 * - destroy cannot erase one version's value: Secrets Manager has no per-version delete. We
 *   remove the `v<n>` label and mark the version destroyed in the metadata, so we refuse to
 *   read it, but the ciphertext stays in Secrets Manager (still sealed by our envelope) until
 *   it deprecates the unlabelled version (more than 100 versions, older than 24 hours), and
 *   longer if `AWSCURRENT`/`AWSPREVIOUS` still sit on it. Pruning is the same.
 * - staging labels are capped at 20 per secret, so at most 16 retained versions here (20
 *   minus `AWSCURRENT`, `AWSPREVIOUS`, `vp-meta` and one write in flight): `maxVersions` above
 *   `maxVersionsCap` is refused. Each write creates two Secrets Manager versions, and Secrets
 *   Manager refuses new versions past ~100 younger than 24 hours (LimitExceededException, 503).
 * - a SecretString holds 65,536 bytes: a value whose envelope is bigger is refused (413).
 * - listing reads every secret under the prefix (ListSecrets is unsorted, eventually
 *   consistent and its name filter is case-insensitive), then sorts and pages here.
 */
import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { DependencyUnavailableError, PayloadTooLargeError, ValidationError } from '../../core/errors.js';
import { EnvelopeIntegrityError } from '../../core/secrets/keyring.js';
import {
  backoffMs,
  checkMaxVersions,
  compareKeys,
  decodeListCursor,
  immediateChild,
  initialMetadata,
  keptChanging,
  listPage,
  MAX_METADATA_ATTEMPTS,
  type MetadataState,
  metadataRecord,
  needsRecording,
  pruned,
  readableVersion,
  recordDecision,
  storedEnvelope,
  type VersionStateChange,
  withSettings,
  withVersion,
  withVersionStates,
  type WriteRetryPolicy,
  type WriteSnapshot,
  writeNewVersion,
} from '../../core/secrets/kv-rules.js';
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

export const DEFAULT_SECRET_NAME_PREFIX = 'vaultpilot/';
/** Staging label of the metadata version. */
export const METADATA_STAGE = 'vp-meta';
/** 20 labels per secret minus AWSCURRENT, AWSPREVIOUS, vp-meta and one write in flight. */
export const SECRETS_MANAGER_MAX_VERSIONS = 16;
/** Secrets Manager's limit on a SecretString, in bytes. */
export const SECRET_STRING_MAX_BYTES = 65_536;

export interface SecretsManagerSecretStoreOptions extends WriteRetryPolicy {
  /** Prepended to `<tenant>/<path>`; default `vaultpilot/`. */
  readonly namePrefix?: string;
  /** KMS key Secrets Manager encrypts new secrets with; default its `aws/secretsmanager` key. */
  readonly kmsKeyId?: string;
  /** Highest `maxVersions` accepted; default (and at most) 16. */
  readonly maxVersionsCap?: number;
}

const NAME_CHARACTERS = /^[A-Za-z0-9/_+=.@-]*$/;
const TENANT_CHARACTERS = /^[A-Za-z0-9_+=.@-]+$/;
const MAX_NAME_LENGTH = 512;
const CURRENT_STAGE = 'AWSCURRENT';
const VERSION_STAGE = /^v([1-9][0-9]{0,15})$/;
/** Namespace of the name-based (v5) UUIDs we use as ClientRequestTokens. */
const TOKEN_NAMESPACE = Buffer.from('6f1d1c9e4b7a4f7f9c2e5d3b8a1f0e27', 'hex');

/** Retry-After seconds per Secrets Manager error worth failing closed with a 503. */
const UNAVAILABLE: Readonly<Record<string, number>> = {
  ThrottlingException: 1,
  InternalServiceError: 5,
  LimitExceededException: 60,
};

const VersionStateJson = z.object({
  createdTime: z.string(),
  createdBy: z.string(),
  deletionTime: z.string().optional(),
  destroyed: z.boolean(),
});

const MetadataJson = z.object({
  kind: z.literal('metadata'),
  generation: z.number().int().positive(),
  currentVersion: z.number().int().min(0),
  oldestVersion: z.number().int().min(0),
  maxVersions: z.number().int().min(1),
  casRequired: z.boolean(),
  customMetadata: z.record(z.string(), z.string()),
  createdTime: z.string(),
  updatedTime: z.string(),
  versions: z.record(z.string(), VersionStateJson),
});
type MetadataJson = z.infer<typeof MetadataJson>;

const ValueJson = z.object({
  kind: z.literal('value'),
  version: z.number().int().positive(),
  createdTime: z.string(),
  createdBy: z.string(),
  envelope: z.unknown(),
});
type ValueJson = z.infer<typeof ValueJson>;

interface Labels {
  /** Our version number to Secrets Manager VersionId, from the `v<n>` labels. */
  readonly versions: ReadonlyMap<number, string>;
  /** VersionId holding AWSCURRENT. */
  readonly current: string | undefined;
}

export class SecretsManagerSecretStore implements SecretStore {
  private readonly prefix: string;
  private readonly maxVersionsCap: number;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly options: SecretsManagerSecretStoreOptions = {},
  ) {
    this.prefix = options.namePrefix ?? DEFAULT_SECRET_NAME_PREFIX;
    if (!NAME_CHARACTERS.test(this.prefix) || this.prefix.length > 256) {
      throw new Error('The Secrets Manager name prefix may only use A-Z a-z 0-9 / _ + = . @ -');
    }
    this.maxVersionsCap = Math.min(options.maxVersionsCap ?? SECRETS_MANAGER_MAX_VERSIONS, 100);
  }

  /** The Secrets Manager secret name of a path: `<prefix><tenant>/<path>`. */
  secretName(tenant: string, path: string): string {
    if (!TENANT_CHARACTERS.test(tenant)) {
      throw new ValidationError('This tenant id cannot name a Secrets Manager secret', {
        details: { tenant: 'invalid-characters' },
      });
    }
    const name = `${this.prefix}${tenant}/${path}`;
    if (name.length > MAX_NAME_LENGTH) {
      throw new ValidationError(`Secrets Manager secret names are at most ${MAX_NAME_LENGTH} characters`, {
        details: { path, maxLength: MAX_NAME_LENGTH - this.prefix.length - tenant.length - 1 },
      });
    }
    return name;
  }

  /** VersionId (ClientRequestToken) of value version `n`: the same on every retry and writer. */
  static valueVersionId(tenant: string, path: string, version: number): string {
    return nameBasedUuid(`value\0${tenant}\0${path}\0${version}`);
  }

  static metadataVersionId(tenant: string, path: string, generation: number): string {
    return nameBasedUuid(`metadata\0${tenant}\0${path}\0${generation}`);
  }

  async getMetadata(tenant: string, path: SecretPath): Promise<SecretMetadataRecord | undefined> {
    const meta = await this.readMeta(this.secretName(tenant, path));
    return meta === undefined ? undefined : metadataRecord(tenant, path, meta);
  }

  async getVersion(
    tenant: string,
    path: SecretPath,
    version: number | 'latest',
  ): Promise<{ record: VersionRecord; metadata: SecretMetadataRecord } | undefined> {
    const name = this.secretName(tenant, path);
    const meta = await this.readMeta(name);
    if (meta === undefined) return undefined;
    const readable = readableVersion(meta, version);
    if (readable === undefined) return undefined;
    const { version: wanted, state } = readable;
    const metadata = metadataRecord(tenant, path, meta);
    if (state.destroyed) {
      // The ciphertext may still be in Secrets Manager; we never hand it out.
      const record = { version: wanted, envelope: undefined, ...pick(state) };
      return { record, metadata };
    }
    const value = await this.readValue(name, wanted);
    if (value === undefined) return undefined;
    const record = {
      version: wanted,
      envelope: storedEnvelope(value.envelope),
      createdTime: value.createdTime,
      createdBy: value.createdBy,
    };
    return { record, metadata };
  }

  async putNewVersion(
    request: NewVersionRequest,
  ): Promise<{ version: number; metadata: SecretMetadataRecord }> {
    const { tenant, path } = request;
    const name = this.secretName(tenant, path);
    const head = (version: number) => ({ version, createdTime: request.now, createdBy: request.createdBy });
    return writeNewVersion(
      path,
      request.cas,
      {
        snapshot: async (verify): Promise<WriteSnapshot<MetadataJson>> => {
          const read = await this.readMeta(name);
          const meta = verify ? await this.adoptUnrecorded(tenant, path, read) : read;
          return { meta, latest: meta?.currentVersion ?? 0, verified: verify };
        },
        claim: async (version) =>
          this.putValue(tenant, path, {
            kind: 'value',
            ...head(version),
            envelope: await request.seal(version),
          }),
        record: (version, snapshot) => this.record(tenant, path, head(version), snapshot.meta),
        // The number had been pruned and a stalled write reused it: take the label back off.
        release: (version) => this.removeVersionLabels(name, [version]),
        settle: async (version, meta) => {
          await this.tidyLabels(tenant, path, meta, version);
          return metadataRecord(tenant, path, meta);
        },
      },
      this.options,
    );
  }

  async putMetadata(
    tenant: string,
    path: SecretPath,
    settings: MetadataSettings,
    now: string,
  ): Promise<SecretMetadataRecord> {
    checkMaxVersions(settings, this.maxVersionsCap, "Secrets Manager's staging-label quota");
    const meta = await this.updateMeta(tenant, path, undefined, (current) =>
      withSettings(current ?? initialMetadata(now), settings, now),
    );
    if (meta === undefined) throw new Error('Metadata update produced nothing');
    await this.tidyLabels(tenant, path, meta, undefined);
    return metadataRecord(tenant, path, meta);
  }

  async listPaths(tenant: string, prefix: SecretPrefix, page: PathPage): Promise<PathListing> {
    const after = page.cursor === undefined ? undefined : decodeListCursor(page.cursor, prefix);
    const base = `${this.secretName(tenant, 'x').slice(0, -1)}${prefix}`;
    const children = new Set<string>();
    let nextToken: string | undefined;
    do {
      const result = await this.call(
        this.client.send(
          new ListSecretsCommand({
            Filters: [{ Key: 'name', Values: [base] }],
            MaxResults: 100,
            NextToken: nextToken,
          }),
        ),
      );
      for (const secret of result.SecretList ?? []) {
        // The name filter is a case-insensitive prefix match; only an exact prefix is ours.
        const name = secret.Name;
        if (name === undefined || !name.startsWith(base) || name.length === base.length) continue;
        children.add(immediateChild(name.slice(base.length)));
      }
      nextToken = result.NextToken;
    } while (nextToken !== undefined);
    const sorted = [...children].sort(compareKeys);
    const rest = after === undefined ? sorted : sorted.filter((key) => compareKeys(key, after) > 0);
    return listPage(prefix, rest.slice(0, page.limit + 1), page.limit);
  }

  async setDeletionTime(
    tenant: string,
    path: SecretPath,
    versions: readonly number[],
    deletionTime: string | undefined,
  ): Promise<void> {
    await this.updateVersionStates(tenant, path, versions, { kind: 'deletion-time', deletionTime });
  }

  /**
   * Secrets Manager cannot delete one version's value. This removes the `v<n>` label (so the
   * version is deprecated and Secrets Manager deletes it in its own time) and marks it destroyed,
   * so it is never read again through VaultPilot. The ciphertext stays until then.
   */
  async destroyVersions(tenant: string, path: SecretPath, versions: readonly number[]): Promise<void> {
    // Metadata first: once it says destroyed, reads refuse the version whatever happens next.
    await this.updateVersionStates(tenant, path, versions, { kind: 'destroyed' });
    await this.removeVersionLabels(this.secretName(tenant, path), versions);
  }

  async deleteSecret(tenant: string, path: SecretPath): Promise<void> {
    try {
      await this.call(
        this.client.send(
          new DeleteSecretCommand({
            SecretId: this.secretName(tenant, path),
            ForceDeleteWithoutRecovery: true,
          }),
        ),
      );
    } catch (error: unknown) {
      if (!hasName(error, 'ResourceNotFoundException')) throw error;
    }
  }

  /** Step (a). False when another writer holds the number. Creates the secret on first use. */
  private async putValue(tenant: string, path: SecretPath, body: ValueJson): Promise<boolean> {
    const secretString = serialize(body, 'value');
    const name = this.secretName(tenant, path);
    return this.putVersion(name, tenant, path, {
      ClientRequestToken: SecretsManagerSecretStore.valueVersionId(tenant, path, body.version),
      SecretString: secretString,
      VersionStages: [`v${body.version}`],
    });
  }

  private async putVersion(
    name: string,
    tenant: string,
    path: string,
    input: { ClientRequestToken: string; SecretString: string; VersionStages: string[] },
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await this.call(this.client.send(new PutSecretValueCommand({ SecretId: name, ...input })));
        return true;
      } catch (error: unknown) {
        if (hasName(error, 'ResourceExistsException')) return false;
        if (!hasName(error, 'ResourceNotFoundException') || attempt > 0) throw error;
      }
      await this.createSecret(name, tenant, path);
    }
    return false;
  }

  private async createSecret(name: string, tenant: string, path: string): Promise<void> {
    try {
      await this.call(
        this.client.send(
          new CreateSecretCommand({
            Name: name,
            Description: `VaultPilot secret ${path}: values are VaultPilot envelopes, metadata is version ${METADATA_STAGE}`,
            Tags: [
              { Key: 'vaultpilot:tenant', Value: tenant },
              { Key: 'vaultpilot:managed', Value: 'true' },
            ],
            ...(this.options.kmsKeyId === undefined ? {} : { KmsKeyId: this.options.kmsKeyId }),
          }),
        ),
      );
    } catch (error: unknown) {
      if (hasName(error, 'ResourceExistsException')) return;
      if (hasName(error, 'InvalidRequestException')) {
        // A secret of this name is still being deleted (deletion is asynchronous).
        throw new DependencyUnavailableError('This secret is still being deleted; retry shortly', 5, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * Step (b): records a value version in the metadata (creating it on the first version) and
   * prunes in the same update. Not accepted when the number is below `oldestVersion`.
   */
  private async record(
    tenant: string,
    path: SecretPath,
    value: Omit<ValueJson, 'envelope' | 'kind'>,
    known: MetadataJson | undefined,
  ): Promise<{ accepted: boolean; meta: MetadataJson }> {
    let accepted = true;
    const meta = await this.updateMeta(tenant, path, known, (current) => {
      const base = current ?? initialMetadata(value.createdTime);
      const decision = recordDecision(base, value);
      accepted = decision.kind !== 'pruned';
      // Pruning is folded into the same metadata version: one Secrets Manager version per write.
      return decision.kind === 'add' ? pruned(withVersion(base, value)) : undefined;
    });
    if (meta === undefined) throw new Error('A recorded secret has no metadata');
    return { accepted, meta };
  }

  /**
   * Compare-and-set on the metadata: writes generation g+1 under a token derived from it, so
   * of two updates of generation g one wins and the other re-reads and re-applies. `change`
   * returns undefined for "nothing to do". Returns the metadata in force afterwards.
   */
  private async updateMeta(
    tenant: string,
    path: SecretPath,
    known: MetadataJson | undefined,
    change: (current: MetadataState | undefined) => MetadataState | undefined,
  ): Promise<MetadataJson | undefined> {
    const name = this.secretName(tenant, path);
    let meta = known;
    for (let attempt = 0; attempt < MAX_METADATA_ATTEMPTS; attempt += 1) {
      const next = change(meta === undefined ? undefined : stateOf(meta));
      if (next === undefined) return meta;
      const generation = (meta?.generation ?? 0) + 1;
      const body: MetadataJson = { kind: 'metadata', generation, ...next };
      const written = await this.putVersion(name, tenant, path, {
        ClientRequestToken: SecretsManagerSecretStore.metadataVersionId(tenant, path, generation),
        SecretString: serialize(body, 'metadata'),
        VersionStages: [METADATA_STAGE],
      });
      if (written) return body;
      if (attempt > 0) await pause(attempt, this.options);
      meta = await this.readMeta(name);
    }
    throw keptChanging(path);
  }

  private async updateVersionStates(
    tenant: string,
    path: SecretPath,
    versions: readonly number[],
    change: VersionStateChange,
  ): Promise<void> {
    const known = await this.readMeta(this.secretName(tenant, path));
    if (known === undefined) return;
    await this.updateMeta(tenant, path, known, (current) =>
      current === undefined ? undefined : withVersionStates(current, versions, change),
    );
  }

  /**
   * Finds value versions that are labelled but not recorded (a writer crashed between steps
   * (a) and (b)) and records them, so the next number is really free.
   */
  private async adoptUnrecorded(
    tenant: string,
    path: SecretPath,
    known: MetadataJson | undefined,
  ): Promise<MetadataJson | undefined> {
    const name = this.secretName(tenant, path);
    const labels = await this.describeLabels(name);
    if (labels === undefined) return known;
    let meta = known;
    const pending = [...labels.versions.keys()].filter((n) => needsRecording(meta, n)).sort((a, b) => a - b);
    for (const version of pending) {
      const value = await this.readValue(name, version);
      if (value === undefined) continue;
      meta = (await this.record(tenant, path, value, meta)).meta;
    }
    return meta;
  }

  /** Step (c): drops the labels of pruned versions and moves AWSCURRENT forward. */
  private async tidyLabels(
    tenant: string,
    path: SecretPath,
    meta: MetadataJson,
    written: number | undefined,
  ): Promise<void> {
    const name = this.secretName(tenant, path);
    const labels = await this.describeLabels(name);
    if (labels === undefined) return;
    const stale = [...labels.versions.keys()].filter((n) => n < meta.oldestVersion);
    await this.removeVersionLabels(name, stale, labels);
    if (written === undefined || written < meta.currentVersion) return;
    const target = labels.versions.get(written);
    if (target === undefined || labels.current === target) return;
    const holder = [...labels.versions.entries()].find(([, id]) => id === labels.current)?.[0];
    if (holder !== undefined && holder > written) return;
    try {
      await this.call(
        this.client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: name,
            VersionStage: CURRENT_STAGE,
            MoveToVersionId: target,
            ...(labels.current === undefined ? {} : { RemoveFromVersionId: labels.current }),
          }),
        ),
      );
    } catch (error: unknown) {
      // Another writer moved AWSCURRENT since DescribeSecret; it moves it to its own (newer) version.
      if (!hasName(error, 'InvalidParameterException')) throw error;
    }
  }

  private async removeVersionLabels(
    name: string,
    versions: readonly number[],
    known?: Labels,
  ): Promise<void> {
    const labels = known ?? (await this.describeLabels(name));
    if (labels === undefined) return;
    for (const version of new Set(versions)) {
      const versionId = labels.versions.get(version);
      if (versionId === undefined) continue;
      try {
        await this.call(
          this.client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: name,
              VersionStage: `v${version}`,
              RemoveFromVersionId: versionId,
            }),
          ),
        );
      } catch (error: unknown) {
        // Already removed by a concurrent prune or destroy.
        if (!hasName(error, 'InvalidParameterException')) throw error;
      }
    }
  }

  private async describeLabels(name: string): Promise<Labels | undefined> {
    let described;
    try {
      described = await this.call(this.client.send(new DescribeSecretCommand({ SecretId: name })));
    } catch (error: unknown) {
      if (hasName(error, 'ResourceNotFoundException')) return undefined;
      throw error;
    }
    const versions = new Map<number, string>();
    let current: string | undefined;
    for (const [versionId, stages] of Object.entries(described.VersionIdsToStages ?? {})) {
      for (const stage of stages) {
        if (stage === CURRENT_STAGE) current = versionId;
        const match = VERSION_STAGE.exec(stage);
        if (match?.[1] !== undefined) versions.set(Number(match[1]), versionId);
      }
    }
    return { versions, current };
  }

  private async readMeta(name: string): Promise<MetadataJson | undefined> {
    const text = await this.readStage(name, METADATA_STAGE);
    return text === undefined ? undefined : parseJson(MetadataJson, text, 'metadata');
  }

  private async readValue(name: string, version: number): Promise<ValueJson | undefined> {
    const text = await this.readStage(name, `v${version}`);
    if (text === undefined) return undefined;
    const value = parseJson(ValueJson, text, 'value');
    if (value.version !== version) {
      throw new EnvelopeIntegrityError('A stored secret version is labelled with another version number', {
        details: { version },
      });
    }
    return value;
  }

  private async readStage(name: string, stage: string): Promise<string | undefined> {
    try {
      const result = await this.call(
        this.client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: stage })),
      );
      return result.SecretString;
    } catch (error: unknown) {
      // No such secret, or no version with this label (pruned, destroyed, no metadata yet).
      if (hasName(error, 'ResourceNotFoundException')) return undefined;
      throw error;
    }
  }

  /** Throttling, quota and internal errors fail the request with a 503 and Retry-After. */
  private async call<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error: unknown) {
      const retryAfter = error instanceof Error ? UNAVAILABLE[error.name] : undefined;
      if (error instanceof Error && retryAfter !== undefined) {
        throw new DependencyUnavailableError(
          `The secret store is unavailable (Secrets Manager: ${error.name}); retry shortly`,
          retryAfter,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

function hasName(error: unknown, name: string): boolean {
  // By name, not `instanceof`: the class may come from another copy of the SDK.
  return error instanceof Error && error.name === name;
}

/** A name-based UUID (RFC 9562 version 5): deterministic, and a valid ClientRequestToken. */
function nameBasedUuid(name: string): string {
  const hash = createHash('sha1').update(TOKEN_NAMESPACE).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function stateOf(meta: MetadataJson): MetadataState {
  const { kind: _kind, generation: _generation, ...state } = meta;
  return state;
}

function serialize(body: MetadataJson | ValueJson, what: string): string {
  const text = JSON.stringify(body);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > SECRET_STRING_MAX_BYTES) {
    throw new PayloadTooLargeError(
      `The Secrets Manager backend stores at most ${SECRET_STRING_MAX_BYTES} bytes per version; this ${what} needs ${bytes}`,
      { details: { maxBytes: SECRET_STRING_MAX_BYTES, bytes } },
    );
  }
  return text;
}

function parseJson<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error: unknown) {
    throw new Error(`A stored secret ${what} version is not JSON`, { cause: error });
  }
  const result = schema.safeParse(parsed);
  if (!result.success)
    throw new Error(`A stored secret ${what} version is malformed`, { cause: result.error });
  return result.data;
}

function pick(state: { createdTime: string; createdBy: string }): { createdTime: string; createdBy: string } {
  return { createdTime: state.createdTime, createdBy: state.createdBy };
}

function pause(attempt: number, policy: WriteRetryPolicy): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, policy)));
}
