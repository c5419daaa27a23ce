/**
 * The `Rotator` interface: one plugin per credential type (`lambdas/rotators/*`). The engine
 * drives the steps, checkpoints and secret-store work (pending values, promotion); a rotator does
 * only what happens at its provider, and each of its calls must be safe to repeat: the engine
 * runs a step again when it cannot tell whether an earlier attempt finished (a crash between the
 * provider call and the checkpoint).
 */
import type { SecretData } from '../secrets/kv-service.js';
import { DomainError } from '../errors.js';
import type { Clock } from '../ports.js';
import type { RotationPolicy, RotatorType } from './policy.js';
import type { ProviderState } from './rotation.js';
import type { AssistedSettings } from './assisted.js';
import type { RotationSecrets } from './rotation-secrets.js';

/** What the engine knows about the credential it rotates (from the inventory). */
export interface RotationTarget {
  readonly tenant: string;
  readonly credentialId: string;
  readonly type: string;
  readonly name: string;
  /** Where the current value lives in the secret store. */
  readonly secretPath: string;
  /** The type's own settings (generator, connection, strategy, user name …), unparsed. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly policy: RotationPolicy | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** ISO-8601; the last successful rotation, or when the credential was created or registered. */
  readonly lastRotatedAt: string | undefined;
  readonly createdAt: string | undefined;
  /** Who answers for the credential (assisted rotation tells them). */
  readonly owner?: string | undefined;
  /** ISO-8601; when the current value stops working, if known. */
  readonly expiresAt?: string | undefined;
}

export interface RotatorContext<S> {
  readonly tenant: string;
  readonly credentialId: string;
  readonly rotationId: string;
  readonly target: RotationTarget;
  readonly settings: S;
  readonly policy: RotationPolicy;
  /** Identifiers recorded by earlier steps and earlier attempts of this step. */
  readonly provider: ProviderState;
  /** 1 on the first run of this step; more when it runs again after a crash or a transient error. */
  readonly attempt: number;
  /** When this step first started (a re-run may find what an earlier attempt left at the provider). */
  readonly stepStartedAt: Date;
  /** When the rotation was recorded: nothing the provider created before it can be this rotation's. */
  readonly rotationCreatedAt: Date;
  readonly secrets: RotationSecrets;
  readonly clock: Clock;
  /** The current value (the version that was current when the rotation began). */
  readonly current: SecretData;
}

export interface WithPending<S> extends RotatorContext<S> {
  /** The new value (pending until `finish`). */
  readonly pending: SecretData;
}

export interface CreateResult {
  readonly pending: SecretData;
  readonly provider?: ProviderState;
}

/**
 * Assisted rotation (`./assisted.ts`): the rotator cannot make a value, a person submits it. The
 * engine opens the rotation, sends reminders, and on submission calls `accept`; the rotation then
 * finishes like any other (`create` is skipped: the accepted value is the pending one).
 */
export interface AssistedInput<S> {
  /** The reminder settings within the type's settings. */
  settings(settings: S): AssistedSettings;
  /**
   * Checks a submitted value (its shape, then the type's test, e.g. GitHub's `GET /user`) and
   * answers the pending value. `ValidationError` for a malformed value, `RotationTestFailedError`
   * when the provider refuses it (both name the reason, never the value).
   */
  accept(context: RotatorContext<S>, submitted: unknown): Promise<CreateResult>;
}

export interface StepResult {
  readonly provider?: ProviderState;
}

export interface FinishResult extends StepResult {
  /** What to retire after the grace periods; undefined when nothing old lives on at the provider. */
  readonly retire?: ProviderState | undefined;
}

export type RetirePhase = 'deactivate' | 'delete';

export type RetireOutcome =
  | { readonly status: 'done' }
  /** Not yet (the credential was used recently, or the provider is not ready): try again at `until`. */
  | { readonly status: 'postponed'; readonly until: Date; readonly note: string }
  /** Never without a person (the old credential was re-activated by hand, …). */
  | { readonly status: 'blocked'; readonly note: string };

export interface Rotator<S = unknown> {
  readonly type: RotatorType;
  /**
   * The rotator can make a value from nothing (a generator), so a credential whose secret holds
   * no version yet gets version 1 at its first rotation instead of failing. Rotators that need
   * the current value to reach their provider (a password to log in with) leave it unset.
   */
  readonly generatesFirstValue?: boolean;
  /** Set when a person supplies the new value (assisted rotation). */
  readonly assisted?: AssistedInput<S>;
  /**
   * How long before the credential's expiry its rotation is due (installation tokens that live an
   * hour; assisted rotations open weeks ahead); undefined when these settings name no lead, and
   * the policy's interval applies. A rotator that has this method makes values that each have
   * their own expiry: a step that learns the new value's expiry records it as
   * `provider.expiresAt` (ISO-8601), which the inventory keeps as the credential's expiry when the
   * rotation succeeds, and a rotation that learns none leaves the credential without one (the old
   * value's expiry no longer applies).
   */
  dueBeforeExpiryMs?(settings: S): number | undefined;
  /** Validates the type's settings; `ValidationError` (400) naming fields, never values. */
  parseSettings(raw: unknown): S;
  /** Read-only checks for a dry run: what the rotation would do, and what would stop it. */
  preflight(context: RotatorContext<S>): Promise<readonly string[]>;
  /**
   * Makes the new value. A re-run (`attempt > 1`) must first clean up what an earlier attempt
   * may have left at the provider (its identifiers are in `provider`, if it got that far).
   */
  create(context: RotatorContext<S>): Promise<CreateResult>;
  /** Applies the pending value at the provider. */
  set(context: WithPending<S>): Promise<StepResult>;
  /** Proves the pending value works; `RotationTestFailedError` when it does not. */
  test(context: WithPending<S>): Promise<StepResult>;
  /** Provider work after the pending value became current; names what to retire later. */
  finish(context: WithPending<S>): Promise<FinishResult>;
  /** One retirement phase of `ref` (what `finish` or `restore` named). */
  retire(context: RotatorContext<S>, phase: RetirePhase, ref: ProviderState): Promise<RetireOutcome>;
  /** Rolls back before `finish`: discards the pending value at the provider; current keeps working. */
  discard(context: RotatorContext<S> & { readonly pending: SecretData | undefined }): Promise<StepResult>;
  /**
   * Rolls back after `finish`: makes `previous` work again at the provider (the engine then makes
   * it current in the store). Answers what to retire of the rolled-back value.
   */
  restore(context: WithPending<S> & { readonly previous: SecretData }): Promise<FinishResult>;
}

/**
 * What checking a credential's rotation settings needs of a rotator: no provider call. The API
 * functions hold only this (lambdas/rotators/settings.ts), so only the rotation worker bundles
 * provider code (SDK clients, the PostgreSQL driver, the SMTP client).
 */
export type RotatorSettings<S = unknown> = Pick<
  Rotator<S>,
  'type' | 'generatesFirstValue' | 'parseSettings' | 'assisted' | 'dueBeforeExpiryMs'
>;

/** The settings checks by credential type. */
export type RotatorSettingsRegistry = Readonly<Record<string, RotatorSettings | undefined>>;

/** The new credential does not work: the engine rolls back. */
export class RotationTestFailedError extends DomainError {
  readonly code = 'RotationTestFailed';
}

/**
 * The provider refused a step for good (the server rejects the new password, the user already
 * has two active keys, …): retrying cannot help, so the engine rolls back and fails.
 */
export class RotationRefusedError extends DomainError {
  readonly code = 'RotationRefused';
}

/** A rotator's error message, safe for records, audit and events: its code and message, cut short. */
export function describeFailure(error: unknown): string {
  if (error instanceof DomainError) return `${error.code}: ${error.message}`.slice(0, 512);
  if (error instanceof Error) return `${error.name}`.slice(0, 128);
  return 'UnknownError';
}
