/**
 * The `SecretStore` port: durable storage of secret versions and their metadata, behind which
 * the DynamoDB backend (the default, and the only one locally) and a Secrets Manager backend
 * both fit. The store never sees plaintext: the service seals each value into an `Envelope`
 * bound to tenant, path and version before the store persists it, and opens it after a read.
 *
 * Because the envelope binds the version number and only the store knows which number a new
 * version gets, `putNewVersion` takes a `seal(version)` callback rather than an envelope: the
 * store calls it once per attempt at a number (a lost race means a new number and a new seal).
 *
 * The Secrets Manager backend (`lambdas/adapters/aws/secrets-manager-secret-store.ts`) maps
 * this port onto one secret per path; what cannot map (no per-version destroy, the staging-label
 * and version quotas, eventually consistent listing) is in `docs/secrets-manager-backend.md`.
 */
import type { Envelope } from './envelope.js';
import type { SecretPath, SecretPrefix } from './secret-path.js';

/** State of one version as kept in the metadata (Vault keeps it there too). */
export interface VersionState {
  /** ISO-8601. */
  readonly createdTime: string;
  /** Actor id of the writer. */
  readonly createdBy: string;
  /** ISO-8601 time of the soft delete; undefined while the version is live. */
  readonly deletionTime: string | undefined;
  /** The value is gone for good. */
  readonly destroyed: boolean;
}

export interface SecretMetadataRecord {
  readonly tenant: string;
  readonly path: SecretPath;
  /** Highest version written; 0 when only metadata exists. */
  readonly currentVersion: number;
  /** Versions below this one were pruned; 0 until the first prune (as in Vault). */
  readonly oldestVersion: number;
  readonly maxVersions: number;
  readonly casRequired: boolean;
  readonly customMetadata: Readonly<Record<string, string>>;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** Keyed by the version number in decimal; only versions at or above `oldestVersion`. */
  readonly versions: Readonly<Record<string, VersionState>>;
}

export interface VersionRecord {
  readonly version: number;
  /** Undefined once the version is destroyed. */
  readonly envelope: Envelope | undefined;
  readonly createdTime: string;
  readonly createdBy: string;
}

export interface NewVersionRequest {
  readonly tenant: string;
  readonly path: SecretPath;
  /**
   * Check-and-set: the version the caller expects to be current (0: the secret must not exist).
   * A mismatch is a `ConflictError`. Without it the store picks the next free number.
   */
  readonly cas?: number | undefined;
  readonly createdBy: string;
  /** ISO-8601 time of the write. */
  readonly now: string;
  /** Seals the value for exactly this version number; called once per attempt. */
  seal(version: number): Promise<Envelope>;
  /**
   * The metadata the caller has just read (`getMetadata`, undefined inside when there is no
   * secret): the store starts from it instead of reading it again. A stale one only costs a
   * lost race, which the store detects and retries from a fresh read.
   */
  readonly known?: { readonly metadata: SecretMetadataRecord | undefined } | undefined;
}

export interface MetadataSettings {
  /** 1..100; older versions are pruned. */
  readonly maxVersions?: number | undefined;
  readonly casRequired?: boolean | undefined;
  /** Replaces the custom metadata as a whole. */
  readonly customMetadata?: Readonly<Record<string, string>> | undefined;
}

export interface PathPage {
  readonly limit: number;
  /** Opaque, from a previous page; a cursor the store did not make is a `ValidationError`. */
  readonly cursor?: string | undefined;
}

export interface PathListing {
  /** Immediate children of the prefix, sorted: `name` for a secret, `name/` for a folder. */
  readonly keys: readonly string[];
  /** Present when there may be more keys. */
  readonly cursor: string | undefined;
}

export const DEFAULT_MAX_VERSIONS = 10;
export const MAX_MAX_VERSIONS = 100;

export interface SecretStore {
  /** Undefined when the path has neither metadata nor versions (or belongs to another tenant). */
  getMetadata(tenant: string, path: SecretPath): Promise<SecretMetadataRecord | undefined>;

  /** One version with the metadata it is read against; undefined when it does not exist or was pruned. */
  getVersion(
    tenant: string,
    path: SecretPath,
    version: number | 'latest',
  ): Promise<{ readonly record: VersionRecord; readonly metadata: SecretMetadataRecord } | undefined>;

  /**
   * Adds a version under a number never used before for this secret, then prunes versions
   * beyond `maxVersions`. Never loses or duplicates a version under concurrent writers.
   */
  putNewVersion(
    request: NewVersionRequest,
  ): Promise<{ readonly version: number; readonly metadata: SecretMetadataRecord }>;

  /** Creates or updates the settings of a secret (a secret may have metadata and no version yet). */
  putMetadata(
    tenant: string,
    path: SecretPath,
    settings: MetadataSettings,
    now: string,
  ): Promise<SecretMetadataRecord>;

  listPaths(tenant: string, prefix: SecretPrefix, page: PathPage): Promise<PathListing>;

  /** Sets (soft delete) or clears (undelete, `undefined`) the deletion time of existing versions. */
  setDeletionTime(
    tenant: string,
    path: SecretPath,
    versions: readonly number[],
    deletionTime: string | undefined,
  ): Promise<void>;

  /**
   * Marks these versions destroyed and removes their envelopes for good. The mark is the commit
   * point: once it is stored, every read treats the versions as destroyed, and the removal of
   * the values follows (a retry, or the next read or prune of a marked version, finishes it).
   */
  destroyVersions(tenant: string, path: SecretPath, versions: readonly number[]): Promise<void>;

  /** Removes every version and the metadata. Idempotent, safe to retry after a partial failure. */
  deleteSecret(tenant: string, path: SecretPath): Promise<void>;
}
