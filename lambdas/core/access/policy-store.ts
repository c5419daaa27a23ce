import type { Role } from '../principal.js';
import type { AttachedPolicies, Policy } from './policy.js';

/** Most policies one group or client may carry; an authorization check evaluates them all. */
export const MAX_POLICIES_PER_HOLDER = 64;

/** A policy as stored: `revision` starts at 1 and grows by one with every write. */
export interface StoredPolicy {
  readonly policy: Policy;
  readonly revision: number;
  /** ISO time of the last write. */
  readonly updatedAt: string;
}

/** Who policies are attached to: a Cognito group (one of the roles) or a machine client. */
export type PolicyHolder =
  | { readonly group: Role; readonly clientId?: undefined }
  | { readonly clientId: string; readonly group?: undefined };

export interface PolicyWriteOptions {
  /**
   * Optimistic concurrency, as Vault's `cas`: the write happens only if the policy is at this
   * revision now, and `0` means it must not exist yet. Omitted, the write is unconditional.
   * A mismatch is a `ConflictError` (409) whose details carry `currentRevision` (0 if absent).
   */
  readonly expectedRevision?: number;
}

/**
 * A tenant's secret-path policies and which groups and machine clients they are attached to.
 * Everything is keyed by tenant, so another tenant's policy is simply absent (404 at the API).
 * Invalid input is a `ValidationError`; a storage failure a `DependencyUnavailableError`.
 */
export interface PolicyStore {
  /** Every policy of the tenant, sorted by name. */
  list(tenant: string): Promise<StoredPolicy[]>;
  get(tenant: string, name: string): Promise<StoredPolicy | undefined>;
  /** Creates or replaces a policy; returns it with its new revision. */
  put(tenant: string, policy: Policy, options?: PolicyWriteOptions): Promise<StoredPolicy>;
  /** `NotFoundError` if there is no such policy. Attachments naming it are then ignored. */
  delete(tenant: string, name: string, options?: PolicyWriteOptions): Promise<void>;
  /** The tenant's policies by group and by client, ready for `authorizeSecretOperation`. */
  attachments(tenant: string): Promise<AttachedPolicies>;
  /**
   * Sets the policies attached to `holder` (replacing its previous list; `[]` detaches all).
   * Every name must be an existing policy of the tenant.
   */
  attach(tenant: string, holder: PolicyHolder, policyNames: readonly string[]): Promise<void>;
}
