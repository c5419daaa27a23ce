/**
 * The one shape of an audited use case, fail closed. A refused call is audited as `denied` and
 * answers 403; a call that fails is audited as `failed` with its error code (best effort: the
 * caller sees the original error, and the action did not happen); a call that succeeds is audited
 * as `allowed` before its result is returned, so a result whose audit record cannot be written
 * never reaches the caller (the failing audit write surfaces instead).
 */
import { DomainError, ForbiddenError } from '../errors.js';
import type { AuditOutcome } from './audit-event.js';

export interface AuditedCall<T> {
  /** Why the caller may not make this call (the audit reason), or undefined when it may. */
  readonly denial: string | undefined;
  readonly run: () => Promise<T>;
  /** Writes the call's audit record; `result` is there for `allowed`, to name what was created. */
  readonly record: (outcome: AuditOutcome, reason: string | undefined, result?: T) => Promise<void>;
}

export async function audited<T>(call: AuditedCall<T>): Promise<T> {
  if (call.denial !== undefined) {
    await call.record('denied', call.denial);
    throw new ForbiddenError('Permission denied');
  }
  let result: T;
  try {
    result = await call.run();
  } catch (error: unknown) {
    await call.record('failed', failureCode(error)).catch(() => undefined);
    throw error;
  }
  await call.record('allowed', undefined, result);
  return result;
}

/** What a failed call's audit record says: the domain error's code, never its message or values. */
export function failureCode(error: unknown): string {
  return error instanceof DomainError ? error.code : 'InternalError';
}

/** The audit reason of a call refused by role or scope. */
export const ROLE_DENIAL = 'role or scope does not allow it';
