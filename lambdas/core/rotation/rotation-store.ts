/**
 * The `RotationStore` port: durable state of rotations (the `rotations` table in AWS and
 * locally). Every write is a single-item conditional write — dynalite has no transactions, and
 * one conditional write is all the state machine needs:
 * - a rotation record changes only at the revision its writer read (`save`), so two executors
 *   of one rotation can never both record a step;
 * - one credential has at most one rotation in flight: a lock item per credential, taken and
 *   released with conditions on the rotation id that holds it;
 * - paired credentials: one slot item per pair, claimed only when the pair's last rotation
 *   started long enough ago.
 */
import type { RotationPolicy, StoredRotationPolicy } from './policy.js';
import type { RotationRecord } from './rotation.js';

export interface RotationPage {
  readonly items: readonly RotationRecord[];
  /** Pass back for the next page (older rotations); undefined on the last page. */
  readonly cursor: string | undefined;
}

export type LockResult =
  { readonly acquired: true } | { readonly acquired: false; readonly holder: string; readonly since: string };

export type PairSlotResult =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly holder: string; readonly lastStartedAt: string };

export interface RotationKey {
  readonly tenant: string;
  readonly credentialId: string;
  readonly rotationId: string;
}

export interface RotationStore {
  /** Stores a new record (revision 1). Answers false, changing nothing, when the id exists. */
  create(record: RotationRecord): Promise<boolean>;

  get(tenant: string, credentialId: string, rotationId: string): Promise<RotationRecord | undefined>;

  /**
   * Stores `record` (whose revision must be `expectedRevision + 1`) if the stored one is still
   * at `expectedRevision`; `ConflictError` otherwise.
   */
  save(record: RotationRecord, expectedRevision: number): Promise<void>;

  /** A credential's rotations, newest first. */
  list(
    tenant: string,
    credentialId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<RotationPage>;

  /**
   * Takes the credential's in-flight lock for `rotationId`: succeeds when it is free, already
   * held by `rotationId`, or held by `takeOverFrom` (a holder found stale). Otherwise answers
   * who holds it.
   */
  acquireLock(
    tenant: string,
    credentialId: string,
    rotationId: string,
    now: string,
    takeOverFrom?: string,
  ): Promise<LockResult>;

  /** Frees the lock if `rotationId` holds it; does nothing otherwise. */
  releaseLock(tenant: string, credentialId: string, rotationId: string): Promise<void>;

  /** Who holds the credential's lock, if anyone. */
  lockHolder(
    tenant: string,
    credentialId: string,
  ): Promise<{ rotationId: string; since: string } | undefined>;

  /**
   * Claims the pair's slot for `rotationId` if the pair's last rotation started before
   * `startedBefore` (or the slot is already this rotation's).
   */
  claimPairSlot(
    tenant: string,
    pair: string,
    rotationId: string,
    now: string,
    startedBefore: string,
  ): Promise<PairSlotResult>;

  /**
   * Remembers which rotation an idempotency key started, until `expiresAt` (epoch seconds; a key
   * expired at `now` may be used again). Answers the rotation id stored first: `rotationId` when
   * this call stored it.
   */
  rememberIdempotencyKey(
    tenant: string,
    credentialId: string,
    keyHash: string,
    rotationId: string,
    times: { readonly now: number; readonly expiresAt: number },
  ): Promise<string>;

  /** Rotations of `tenant` whose retirement is due at or before `now`, oldest first. */
  dueRetirements(tenant: string, now: string, limit: number): Promise<RotationKey[]>;
}

/** Rotation policies of a tenant (the settings table). */
export interface RotationPolicyStore {
  get(tenant: string, name: string): Promise<StoredRotationPolicy | undefined>;
  list(tenant: string): Promise<StoredRotationPolicy[]>;
  /**
   * Creates (`expectedRevision` 0 or undefined for "whatever is there") or replaces a policy;
   * `ConflictError` when `expectedRevision` is given and does not match.
   */
  put(
    tenant: string,
    policy: RotationPolicy,
    now: string,
    expectedRevision?: number,
  ): Promise<StoredRotationPolicy>;
  /** `NotFoundError` when missing, `ConflictError` on a revision mismatch. */
  delete(tenant: string, name: string, expectedRevision?: number): Promise<void>;
}
