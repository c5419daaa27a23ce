/**
 * The secret store's use cases with Vault KV v2 semantics: versioned writes with optional
 * check-and-set, reads of the latest or a given version, soft delete, undelete, destroy, delete
 * of everything, metadata and listing. Pure: it depends only on the `SecretStore` port, the
 * `EnvelopeCipher` and a `Clock`; the REST handler maps its results and errors to HTTP.
 *
 * Values are sealed here, so the store only ever holds envelopes. No value ever appears in an
 * error message or its details: validation errors name fields, never their contents.
 */
import * as z from 'zod';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors.js';
import type { Clock } from '../ports.js';
import type { EnvelopeCipher } from './envelope.js';
import type { EncryptionContext } from './keyring.js';
import { parseSecretPath, parseSecretPrefix, type SecretPath } from './secret-path.js';
import {
  MAX_MAX_VERSIONS,
  type SecretMetadataRecord,
  type SecretStore,
  type VersionState,
} from './secret-store.js';

/** A secret value: a JSON object of string fields. */
export type SecretData = Readonly<Record<string, string>>;

export const SECRET_LIMITS = {
  /** Serialized (UTF-8 JSON) size of one value. */
  maxValueBytes: 64 * 1024,
  maxFieldNameLength: 256,
  customMetadataKeys: 64,
  customMetadataKeyLength: 128,
  customMetadataValueLength: 512,
  /** Versions named in one delete, undelete or destroy request. */
  maxVersionsPerRequest: 100,
  maxListLimit: 1000,
  defaultListLimit: 100,
} as const;

/** Metadata of one version, as Vault returns it next to a value. */
export interface SecretVersionMetadata {
  readonly version: number;
  readonly createdTime: string;
  readonly createdBy: string;
  /** ISO-8601 time of the soft delete; undefined while live (Vault sends `""`). */
  readonly deletionTime: string | undefined;
  readonly destroyed: boolean;
  readonly customMetadata: Readonly<Record<string, string>>;
}

export interface SecretReadResult {
  readonly data: SecretData;
  readonly metadata: SecretVersionMetadata;
}

/** Metadata of a whole secret (Vault's `GET /metadata/:path`). */
export interface SecretMetadata {
  readonly path: string;
  readonly currentVersion: number;
  readonly oldestVersion: number;
  readonly maxVersions: number;
  readonly casRequired: boolean;
  readonly customMetadata: Readonly<Record<string, string>>;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** Keyed by version number in decimal. */
  readonly versions: Readonly<Record<string, VersionState>>;
}

export interface WriteOptions {
  /** Check-and-set: the expected current version; 0 writes only if the secret does not exist. */
  readonly cas?: number | undefined;
}

export interface MetadataUpdate {
  /** 1..100. */
  readonly maxVersions?: number | undefined;
  readonly casRequired?: boolean | undefined;
  /** Replaces all custom metadata: at most 64 keys, keys 1..128 and values up to 512 characters. */
  readonly customMetadata?: Readonly<Record<string, string>> | undefined;
}

export interface ListOptions {
  /** 1..1000, default 100. */
  readonly limit?: number | undefined;
  /** From the previous page's `cursor`. */
  readonly cursor?: string | undefined;
}

export interface SecretList {
  /** Immediate children of the prefix, sorted: `name` for a secret, `name/` for a folder. */
  readonly keys: readonly string[];
  /** Pass back for the next page; undefined on the last page. */
  readonly cursor: string | undefined;
}

const SecretDataSchema = z
  .record(z.string().min(1).max(SECRET_LIMITS.maxFieldNameLength), z.string())
  .refine((data) => Object.keys(data).length > 0, { message: 'A secret value needs at least one field' });

const MetadataUpdateSchema = z.strictObject({
  maxVersions: z.number().int().min(1).max(MAX_MAX_VERSIONS).optional(),
  casRequired: z.boolean().optional(),
  customMetadata: z
    .record(
      z.string().min(1).max(SECRET_LIMITS.customMetadataKeyLength),
      z.string().max(SECRET_LIMITS.customMetadataValueLength),
    )
    .refine((entries) => Object.keys(entries).length <= SECRET_LIMITS.customMetadataKeys, {
      message: `Custom metadata may have at most ${SECRET_LIMITS.customMetadataKeys} keys`,
    })
    .optional(),
});

const VersionNumber = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const VersionList = z.array(VersionNumber).min(1).max(SECRET_LIMITS.maxVersionsPerRequest);
const CasNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Tenant = z.string().min(1).max(256);
const Actor = z.string().min(1).max(1024);

export class SecretsService {
  constructor(
    private readonly store: SecretStore,
    private readonly cipher: EnvelopeCipher,
    private readonly clock: Clock,
  ) {}

  /**
   * Writes a new version and returns its metadata. `ConflictError` (409) on a `cas` mismatch;
   * `ValidationError` (400, Vault's "check-and-set parameter required") when the secret has
   * `casRequired` and no `cas` is given; `PayloadTooLargeError` (413) above 64 KiB.
   */
  async write(
    actor: string,
    tenant: string,
    path: string,
    data: SecretData,
    options: WriteOptions = {},
    /** The metadata the caller read just before (`metadataIfAny`): spares reading it again. */
    known?: { readonly metadata: SecretMetadata | undefined },
  ): Promise<SecretVersionMetadata> {
    const who = parse(Actor, actor, 'actor');
    const owner = parse(Tenant, tenant, 'tenant');
    const secretPath = parseSecretPath(path);
    const cas = options.cas === undefined ? undefined : parse(CasNumber, options.cas, 'cas');
    const plaintext = serializeValue(data);
    try {
      if (cas === undefined) {
        // casRequired is a setting read before the write; a write racing the setting's change
        // may still go through without cas, as in Vault.
        const metadata =
          known === undefined ? await this.store.getMetadata(owner, secretPath) : known.metadata;
        if (metadata?.casRequired === true) {
          throw new ValidationError('check-and-set parameter required for this secret', {
            details: { path: secretPath, casRequired: true },
          });
        }
      }
      const { version, metadata } = await this.store.putNewVersion({
        tenant: owner,
        path: secretPath,
        cas,
        createdBy: who,
        now: this.clock.now().toISOString(),
        seal: (n) => this.cipher.seal(plaintext, context(owner, secretPath, n)),
        known:
          known === undefined
            ? undefined
            : { metadata: known.metadata && storeRecord(owner, secretPath, known.metadata) },
      });
      return versionMetadata(metadata, version);
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * Reads the latest version, or `version`. NotFound (404) when the secret or version does not
   * exist, was pruned, is soft-deleted or destroyed; the last two carry the version's metadata
   * in `details.metadata`, as Vault returns it next to its 404.
   */
  async read(tenant: string, path: string, version?: number): Promise<SecretReadResult> {
    const owner = parse(Tenant, tenant, 'tenant');
    const secretPath = parseSecretPath(path);
    const wanted = version === undefined ? 'latest' : parse(VersionNumber, version, 'version');
    const found = await this.store.getVersion(owner, secretPath, wanted);
    if (found === undefined) throw notFound(secretPath, wanted);
    const metadata = versionMetadata(found.metadata, found.record.version);
    if (metadata.destroyed || found.record.envelope === undefined) {
      throw new NotFoundError(`Version ${metadata.version} of this secret is destroyed`, {
        details: { path: secretPath, metadata: { ...metadata, destroyed: true } },
      });
    }
    if (metadata.deletionTime !== undefined) {
      throw new NotFoundError(`Version ${metadata.version} of this secret is deleted`, {
        details: { path: secretPath, metadata },
      });
    }
    const plaintext = await this.cipher.open(
      found.record.envelope,
      context(owner, secretPath, found.record.version),
    );
    try {
      return { data: parseStoredValue(plaintext), metadata };
    } finally {
      plaintext.fill(0);
    }
  }

  async readMetadata(tenant: string, path: string): Promise<SecretMetadata> {
    const metadata = await this.metadataIfAny(tenant, path);
    if (metadata === undefined) throw notFound(parseSecretPath(path), undefined);
    return metadata;
  }

  /** The secret's metadata, or undefined when no secret lives at `path`. */
  async metadataIfAny(tenant: string, path: string): Promise<SecretMetadata | undefined> {
    const owner = parse(Tenant, tenant, 'tenant');
    const record = await this.store.getMetadata(owner, parseSecretPath(path));
    return record === undefined ? undefined : secretMetadata(record);
  }

  /** Creates or updates the settings; lowering `maxVersions` prunes at once. */
  async writeMetadata(tenant: string, path: string, update: MetadataUpdate): Promise<SecretMetadata> {
    const owner = parse(Tenant, tenant, 'tenant');
    const secretPath = parseSecretPath(path);
    const settings = parse(MetadataUpdateSchema, dropUndefined(update), 'metadata');
    const record = await this.store.putMetadata(owner, secretPath, settings, this.clock.now().toISOString());
    return secretMetadata(record);
  }

  /** Lists the immediate children of `prefix` (`''` is the root; `db` and `db/` are the same). */
  async list(tenant: string, prefix: string, options: ListOptions = {}): Promise<SecretList> {
    const owner = parse(Tenant, tenant, 'tenant');
    const secretPrefix = parseSecretPrefix(prefix);
    const limit = parse(
      z.number().int().min(1).max(SECRET_LIMITS.maxListLimit),
      options.limit ?? SECRET_LIMITS.defaultListLimit,
      'limit',
    );
    const cursor =
      options.cursor === undefined ? undefined : parse(z.string().min(1).max(2048), options.cursor, 'cursor');
    const listing = await this.store.listPaths(owner, secretPrefix, { limit, cursor });
    return { keys: listing.keys, cursor: listing.cursor };
  }

  /**
   * Soft-deletes the given versions, or the latest one. Versions that do not exist, were pruned,
   * are destroyed or already deleted are skipped (as in Vault). NotFound if the secret does not exist.
   */
  async softDelete(tenant: string, path: string, versions?: readonly number[]): Promise<void> {
    const { owner, secretPath, record } = await this.existing(tenant, path);
    const wanted =
      versions === undefined
        ? record.currentVersion > 0
          ? [record.currentVersion]
          : []
        : parse(VersionList, versions, 'versions');
    const targets = present(record, wanted).filter(
      (n) => !isDestroyed(record, n) && record.versions[String(n)]?.deletionTime === undefined,
    );
    if (targets.length === 0) return;
    await this.store.setDeletionTime(owner, secretPath, targets, this.clock.now().toISOString());
  }

  /** Restores soft-deleted versions; others are skipped. */
  async undelete(tenant: string, path: string, versions: readonly number[]): Promise<void> {
    const wanted = parse(VersionList, versions, 'versions');
    const { owner, secretPath, record } = await this.existing(tenant, path);
    const targets = present(record, wanted).filter(
      (n) => !isDestroyed(record, n) && record.versions[String(n)]?.deletionTime !== undefined,
    );
    if (targets.length === 0) return;
    await this.store.setDeletionTime(owner, secretPath, targets, undefined);
  }

  /** Removes the values of these versions for good (metadata stays, marked destroyed). */
  async destroy(tenant: string, path: string, versions: readonly number[]): Promise<void> {
    const wanted = parse(VersionList, versions, 'versions');
    const { owner, secretPath, record } = await this.existing(tenant, path);
    const targets = present(record, wanted);
    if (targets.length === 0) return;
    // Already-destroyed versions go through again: destroying is idempotent and finishes a
    // destroy that failed halfway.
    await this.store.destroyVersions(owner, secretPath, targets);
  }

  /** Deletes every version and the metadata (Vault's `DELETE /metadata/:path`). */
  async deleteAll(tenant: string, path: string): Promise<void> {
    const { owner, secretPath } = await this.existing(tenant, path);
    await this.store.deleteSecret(owner, secretPath);
  }

  private async existing(
    tenant: string,
    path: string,
  ): Promise<{ owner: string; secretPath: SecretPath; record: SecretMetadataRecord }> {
    const owner = parse(Tenant, tenant, 'tenant');
    const secretPath = parseSecretPath(path);
    const record = await this.store.getMetadata(owner, secretPath);
    if (record === undefined) throw notFound(secretPath, undefined);
    return { owner, secretPath, record };
  }
}

function context(tenant: string, path: SecretPath, version: number): EncryptionContext {
  return { tenant, path, version: String(version) };
}

function serializeValue(data: unknown): Buffer {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ValidationError('A secret value must be a JSON object of string fields', {
      details: { received: data === null ? 'null' : Array.isArray(data) ? 'array' : typeof data },
    });
  }
  const value = parse(SecretDataSchema, data, 'data');
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  if (bytes.length > SECRET_LIMITS.maxValueBytes) {
    const size = bytes.length;
    bytes.fill(0);
    throw new PayloadTooLargeError(
      `A secret value may be at most ${SECRET_LIMITS.maxValueBytes} bytes serialized; this one is ${size}`,
      { details: { maxBytes: SECRET_LIMITS.maxValueBytes, bytes: size } },
    );
  }
  return bytes;
}

/** What we sealed is what we open; anything else is an integrity incident, not a caller error. */
function parseStoredValue(plaintext: Buffer): SecretData {
  const result = SecretDataSchema.safeParse(JSON.parse(plaintext.toString('utf8')));
  if (!result.success) throw new Error('A decrypted secret value is not an object of string fields');
  return result.data;
}

/**
 * Validates with zod and reports the issues without the input: field paths and messages only,
 * never values (a value may be a secret).
 */
function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(`Invalid ${what}: ${result.error.issues[0]?.message ?? 'invalid input'}`, {
    details: {
      issues: result.error.issues.map((issue) => ({
        path: [what, ...issue.path.map(String)].join('.'),
        code: issue.code,
        message: issue.message,
      })),
    },
  });
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

function notFound(path: SecretPath, version: number | 'latest' | undefined): NotFoundError {
  return typeof version === 'number'
    ? new NotFoundError(`Version ${version} of secret ${path} does not exist`, { details: { path, version } })
    : new NotFoundError(`Secret ${path} does not exist`, { details: { path } });
}

function present(record: SecretMetadataRecord, versions: readonly number[]): number[] {
  return [...new Set(versions)].filter((n) => record.versions[String(n)] !== undefined);
}

function isDestroyed(record: SecretMetadataRecord, version: number): boolean {
  return record.versions[String(version)]?.destroyed === true;
}

function versionMetadata(record: SecretMetadataRecord, version: number): SecretVersionMetadata {
  const state = record.versions[String(version)];
  if (state === undefined) {
    // The store returns a version only with metadata that records it.
    throw new ConflictError(`Version ${version} of this secret changed while it was read; retry`);
  }
  return {
    version,
    createdTime: state.createdTime,
    createdBy: state.createdBy,
    deletionTime: state.deletionTime,
    destroyed: state.destroyed,
    customMetadata: record.customMetadata,
  };
}

/** The store's record of metadata this service returned (`metadataIfAny`), to hand it back. */
function storeRecord(tenant: string, path: SecretPath, metadata: SecretMetadata): SecretMetadataRecord {
  return {
    tenant,
    path,
    currentVersion: metadata.currentVersion,
    oldestVersion: metadata.oldestVersion,
    maxVersions: metadata.maxVersions,
    casRequired: metadata.casRequired,
    customMetadata: metadata.customMetadata,
    createdTime: metadata.createdTime,
    updatedTime: metadata.updatedTime,
    versions: metadata.versions,
  };
}

function secretMetadata(record: SecretMetadataRecord): SecretMetadata {
  return {
    path: record.path,
    currentVersion: record.currentVersion,
    oldestVersion: record.oldestVersion,
    maxVersions: record.maxVersions,
    casRequired: record.casRequired,
    customMetadata: record.customMetadata,
    createdTime: record.createdTime,
    updatedTime: record.updatedTime,
    versions: record.versions,
  };
}
