/**
 * The inventory's port to the rotation engine: checks the rotation fields of a registration or
 * an update (the type's settings, the policy) and computes when the credential is next due.
 * Implemented in `lambdas/core/rotation/inventory-targets.ts`; without one, the fields are stored
 * unchecked and the due time is left as it is.
 */
import type { Credential, RotationBinding } from './credential.js';
import type { RegisterCredential, UpdateCredential } from './credential-input.js';

export interface RotationRegistrar {
  /**
   * The binding to store for `credential` (a draft, not stored yet), or undefined when the
   * registration asks for no rotation. `ValidationError` (400) for fields or a policy that are
   * invalid for the type.
   */
  bind(credential: Credential, request: RegisterCredential): Promise<RotationBinding | undefined>;

  /**
   * The binding to store after an update: `credential` is the updated draft (tags, policy name
   * and last rotation patched, `rotation` still the stored binding). The rotation fields `patch`
   * names are merged onto the stored ones (`patchRotation`) and the result is checked as at
   * registration; the due time is computed again whatever the patch names, because tags, the
   * policy and the last rotation all move it. `ValidationError` (400) as for `bind`.
   */
  rebind(credential: Credential, patch: UpdateCredential): Promise<RotationBinding | undefined>;
}

/** What the rotation engine reports back about a credential. */
export interface RotationUpdate {
  readonly rotationState: 'rotating' | 'failed' | undefined;
  /** Set when a rotation made a new value current (not for dry runs). */
  readonly lastRotatedAt?: string | undefined;
  /** The new value's expiry, learned by the rotation; `null` clears the stored one (none learned). */
  readonly expiresAt?: string | null | undefined;
  /** The next due time; `null` leaves the stored one as it is. */
  readonly dueAt: string | undefined | null;
}
