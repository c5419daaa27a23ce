/**
 * The one shape of an audited use case, fail closed (ADR 0004, "Attempted and outcome events").
 *
 * - A refused call is audited as `denied` and answers 403; it never runs.
 * - A call that changes something is audited as `attempted` before it runs: if that record cannot
 *   be made durable the call does not run at all and the audit failure surfaces (503), so nothing
 *   is ever changed without a trace. Its outcome follows: `allowed` after it succeeded, `failed`
 *   (with the error code, best effort) after it failed. If the outcome cannot be recorded after
 *   the change was made, the result is still returned (the change happened and its `attempted`
 *   event stands; a 503 would only invite the client to apply it twice) and the lost outcome is
 *   reported through `reportLostAuditOutcome`.
 * - A call that only reads is audited once, as `allowed` before its result is returned, so a
 *   result whose audit record cannot be written never reaches the caller.
 */
import { DomainError, ForbiddenError } from '../errors.js';
import type { AuditOutcome } from './audit-event.js';

export interface AuditedCall<T> {
  /** Why the caller may not make this call (the audit reason), or undefined when it may. */
  readonly denial: string | undefined;
  /**
   * True when the call writes anything (stored state, a queued job, a published request): it is
   * then recorded as `attempted` before it runs. Required, so no use case can forget to say.
   */
  readonly changes: boolean;
  readonly run: () => Promise<T>;
  /** Writes the call's audit record; `result` is there for `allowed`, to name what was created. */
  readonly record: (outcome: AuditOutcome, reason: string | undefined, result?: T) => Promise<void>;
}

/** Told when a change was made and its `attempted` event is durable, but its outcome was not recorded. */
export type LostAuditOutcomeReporter = (error: unknown) => void;

let lostOutcomeReporter: LostAuditOutcomeReporter = () => undefined;

/** Where lost outcomes are reported (the handlers' logger); set once at start-up. */
export function reportLostAuditOutcome(reporter: LostAuditOutcomeReporter): void {
  lostOutcomeReporter = reporter;
}

/**
 * Reports an audit record lost after a change was made, for a use case that writes one of its
 * own inside the call (a channel test's delivery): the call's `attempted` event stands.
 */
export function lostAuditOutcome(error: unknown): void {
  lostOutcomeReporter(error);
}

export async function audited<T>(call: AuditedCall<T>): Promise<T> {
  if (call.denial !== undefined) {
    await call.record('denied', call.denial);
    throw new ForbiddenError('Permission denied');
  }
  // Fail closed: no durable trace, no change.
  if (call.changes) await call.record('attempted', undefined);
  let result: T;
  try {
    result = await call.run();
  } catch (error: unknown) {
    const [outcome, reason] =
      error instanceof LateDenialError
        ? (['denied', error.reason] as const)
        : (['failed', failureCode(error)] as const);
    await call.record(outcome, reason).catch(() => undefined);
    throw error;
  }
  if (!call.changes) {
    await call.record('allowed', undefined, result);
    return result;
  }
  try {
    await call.record('allowed', undefined, result);
  } catch (error: unknown) {
    lostAuditOutcome(error);
  }
  return result;
}

/**
 * Thrown by a call's `run` when whether the caller may make it could only be decided inside it,
 * after a read (creating versus updating a secret): audited as `denied` with `reason`, answered 403.
 */
export class LateDenialError extends ForbiddenError {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('Permission denied', options);
    this.name = 'LateDenialError';
  }
}

/** What a failed call's audit record says: the domain error's code, never its message or values. */
export function failureCode(error: unknown): string {
  return error instanceof DomainError ? error.code : 'InternalError';
}

/** The audit reason of a call refused by role or scope. */
export const ROLE_DENIAL = 'role or scope does not allow it';
