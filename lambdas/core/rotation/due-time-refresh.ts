/**
 * Recomputing the due times of a tenant's rotated credentials after its rotation policies changed,
 * with a durable retry path. Every policy write (put or delete) leaves a mark on the policy's own
 * item, in the same single-item write (dynalite has no transactions): "the due times of this
 * tenant may be stale". The rotations API runs the refresh right after the write; when it cannot
 * finish (the store stays unavailable), the write still stands and its mark stays, and the next
 * scheduler run refreshes every tenant still marked before it reads the due index. A refresh
 * clears only the marks it saw before it started, so a policy written meanwhile keeps its own.
 */
import type { Credential } from '../credentials/credential.js';
import type { RotationUpdate } from '../credentials/rotation-registrar.js';
import { ConflictError, DependencyUnavailableError } from '../errors.js';

/** The mark one policy write left: the policy's name and the write's own token. */
export interface StaleDueTimes {
  readonly name: string;
  readonly mark: string;
}

/** The marks of policy writes whose refresh has not completed (kept on the policy items). */
export interface DueTimeMarks {
  /** Every mark of the tenant that no refresh has cleared yet. */
  staleDueTimes(tenant: string): Promise<readonly StaleDueTimes[]>;
  /**
   * Clears each mark that is still the one given (a later write's mark stays) and removes what
   * is left of a deleted policy once its refresh is done.
   */
  clearStaleDueTimes(tenant: string, marks: readonly StaleDueTimes[]): Promise<void>;
}

export interface DueTimeRefreshDependencies {
  readonly marks: DueTimeMarks;
  /** Every credential of the tenant (all pages). */
  readonly credentials: (tenant: string) => Promise<readonly Credential[]>;
  /** The due time of a credential under the policies as stored now. */
  readonly nextDue: (credential: Credential) => Promise<string | undefined>;
  /** Stores a new due time (the inventory's `recordRotation`). */
  readonly record: (tenant: string, credentialId: string, update: RotationUpdate) => Promise<void>;
}

/** Why a refresh did not finish; its marks stay for the next scheduler run. */
export type DeferredRefreshReporter = (
  error: DependencyUnavailableError | ConflictError,
  tenant: string,
) => void;

/** True for the errors a later refresh can overcome: the store unavailable, a credential that kept changing. */
export function isDeferrable(error: unknown): error is DependencyUnavailableError | ConflictError {
  return error instanceof DependencyUnavailableError || error instanceof ConflictError;
}

export class DueTimeRefresh {
  constructor(
    private readonly deps: DueTimeRefreshDependencies,
    /** Told when a refresh is deferred by `refreshOrDefer` (the handler logs it). */
    private readonly onDeferred: DeferredRefreshReporter = () => undefined,
  ) {}

  /**
   * Recomputes the tenant's due times if any policy write is still marked, then clears the marks
   * seen; true when it ran. Rejects as the store does: the marks then stay.
   */
  async refresh(tenant: string): Promise<boolean> {
    const marks = await this.deps.marks.staleDueTimes(tenant);
    if (marks.length === 0) return false;
    for (const credential of await this.deps.credentials(tenant)) {
      if (credential.rotation === undefined) continue;
      const due = await this.deps.nextDue(credential);
      if (due !== credential.rotation.dueAt) {
        await this.deps.record(tenant, credential.id, {
          rotationState: credential.rotationState,
          dueAt: due,
        });
      }
    }
    await this.deps.marks.clearStaleDueTimes(tenant, marks);
    return true;
  }

  /**
   * `refresh`, for callers past a commit point (a stored policy write, a scheduler run): a
   * failure a later refresh can overcome is reported and answered false, its marks staying for
   * the next scheduler run; any other error is a bug and propagates.
   */
  async refreshOrDefer(tenant: string): Promise<boolean> {
    try {
      return await this.refresh(tenant);
    } catch (error: unknown) {
      if (!isDeferrable(error)) throw error;
      this.onDeferred(error, tenant);
      return false;
    }
  }
}
