/**
 * The rotation engine: starts rotations (one in flight per credential, paired credentials spaced
 * apart), drives each through `create` → `set` → `test` → `finish` with a checkpoint before and
 * after every step, rolls back automatically when the new credential fails its test (or the
 * provider refuses it), rolls back on request while the previous value still exists, and retires
 * old credentials after the policy's grace periods.
 *
 * Crash safety. Every change of a rotation record is a conditional write on its revision, and an
 * executor holds a lease on the record while it works, so one rotation has one executor at a time.
 * A step whose "after" checkpoint is missing runs again on resume; the rotators' calls are safe to
 * repeat, pending values are written once (check-and-set 0) and promotion recognizes its own
 * earlier write. So a crash anywhere, followed by a retry with the same rotation id, ends with
 * exactly one new current version and no pending value left behind, and the old credential keeps
 * working until `finish` (for providers that can hold two credentials at once).
 *
 * Audit is fail-closed: a step's outcome is audited before its "after" checkpoint, so a step that
 * cannot be audited counts as not done and runs again. Events are published after the checkpoint
 * that made them true (best effort, like the inventory's).
 *
 * The engine is split into named parts: start and lock (`engine-start.ts`), the step driver
 * (`engine-steps.ts`), rollback (`engine-rollback.ts`), retirement (`engine-retirement.ts`),
 * assisted rotation, which waits for a person's value (`engine-assisted.ts`), and
 * the checkpoints, leases, audit and events they share (`engine-core.ts`, `engine-model.ts`).
 */
import { DependencyUnavailableError, DomainError, NotFoundError, ValidationError } from '../errors.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { EventPublisher } from '../events.js';
import type { Clock } from '../ports.js';
import type { SecretsService } from '../secrets/kv-service.js';
import { EngineCore } from './engine-core.js';
import {
  type Execution,
  RollBack,
  RotationBusyError,
  type RotationEngineOptions,
  type RotationRequester,
  type RotationTargets,
  type RotatorRegistry,
  type RunOutcome,
  type StartRequest,
  type StartResult,
  type SubmitOptions,
} from './engine-model.js';
import { AssistedRotation } from './engine-assisted.js';
import { RotationRetirement } from './engine-retirement.js';
import { RotationRollback } from './engine-rollback.js';
import { RotationStarter } from './engine-start.js';
import { StepDriver } from './engine-steps.js';
import { isTerminal, type RotationRecord } from './rotation.js';
import type { RotationEventType } from './rotation-events.js';
import type { RotationKey, RotationStore } from './rotation-store.js';

export {
  RotationBusyError,
  type RotationEngineOptions,
  type RotationOutcome,
  type RotationRequester,
  type RotationTargets,
  type RotatorRegistry,
  type RunOutcome,
  type StartRequest,
  type StartResult,
  type SubmitOptions,
} from './engine-model.js';

/** The engine's entry point: each use case is one named part; `run` decides which part drives. */
export class RotationEngine {
  private readonly core: EngineCore;
  private readonly starter: RotationStarter;
  private readonly steps: StepDriver;
  private readonly rollbacks: RotationRollback;
  private readonly retirement: RotationRetirement;
  private readonly assisted: AssistedRotation;

  constructor(
    store: RotationStore,
    targets: RotationTargets,
    rotators: RotatorRegistry,
    /** The secret store, or how to build it on first use (a function that only starts rotations never does). */
    secretsService: SecretsService | (() => SecretsService),
    audit: AuditSink,
    events: EventPublisher,
    clock: Clock,
    options: RotationEngineOptions = {},
  ) {
    this.core = new EngineCore(store, targets, rotators, secretsService, audit, events, clock, options);
    this.starter = new RotationStarter(this.core);
    this.steps = new StepDriver(this.core);
    this.rollbacks = new RotationRollback(this.core, this.steps, this.starter);
    this.retirement = new RotationRetirement(this.core);
    this.assisted = new AssistedRotation(this.core, this.steps);
  }

  /**
   * Records a new rotation (state `pending`) and takes the credential's in-flight lock for it.
   * `ConflictError` when another rotation is in flight, the credential is exempt, or its pair
   * rotated too recently; `ValidationError` when it cannot be rotated (no rotator, no policy,
   * invalid settings); `NotFoundError` when it does not exist.
   */
  start(request: StartRequest): Promise<StartResult> {
    return this.starter.start(request);
  }

  /**
   * Drives a rotation to its end (or to its next wait): resumes at the first step without an
   * "after" checkpoint. Idempotent: a finished rotation is returned as it is. Rethrows transient
   * failures (throttling, an unavailable dependency, a crash) after recording them, so the caller
   * retries later with the same rotation id; `RotationBusyError` when another executor holds it.
   */
  async run(key: RotationKey): Promise<{ record: RotationRecord; outcome: RunOutcome | 'in-progress' }> {
    const record = await this.core.require(key);
    if (isTerminal(record.state)) {
      const holder = await this.core.store.lockHolder(key.tenant, key.credentialId);
      if (holder?.rotationId === key.rotationId) await this.core.settle(record);
      return { record, outcome: record.state as RunOutcome };
    }
    let execution: Execution;
    try {
      execution = await this.core.begin(record);
    } catch (error: unknown) {
      // The credential is gone or can no longer rotate (policy or settings removed): give up.
      if (
        error instanceof ValidationError ||
        (error instanceof NotFoundError && !(error instanceof RotationBusyError))
      ) {
        return { record: await this.core.abandon(record, error), outcome: 'failed' };
      }
      throw error;
    }
    try {
      if (execution.record.failure !== undefined) {
        await this.rollbacks.rollBackPending(execution, new RollBack('rollback', execution.record.failure));
      } else if (execution.record.dryRun) {
        await this.steps.dryRun(execution);
      } else if (this.assisted.waitsForInput(execution)) {
        await this.assisted.wait(execution);
      } else {
        await this.steps.drive(execution);
      }
      return { record: execution.record, outcome: execution.record.state as RunOutcome };
    } catch (error: unknown) {
      if (error instanceof RollBack && execution.record.promotedVersion === undefined) {
        await this.rollbacks.rollBackPending(execution, error);
        return { record: execution.record, outcome: 'failed' };
      }
      // A step that began before promotion wraps a refusal in RollBack: judge what it wraps.
      const cause = error instanceof RollBack ? (error.cause ?? error) : error;
      if (
        execution.record.promotedVersion !== undefined &&
        cause instanceof DomainError &&
        !isRetryable(cause)
      ) {
        await this.steps.failAfterPromotion(execution, cause);
        return { record: execution.record, outcome: 'failed' };
      }
      await this.core.pause(execution, error);
      throw cause;
    }
  }

  /**
   * Takes the new value of an assisted rotation that waits for it (`awaiting-input`): checked by
   * the type's test, then the rotation finishes. `ValidationError` (400, the reason, never the
   * value) when the value is refused: the rotation stays open and the current value current;
   * `ConflictError` when the rotation does not wait for a value. With a deadline, the submission
   * is refused (503, nothing changed) when its commit cannot begin in time, and once committed
   * it answers the rotation as it stands (`in-progress`) when the deadline comes.
   */
  submit(
    key: RotationKey,
    value: unknown,
    requestedBy: RotationRequester,
    options: SubmitOptions = {},
  ): Promise<RotationRecord> {
    return this.assisted.submit(key, value, requestedBy, (resumed) => this.run(resumed), options);
  }

  /**
   * Restores the value that was current before `rotationId` (the credential's latest succeeded
   * rotation), while it still exists: at the provider, then as the new current version. Idempotent.
   */
  rollback(key: RotationKey, requestedBy: RotationRequester): Promise<RotationRecord> {
    return this.rollbacks.rollback(key, requestedBy);
  }

  /**
   * Runs the retirement phase that is due (deactivate, then delete), if any. The rotator may
   * postpone it (the old credential was used recently) or block it (a person must look).
   */
  retire(key: RotationKey): Promise<RotationRecord> {
    return this.retirement.retire(key);
  }

  async get(key: RotationKey): Promise<RotationRecord | undefined> {
    return this.core.store.get(key.tenant, key.credentialId, key.rotationId);
  }
}

/** Whether an error is worth retrying later rather than a defect (used by the worker's reporting). */
export function isRetryable(error: unknown): boolean {
  return (
    error instanceof DependencyUnavailableError ||
    error instanceof RotationBusyError ||
    !(error instanceof DomainError)
  );
}

export type { RotationEventType };
