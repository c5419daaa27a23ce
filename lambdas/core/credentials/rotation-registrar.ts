/**
 * The inventory's port to the rotation engine: checks the rotation fields of a registration
 * (the type's settings, the policy) and computes when the credential is first due. Implemented in
 * `lambdas/core/rotation/inventory-targets.ts`; without one, the fields are stored unchecked.
 */
import type { Credential, RotationBinding } from './credential.js';
import type { RegisterCredential } from './credential-input.js';

export interface RotationRegistrar {
  /**
   * The binding to store for `credential` (a draft, not stored yet), or undefined when the
   * registration asks for no rotation. `ValidationError` (400) for fields or a policy that are
   * invalid for the type.
   */
  bind(credential: Credential, request: RegisterCredential): Promise<RotationBinding | undefined>;
}

/** What the rotation engine reports back about a credential. */
export interface RotationUpdate {
  readonly rotationState: 'rotating' | 'failed' | undefined;
  /** Set when a rotation made a new value current (not for dry runs). */
  readonly lastRotatedAt?: string | undefined;
  /** The next due time; `null` leaves the stored one as it is. */
  readonly dueAt: string | undefined | null;
}
