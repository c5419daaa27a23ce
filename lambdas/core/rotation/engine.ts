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
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AuditAction, AuditActor, AuditOutcome } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import {
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  NotFoundError,
  ValidationError,
} from '../errors.js';
import type { DomainEvent, EventPublisher } from '../events.js';
import type { Clock } from '../ports.js';
import type { SecretData, SecretsService } from '../secrets/kv-service.js';
import { isExempt, isRotatorType, openWindowStart, pairOf, type RotationPolicy } from './policy.js';
import {
  isTerminal,
  lastStep,
  newRotationId,
  type ProviderState,
  type Retirement,
  type RotationRecord,
  type RotationStepName,
  type RotationTrigger,
  type StepRecord,
  stepSucceeded,
} from './rotation.js';
import {
  engineAuditEvent,
  ROTATION_EVENT_TYPES,
  type RotationEventType,
  rotationEvent,
} from './rotation-events.js';
import { type CurrentValue, RotationSecrets } from './rotation-secrets.js';
import type { RotationKey, RotationStore } from './rotation-store.js';
import {
  describeFailure,
  type RetirePhase,
  RotationRefusedError,
  type RotationTarget,
  RotationTestFailedError,
  type Rotator,
  type RotatorContext,
} from './rotator.js';

const MINUTE_MS = 60_000;
/** The base of a rotation whose secret held no version: promotion writes version 1 (cas 0). */
const FIRST_VALUE: CurrentValue = Object.freeze({ version: 0, data: Object.freeze({}) });
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Where the engine learns about credentials and reports their rotation state (the inventory). */
export interface RotationTargets {
  load(tenant: string, credentialId: string): Promise<RotationTarget | undefined>;
  recordOutcome(tenant: string, credentialId: string, outcome: RotationOutcome): Promise<void>;
}

export type RotationOutcome =
  | { readonly kind: 'rotating'; readonly rotationId: string; readonly at: string }
  | { readonly kind: 'succeeded'; readonly rotationId: string; readonly at: string; readonly dryRun: boolean }
  | { readonly kind: 'failed'; readonly rotationId: string; readonly at: string; readonly reason: string }
  | { readonly kind: 'rolled-back'; readonly rotationId: string; readonly at: string };

export type RotatorRegistry = Readonly<Record<string, Rotator<unknown> | undefined>>;

export interface RotationRequester {
  readonly actor: AuditActor;
  /** `user:<name>`, `client:<id>` or `system:scheduler`, kept on the record. */
  readonly name: string;
  readonly requestId?: string | undefined;
  readonly correlationId?: string | undefined;
}

export interface StartRequest {
  readonly tenant: string;
  readonly credentialId: string;
  readonly trigger: RotationTrigger;
  readonly requestedBy: RotationRequester;
  /** A caller's key: the same key starts one rotation, however often it is sent (24 hours). */
  readonly idempotencyKey?: string | undefined;
  /** Scheduled runs: the due time the scheduler saw, which makes the rotation id deterministic. */
  readonly dueAt?: string | undefined;
}

export type StartResult =
  | { readonly status: 'started' | 'existing'; readonly record: RotationRecord }
  /** Scheduled runs only: nothing to do (no longer due, outside the window, exempt). */
  | { readonly status: 'skipped'; readonly reason: string };

export type RunOutcome = 'succeeded' | 'failed' | 'rolled-back' | 'busy';

export interface RotationEngineOptions {
  /** How long an executor may hold a rotation before another may take over (default 15 minutes). */
  readonly leaseMs?: number;
  /** A lock whose holder never recorded a rotation is taken over after this (default 5 minutes). */
  readonly orphanLockMs?: number;
  /** Attempts per step before a rotation that has not been promoted yet rolls back (default 5). */
  readonly maxStepAttempts?: number;
  /**
   * Attempts at an automatic rollback before the rotation fails with its rollback unfinished
   * (default twice `maxStepAttempts`): a provider that stays unreachable is not retried for ever.
   */
  readonly maxRollbackAttempts?: number;
  readonly onEventsFailed?: (error: unknown, events: readonly DomainEvent[]) => void;
}

/** Another executor holds the rotation (or the store moved under us): try again later. */
export class RotationBusyError extends ConflictError {}

/** Internal: a step failed in a way no retry can fix, before promotion: roll back. */
class RollBack extends Error {
  constructor(
    readonly step: RotationStepName,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'RollBack';
  }
}

interface Execution {
  record: RotationRecord;
  readonly owner: string;
  readonly target: RotationTarget;
  readonly policy: RotationPolicy;
  readonly rotator: Rotator<unknown>;
  readonly settings: unknown;
  readonly secrets: RotationSecrets;
}

export class RotationEngine {
  private readonly leaseMs: number;
  private readonly orphanLockMs: number;
  private readonly maxStepAttempts: number;
  private readonly maxRollbackAttempts: number;
  private readonly onEventsFailed: (error: unknown, events: readonly DomainEvent[]) => void;

  constructor(
    private readonly store: RotationStore,
    private readonly targets: RotationTargets,
    private readonly rotators: RotatorRegistry,
    /** The secret store, or how to build it on first use (a function that only starts rotations never does). */
    private readonly secretsService: SecretsService | (() => SecretsService),
    private readonly audit: AuditSink,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    options: RotationEngineOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 15 * MINUTE_MS;
    this.orphanLockMs = options.orphanLockMs ?? 5 * MINUTE_MS;
    this.maxStepAttempts = options.maxStepAttempts ?? 5;
    this.maxRollbackAttempts = options.maxRollbackAttempts ?? 2 * this.maxStepAttempts;
    this.onEventsFailed = options.onEventsFailed ?? (() => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Starting

  /**
   * Records a new rotation (state `pending`) and takes the credential's in-flight lock for it.
   * `ConflictError` when another rotation is in flight, the credential is exempt, or its pair
   * rotated too recently; `ValidationError` when it cannot be rotated (no rotator, no policy,
   * invalid settings); `NotFoundError` when it does not exist.
   */
  async start(request: StartRequest): Promise<StartResult> {
    const now = this.clock.now();
    const target = await this.targets.load(request.tenant, request.credentialId);
    if (target === undefined) throw new NotFoundError(`No credential ${request.credentialId.slice(0, 64)}`);
    const { rotator, policy } = this.rotatable(target);
    rotator.parseSettings(target.settings);
    const scheduled = request.trigger === 'schedule';

    if (isExempt(policy, target.tags)) {
      if (scheduled) return { status: 'skipped', reason: 'exempt' };
      throw new ConflictError(`The credential carries the exemption tag ${policy.exemptionTag}`);
    }
    if (scheduled) {
      const due = this.dueTime(target, policy);
      if (due === undefined || due.getTime() > now.getTime()) return { status: 'skipped', reason: 'not due' };
      if (openWindowStart(policy.window, now) === undefined)
        return { status: 'skipped', reason: 'outside window' };
    }

    const rotationId = await this.rotationIdFor(request, target, policy, now);
    const existing = await this.store.get(request.tenant, request.credentialId, rotationId);
    if (existing !== undefined) return { status: 'existing', record: existing };

    await this.lock(request.tenant, request.credentialId, rotationId, now);
    const pair = policy.dryRun ? undefined : pairOf(policy, target.tags);
    if (pair !== undefined) {
      const since = new Date(now.getTime() - policy.pairSpacingMinutes * MINUTE_MS).toISOString();
      const slot = await this.store.claimPairSlot(request.tenant, pair, rotationId, now.toISOString(), since);
      if (!slot.claimed) {
        await this.store.releaseLock(request.tenant, request.credentialId, rotationId);
        if (scheduled) return { status: 'skipped', reason: 'pair spacing' };
        throw new ConflictError(
          `A credential paired with this one started rotating at ${slot.lastStartedAt}; pairs rotate at least ${policy.pairSpacingMinutes} minutes apart`,
          { details: { pair, rotationId: slot.holder, lastStartedAt: slot.lastStartedAt } },
        );
      }
    }

    const record: RotationRecord = {
      tenant: request.tenant,
      credentialId: request.credentialId,
      rotationId,
      credentialType: rotator.type,
      trigger: request.trigger,
      requestedBy: request.requestedBy.name,
      policyName: policy.name,
      dryRun: policy.dryRun,
      state: 'pending',
      steps: [],
      provider: {},
      baseVersion: undefined,
      promotedVersion: undefined,
      retirement: undefined,
      failure: undefined,
      lease: undefined,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      finishedAt: undefined,
      revision: 1,
    };
    await this.recordAudit(record, 'rotation.request', 'allowed', `${request.trigger} rotation requested`, {
      actor: request.requestedBy.actor,
      requestId: request.requestedBy.requestId,
      correlationId: request.requestedBy.correlationId,
    });
    if (!(await this.store.create(record))) {
      const stored = await this.store.get(request.tenant, request.credentialId, rotationId);
      if (stored !== undefined) return { status: 'existing', record: stored };
    }
    return { status: 'started', record };
  }

  /** The policy and rotator of a credential, or a `ValidationError` saying why it cannot rotate. */
  private rotatable(target: RotationTarget): { rotator: Rotator<unknown>; policy: RotationPolicy } {
    const rotator = isRotatorType(target.type) ? this.rotators[target.type] : undefined;
    if (rotator === undefined) {
      throw new ValidationError(`Credentials of type ${target.type} cannot be rotated by VaultPilot`, {
        details: { type: target.type },
      });
    }
    const policy = target.policy;
    if (policy === undefined) throw new ValidationError('The credential has no rotation policy');
    if (policy.rotator !== undefined && policy.rotator !== target.type) {
      throw new ValidationError(`Policy ${policy.name} applies to ${policy.rotator} credentials only`);
    }
    return { rotator, policy };
  }

  private dueTime(target: RotationTarget, policy: RotationPolicy): Date | undefined {
    const since = target.lastRotatedAt ?? target.createdAt;
    return since === undefined ? undefined : new Date(Date.parse(since) + policy.intervalDays * DAY_MS);
  }

  private async rotationIdFor(
    request: StartRequest,
    target: RotationTarget,
    policy: RotationPolicy,
    now: Date,
  ): Promise<string> {
    if (request.idempotencyKey !== undefined) {
      const keyHash = createHash('sha256').update(request.idempotencyKey).digest('hex');
      const candidate = newRotationId(target.credentialId, now);
      const seconds = Math.floor(now.getTime() / 1000);
      return this.store.rememberIdempotencyKey(request.tenant, target.credentialId, keyHash, candidate, {
        now: seconds,
        expiresAt: seconds + 24 * 3600,
      });
    }
    if (request.trigger === 'schedule') {
      // One rotation per due time, however many scheduler runs or queue deliveries see it. The
      // index's due time moves after a failure (retry a day later), so a retry gets a new id.
      const given = request.dueAt === undefined ? Number.NaN : Date.parse(request.dueAt);
      const due = Number.isNaN(given) ? (this.dueTime(target, policy) ?? now) : new Date(given);
      return newRotationId(target.credentialId, due, `schedule\n${due.toISOString()}`);
    }
    return newRotationId(target.credentialId, now);
  }

  /** Takes the in-flight lock, taking over from a holder that finished or never started. */
  private async lock(tenant: string, credentialId: string, rotationId: string, now: Date): Promise<void> {
    const first = await this.store.acquireLock(tenant, credentialId, rotationId, now.toISOString());
    if (first.acquired) return;
    const holder = await this.store.get(tenant, credentialId, first.holder);
    // A lock outlives its rotation only after a crash; a holder that never recorded its
    // rotation may still be about to, so it gets `orphanLockMs` first.
    const leaked =
      holder === undefined
        ? now.getTime() - Date.parse(first.since) > this.orphanLockMs
        : isTerminal(holder.state);
    if (leaked) {
      const second = await this.store.acquireLock(
        tenant,
        credentialId,
        rotationId,
        now.toISOString(),
        first.holder,
      );
      if (second.acquired) return;
    }
    throw new ConflictError(`Rotation ${first.holder} of this credential is in flight`, {
      details: { rotationId: first.holder },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Running

  /**
   * Drives a rotation to its end (or to its next wait): resumes at the first step without an
   * "after" checkpoint. Idempotent: a finished rotation is returned as it is. Rethrows transient
   * failures (throttling, an unavailable dependency, a crash) after recording them, so the caller
   * retries later with the same rotation id; `RotationBusyError` when another executor holds it.
   */
  async run(key: RotationKey): Promise<{ record: RotationRecord; outcome: RunOutcome | 'in-progress' }> {
    const record = await this.require(key);
    if (isTerminal(record.state)) {
      const holder = await this.store.lockHolder(key.tenant, key.credentialId);
      if (holder?.rotationId === key.rotationId) await this.settle(record);
      return { record, outcome: record.state as RunOutcome };
    }
    let execution: Execution;
    try {
      execution = await this.begin(record);
    } catch (error: unknown) {
      // The credential is gone or can no longer rotate (policy or settings removed): give up.
      if (
        error instanceof ValidationError ||
        (error instanceof NotFoundError && !(error instanceof RotationBusyError))
      ) {
        return { record: await this.abandon(record, error), outcome: 'failed' };
      }
      throw error;
    }
    try {
      if (execution.record.failure !== undefined) {
        await this.rollBackPending(execution, new RollBack('rollback', execution.record.failure));
      } else if (execution.record.dryRun) {
        await this.dryRun(execution);
      } else {
        await this.drive(execution);
      }
      return { record: execution.record, outcome: execution.record.state as RunOutcome };
    } catch (error: unknown) {
      if (error instanceof RollBack && execution.record.promotedVersion === undefined) {
        await this.rollBackPending(execution, error);
        return { record: execution.record, outcome: 'failed' };
      }
      // A step that began before promotion wraps a refusal in RollBack: judge what it wraps.
      const cause = error instanceof RollBack ? (error.cause ?? error) : error;
      if (
        execution.record.promotedVersion !== undefined &&
        cause instanceof DomainError &&
        !isRetryable(cause)
      ) {
        await this.failAfterPromotion(execution, cause);
        return { record: execution.record, outcome: 'failed' };
      }
      await this.pause(execution, error);
      throw cause;
    }
  }

  private async drive(execution: Execution): Promise<void> {
    if (execution.record.state === 'pending') {
      await this.targets.recordOutcome(execution.record.tenant, execution.record.credentialId, {
        kind: 'rotating',
        rotationId: execution.record.rotationId,
        at: this.now(),
      });
      await this.save(execution, { state: 'in-progress' });
      await this.publish([rotationEvent(ROTATION_EVENT_TYPES.started, execution.record, this.now())]);
    }
    const path = execution.target.secretPath;
    const base = await this.baseValue(execution);

    await this.step(
      execution,
      'create',
      async (context) => {
        const stored = await execution.secrets.readPending(
          execution.record.credentialId,
          execution.record.rotationId,
        );
        if (stored !== undefined) return {};
        const created = await execution.rotator.create(context);
        // The provider's identifiers first: if the pending write is lost, a re-run knows what to clean up.
        if (created.provider !== undefined)
          await this.save(execution, { provider: { ...execution.record.provider, ...created.provider } });
        await execution.secrets.writePending(
          execution.record.credentialId,
          execution.record.rotationId,
          created.pending,
        );
        return {};
      },
      base,
    );

    const pending = await this.pendingValue(execution);
    await this.step(execution, 'set', (context) => execution.rotator.set({ ...context, pending }), base);
    await this.step(execution, 'test', (context) => execution.rotator.test({ ...context, pending }), base);
    await this.step(
      execution,
      'finish',
      async (context) => {
        if (execution.record.promotedVersion === undefined) {
          let version: number;
          try {
            version = await execution.secrets.promote(path, pending, base.version);
          } catch (error: unknown) {
            if (error instanceof ConflictError)
              throw new RollBack('finish', describeFailure(error), { cause: error });
            throw error;
          }
          await this.save(execution, { promotedVersion: version });
          await this.recordAudit(
            execution.record,
            'rotation.step',
            'allowed',
            `finish: version ${version} is current`,
            {
              path,
              version,
            },
          );
        }
        const finished = await execution.rotator.finish({ ...context, pending });
        await execution.secrets.discardPending(execution.record.credentialId, execution.record.rotationId);
        return {
          provider: finished.provider,
          patch: {
            retirement:
              finished.retire === undefined
                ? undefined
                : this.plan(finished.retire, execution.policy, 'deactivate'),
          },
        };
      },
      base,
    );
    await this.complete(execution, 'succeeded', undefined);
  }

  private async dryRun(execution: Execution): Promise<void> {
    const base = await this.baseValue(execution);
    let notes: readonly string[] = [];
    await this.step(
      execution,
      'preflight',
      async (context) => {
        notes = await execution.rotator.preflight(context);
        return {};
      },
      base,
      () => `dry run: ${notes.join('; ') || 'ready'}`,
    );
    await this.complete(execution, 'succeeded', undefined);
  }

  /** The value that was current when the rotation began (read once, pinned by version). */
  private async baseValue(execution: Execution): Promise<CurrentValue> {
    const path = execution.target.secretPath;
    const pinned = execution.record.baseVersion;
    if (pinned === undefined) {
      let current: CurrentValue | undefined;
      try {
        current = execution.rotator.generatesFirstValue
          ? await execution.secrets.currentIfAny(path)
          : await execution.secrets.current(path);
      } catch (error: unknown) {
        if (error instanceof NotFoundError)
          throw new RollBack('create', describeFailure(error), { cause: error });
        throw error;
      }
      // No version yet: the rotator makes the first value, promoted with check-and-set 0.
      const base = current ?? FIRST_VALUE;
      await this.save(execution, { baseVersion: base.version });
      return base;
    }
    if (pinned === FIRST_VALUE.version) return FIRST_VALUE;
    const data = await execution.secrets.version(path, pinned);
    if (data === undefined) {
      throw new RollBack('create', `Version ${pinned} of ${path} is no longer readable`);
    }
    return { version: pinned, data };
  }

  private async pendingValue(execution: Execution): Promise<SecretData> {
    const { record, secrets, target } = execution;
    const pending = await secrets.readPending(record.credentialId, record.rotationId);
    if (pending !== undefined) return pending;
    // Once promoted, the pending value may already be gone: it is the promoted version.
    if (record.promotedVersion !== undefined) {
      const promoted = await secrets.version(target.secretPath, record.promotedVersion);
      if (promoted !== undefined) return promoted;
    }
    throw new RollBack('set', 'The pending value of this rotation is missing');
  }

  /**
   * Runs one step once: skipped when it already succeeded; otherwise a "before" checkpoint, the
   * work, the audit of its outcome, and an "after" checkpoint. Errors are classified: the
   * provider's refusal or a failed test rolls back; anything else is retried later, up to
   * `maxStepAttempts` before promotion.
   */
  private async step(
    execution: Execution,
    name: RotationStepName,
    work: (
      context: RotatorContext<unknown>,
    ) => Promise<{ provider?: ProviderState | undefined; patch?: Partial<RotationRecord> }>,
    base: CurrentValue,
    describe: () => string = () => `${name} succeeded`,
  ): Promise<void> {
    if (stepSucceeded(execution.record, name)) return;
    const previous = lastStep(execution.record, name);
    const attempt = (previous?.attempts ?? 0) + 1;
    const promoted = execution.record.promotedVersion !== undefined;
    if (attempt > this.maxStepAttempts && !promoted && name !== 'rollback') {
      throw new RollBack(name, `${name} did not succeed in ${this.maxStepAttempts} attempts`);
    }
    if (attempt > this.maxRollbackAttempts && !promoted && name === 'rollback') {
      throw new RollBack(name, `rollback did not succeed in ${this.maxRollbackAttempts} attempts`);
    }
    const startedAt = previous?.startedAt ?? this.now();
    await this.save(execution, {
      steps: withStep(execution.record.steps, {
        step: name,
        status: 'running',
        startedAt,
        endedAt: undefined,
        attempts: attempt,
        outcome: undefined,
      }),
    });
    let result: { provider?: ProviderState | undefined; patch?: Partial<RotationRecord> };
    try {
      result = await work(this.context(execution, attempt, startedAt, base));
    } catch (error: unknown) {
      if (error instanceof RollBack) throw error;
      if ((error instanceof RotationTestFailedError || error instanceof RotationRefusedError) && !promoted) {
        throw new RollBack(name, describeFailure(error), { cause: error });
      }
      throw error;
    }
    await this.recordAudit(
      execution.record,
      'rotation.step',
      'allowed',
      `${describe()} (attempt ${attempt})`,
    );
    await this.save(execution, {
      ...result.patch,
      provider: { ...execution.record.provider, ...result.provider },
      steps: withStep(execution.record.steps, {
        step: name,
        status: 'succeeded',
        startedAt,
        endedAt: this.now(),
        attempts: attempt,
        outcome: name === 'preflight' ? describe().slice(0, 1024) : undefined,
      }),
    });
  }

  private context(
    execution: Execution,
    attempt: number,
    startedAt: string,
    base: CurrentValue,
  ): RotatorContext<unknown> {
    const { record, target, policy, settings, secrets } = execution;
    return {
      tenant: record.tenant,
      credentialId: record.credentialId,
      rotationId: record.rotationId,
      target,
      settings,
      policy,
      provider: record.provider,
      attempt,
      stepStartedAt: new Date(startedAt),
      rotationCreatedAt: new Date(record.createdAt),
      secrets,
      clock: this.clock,
      current: base.data,
    };
  }

  /** Records why the rotation fails, and marks the step that was running as failed. */
  private async recordFailure(execution: Execution, step: RotationStepName, reason: string): Promise<void> {
    const running = execution.record.steps.find((entry) => entry.status === 'running');
    await this.save(execution, {
      failure: `${step}: ${reason}`.slice(0, 1024),
      steps:
        running === undefined
          ? execution.record.steps
          : withStep(execution.record.steps, {
              ...running,
              status: 'failed',
              endedAt: this.now(),
              outcome: reason.slice(0, 1024),
            }),
    });
  }

  /** Discards the pending value at the provider and in the store; the rotation fails. */
  private async rollBackPending(execution: Execution, cause: RollBack): Promise<void> {
    if (execution.record.failure === undefined) {
      await this.recordFailure(execution, cause.step, cause.reason);
      await this.recordAudit(
        execution.record,
        'rotation.fail',
        'failed',
        `${cause.step} failed: ${cause.reason}`,
      );
    }
    const reason = execution.record.failure ?? cause.reason;
    try {
      const base = await this.baseValue(execution).catch((error: unknown) => {
        // Without a readable current value there is nothing the provider could have changed.
        if (error instanceof RollBack) return undefined;
        throw error;
      });
      await this.step(
        execution,
        'rollback',
        async (context) => {
          // Whatever `create` began at the provider is discarded, even if it never finished.
          if (lastStep(execution.record, 'create') !== undefined) {
            const pending = await execution.secrets.readPending(
              execution.record.credentialId,
              execution.record.rotationId,
            );
            const discarded = await execution.rotator.discard({ ...context, pending });
            await execution.secrets.discardPending(
              execution.record.credentialId,
              execution.record.rotationId,
            );
            return { provider: discarded.provider };
          }
          return {};
        },
        base ?? { version: 0, data: {} },
        () => 'rollback: pending discarded, current unchanged',
      );
    } catch (error: unknown) {
      // The provider refused the rollback, or it kept failing: no retry will finish it.
      if (error instanceof RollBack && error.step === 'rollback') {
        await this.failUnfinishedRollback(execution, error);
        return;
      }
      await this.pause(execution, error);
      throw error;
    }
    await this.complete(execution, 'failed', reason);
  }

  /**
   * Ends a rotation whose automatic rollback cannot finish. The pending value stays in the store
   * (sealed): if the provider applied it after all, it is the one value that works there, and a
   * person decides. The current version is unchanged; the credential is freed.
   */
  private async failUnfinishedRollback(execution: Execution, cause: RollBack): Promise<void> {
    // The rollback step's last record: running (refused now) or failed (by an earlier attempt).
    const running = lastStep(execution.record, 'rollback');
    try {
      await this.recordAudit(
        execution.record,
        'rotation.fail',
        'failed',
        `rollback unfinished: ${cause.reason}; the pending value is kept for a person to check the provider`,
        { path: execution.target.secretPath },
      );
      await this.save(execution, {
        state: 'failed',
        finishedAt: this.now(),
        lease: undefined,
        steps:
          running === undefined
            ? execution.record.steps
            : withStep(execution.record.steps, {
                ...running,
                status: 'failed',
                endedAt: this.now(),
                outcome: cause.reason.slice(0, 1024),
              }),
      });
    } catch (error: unknown) {
      await this.pause(execution, error);
      throw error;
    }
    await this.settle(execution.record);
  }

  /**
   * A step after promotion that can never succeed (the provider refuses `finish`): the new value
   * is current and stays so, nothing rolls back by itself and nothing old is retired (whoever
   * still uses the old credential keeps working). The rotation fails, the credential is freed for
   * a person to roll back explicitly or rotate again.
   */
  private async failAfterPromotion(execution: Execution, error: unknown): Promise<void> {
    const reason = describeFailure(error);
    const step = execution.record.steps.find((entry) => entry.status === 'running')?.step ?? 'finish';
    try {
      await this.recordFailure(execution, step, reason);
      await execution.secrets.discardPending(execution.record.credentialId, execution.record.rotationId);
      const at = this.now();
      await this.recordAudit(
        execution.record,
        'rotation.fail',
        'failed',
        `${step} failed after promotion: ${reason}; version ${execution.record.promotedVersion ?? '?'} is current, the old credential stays as it is`,
        { path: execution.target.secretPath, version: execution.record.promotedVersion },
      );
      await this.save(execution, { state: 'failed', finishedAt: at, lease: undefined });
    } catch (cause: unknown) {
      await this.pause(execution, cause);
      throw cause;
    }
    await this.settle(execution.record);
  }

  private async complete(
    execution: Execution,
    state: 'succeeded' | 'failed',
    reason: string | undefined,
  ): Promise<void> {
    const { record } = execution;
    const at = this.now();
    await this.recordAudit(
      record,
      state === 'succeeded' ? 'rotation.succeed' : 'rotation.fail',
      state === 'succeeded' ? 'allowed' : 'failed',
      state === 'succeeded'
        ? record.dryRun
          ? 'dry run finished'
          : 'rotation finished'
        : `rolled back: ${reason ?? ''}`,
      { path: execution.target.secretPath, version: record.promotedVersion },
    );
    await this.save(execution, { state, finishedAt: at, lease: undefined });
    await this.settle(execution.record);
  }

  /**
   * What follows a rotation's last checkpoint: the inventory learns the outcome, the event goes
   * out, and the lock is freed last. A run that finds a finished rotation still holding the lock
   * (a crash in between) settles it again; the event may then go out twice (at least once).
   */
  private async settle(record: RotationRecord): Promise<void> {
    const at = record.finishedAt ?? this.now();
    const reason = record.failure;
    if (record.state === 'succeeded' || record.state === 'failed') {
      await this.targets.recordOutcome(
        record.tenant,
        record.credentialId,
        record.state === 'succeeded'
          ? { kind: 'succeeded', rotationId: record.rotationId, at, dryRun: record.dryRun }
          : { kind: 'failed', rotationId: record.rotationId, at, reason: reason ?? 'failed' },
      );
      await this.publish([
        record.state === 'succeeded'
          ? rotationEvent(ROTATION_EVENT_TYPES.succeeded, record, at)
          : rotationEvent(ROTATION_EVENT_TYPES.failed, record, at, {
              reason,
              // Failed after promotion: the new value stayed current.
              rolledBack: record.promotedVersion === undefined,
              step: reason?.split(':')[0],
            }),
      ]);
    } else if (record.state === 'rolled-back') {
      await this.targets.recordOutcome(record.tenant, record.credentialId, {
        kind: 'rolled-back',
        rotationId: record.rotationId,
        at,
      });
      await this.publish([rotationEvent(ROTATION_EVENT_TYPES.rolledBack, record, at)]);
    }
    await this.store.releaseLock(record.tenant, record.credentialId, record.rotationId);
  }

  /** Fails a rotation that cannot run any more; drops its pending value and lock. */
  private async abandon(record: RotationRecord, error: unknown): Promise<RotationRecord> {
    const at = this.now();
    const failed: RotationRecord = {
      ...record,
      state: 'failed',
      failure: describeFailure(error),
      lease: undefined,
      finishedAt: at,
      updatedAt: at,
      revision: record.revision + 1,
    };
    await this.recordAudit(record, 'rotation.fail', 'failed', `abandoned: ${describeFailure(error)}`);
    try {
      await this.store.save(failed, record.revision);
    } catch (cause: unknown) {
      if (cause instanceof ConflictError)
        throw new RotationBusyError('The rotation changed meanwhile', { cause });
      throw cause;
    }
    await this.rotationSecrets(record.tenant).discardPending(record.credentialId, record.rotationId);
    await this.store.releaseLock(record.tenant, record.credentialId, record.rotationId);
    await this.publish([
      rotationEvent(ROTATION_EVENT_TYPES.failed, failed, at, { reason: failed.failure, rolledBack: false }),
    ]);
    return failed;
  }

  /** Records a transient failure on the running step and gives up the lease (best effort). */
  private async pause(execution: Execution, error: unknown): Promise<void> {
    if (error instanceof RotationBusyError) return;
    const outcome = describeFailure(error instanceof RollBack ? (error.cause ?? error) : error);
    const release = async (): Promise<void> => {
      const running = execution.record.steps.find((entry) => entry.status === 'running');
      const steps =
        running === undefined
          ? execution.record.steps
          : withStep(execution.record.steps, { ...running, status: 'failed', endedAt: this.now(), outcome });
      await this.save(execution, { lease: undefined, steps });
    };
    try {
      await release();
    } catch {
      // The failed call may have stored its write after all: read again, and if the lease is
      // still ours, give it up; otherwise it runs out by itself.
      try {
        const stored = await this.store.get(
          execution.record.tenant,
          execution.record.credentialId,
          execution.record.rotationId,
        );
        if (stored?.lease?.owner !== execution.owner) return;
        execution.record = stored;
        await release();
      } catch {
        // Nothing more to do: the lease expires.
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Rolling back on request

  /**
   * Restores the value that was current before `rotationId` (the credential's latest succeeded
   * rotation), while it still exists: at the provider, then as the new current version. Idempotent.
   */
  async rollback(key: RotationKey, requestedBy: RotationRequester): Promise<RotationRecord> {
    const record = await this.require(key);
    if (record.state === 'rolled-back') {
      const holder = await this.store.lockHolder(key.tenant, key.credentialId);
      if (holder?.rotationId === key.rotationId) await this.settle(record);
      return record;
    }
    // A rotation that failed after promotion made its value current too: it may be rolled back.
    const madeCurrent = (item: RotationRecord): boolean =>
      !item.dryRun &&
      (item.state === 'succeeded' || (item.state === 'failed' && item.promotedVersion !== undefined));
    const latest = (await this.store.list(key.tenant, key.credentialId, { limit: 20 })).items.find(
      (item) => !item.dryRun && (item.state !== 'failed' || item.promotedVersion !== undefined),
    );
    if (!madeCurrent(record)) {
      throw new ConflictError('Only a rotation whose new value became current can be rolled back', {
        details: { state: record.state },
      });
    }
    if (latest?.rotationId !== record.rotationId) {
      throw new ConflictError('Only the latest rotation of a credential can be rolled back', {
        details: { latest: latest?.rotationId },
      });
    }
    if (record.baseVersion === FIRST_VALUE.version) {
      throw new ConflictError(
        'This rotation made the first value of the secret: there is no earlier value to restore',
      );
    }
    if (record.retirement?.status === 'retired') {
      throw new ConflictError('The previous credential was already retired at its provider');
    }
    await this.lock(key.tenant, key.credentialId, key.rotationId, this.clock.now());
    try {
      const execution = await this.begin(record);
      const previous =
        record.baseVersion === undefined
          ? undefined
          : await execution.secrets.version(execution.target.secretPath, record.baseVersion);
      if (previous === undefined || record.promotedVersion === undefined) {
        await this.save(execution, { lease: undefined });
        throw new ConflictError('The previous version no longer exists in the secret store');
      }
      await this.recordAudit(record, 'rotation.rollback', 'allowed', 'rollback requested', {
        actor: requestedBy.actor,
        requestId: requestedBy.requestId,
        correlationId: requestedBy.correlationId,
      });
      const promoted = record.promotedVersion;
      const current = await execution.secrets.version(execution.target.secretPath, promoted);
      const base = { version: record.baseVersion ?? 0, data: previous };
      try {
        await this.step(
          execution,
          'rollback',
          async (context) => {
            const restored = await execution.rotator.restore({
              ...context,
              pending: current ?? {},
              previous,
            });
            const version = await execution.secrets.promote(execution.target.secretPath, previous, promoted);
            return {
              provider: restored.provider,
              patch: {
                promotedVersion: version,
                retirement:
                  restored.retire === undefined
                    ? undefined
                    : this.plan(restored.retire, execution.policy, 'delete'),
              },
            };
          },
          base,
          () => 'rollback: the previous value is current again',
        );
      } catch (error: unknown) {
        await this.pause(execution, error);
        throw error;
      }
      await this.save(execution, { state: 'rolled-back', finishedAt: this.now(), lease: undefined });
      await this.settle(execution.record);
      return execution.record;
    } catch (error: unknown) {
      if (error instanceof ConflictError && !(error instanceof RotationBusyError)) {
        await this.store.releaseLock(key.tenant, key.credentialId, key.rotationId);
      }
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Retiring

  /**
   * Runs the retirement phase that is due (deactivate, then delete), if any. The rotator may
   * postpone it (the old credential was used recently) or block it (a person must look).
   */
  async retire(key: RotationKey): Promise<RotationRecord> {
    const record = await this.require(key);
    const retirement = record.retirement;
    const now = this.clock.now();
    if (retirement?.nextPhase === undefined || retirement.dueAt === undefined) return record;
    if (Date.parse(retirement.dueAt) > now.getTime()) return record;
    const execution = await this.begin(record);
    const phase: RetirePhase = retirement.nextPhase;
    try {
      const previous = lastStep(execution.record, phase);
      const attempt = (previous?.attempts ?? 0) + 1;
      const startedAt = this.now();
      const running: StepRecord = {
        step: phase,
        status: 'running',
        startedAt,
        endedAt: undefined,
        attempts: attempt,
        outcome: undefined,
      };
      await this.save(execution, { steps: withStep(execution.record.steps, running) });
      const context = this.context(execution, attempt, startedAt, {
        version: record.promotedVersion ?? 0,
        data: {},
      });
      const outcome = await execution.rotator.retire(context, phase, retirement.ref);
      const at = this.now();
      let next: Retirement;
      if (outcome.status === 'postponed') {
        next = { ...retirement, dueAt: outcome.until.toISOString(), note: outcome.note };
      } else if (outcome.status === 'blocked') {
        next = { ...retirement, status: 'blocked', dueAt: undefined, note: outcome.note };
      } else if (phase === 'deactivate') {
        next = {
          ...retirement,
          status: 'deactivated',
          deactivatedAt: at,
          nextPhase: 'delete',
          dueAt: new Date(Date.parse(at) + execution.policy.deleteAfterDays * DAY_MS).toISOString(),
          note: undefined,
        };
      } else {
        next = {
          ...retirement,
          status: 'retired',
          retiredAt: at,
          nextPhase: undefined,
          dueAt: undefined,
          note: undefined,
        };
      }
      const done = outcome.status === 'done';
      await this.recordAudit(
        execution.record,
        'rotation.retire',
        done ? 'allowed' : 'failed',
        `${phase}: ${next.status}${next.note === undefined ? '' : ` (${next.note})`}`,
      );
      await this.save(execution, {
        retirement: next,
        lease: undefined,
        // A postponed or blocked phase is not done: it runs again when due (the record says why).
        steps: withStep(execution.record.steps, {
          ...running,
          status: done ? 'succeeded' : 'skipped',
          endedAt: at,
          outcome: next.note,
        }),
      });
      if (next.status === 'retired') {
        await this.publish([
          rotationEvent(ROTATION_EVENT_TYPES.retired, execution.record, at, { step: phase }),
        ]);
      }
      return execution.record;
    } catch (error: unknown) {
      await this.pause(execution, error);
      throw error;
    }
  }

  private plan(ref: ProviderState, policy: RotationPolicy, from: RetirePhase): Retirement {
    const days = from === 'deactivate' ? policy.deactivateAfterDays : policy.deleteAfterDays;
    return {
      status: 'scheduled',
      ref,
      nextPhase: from,
      dueAt: new Date(this.clock.now().getTime() + days * DAY_MS).toISOString(),
      deactivatedAt: undefined,
      retiredAt: undefined,
      note: undefined,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Shared parts

  async get(key: RotationKey): Promise<RotationRecord | undefined> {
    return this.store.get(key.tenant, key.credentialId, key.rotationId);
  }

  private async require(key: RotationKey): Promise<RotationRecord> {
    const record = await this.store.get(key.tenant, key.credentialId, key.rotationId);
    if (record === undefined) throw new NotFoundError(`No rotation ${key.rotationId.slice(0, 80)}`);
    return record;
  }

  /** Loads what a run needs and takes the record's lease. */
  private async begin(record: RotationRecord): Promise<Execution> {
    const now = this.clock.now();
    if (record.lease !== undefined && Date.parse(record.lease.until) > now.getTime()) {
      throw new RotationBusyError(`Rotation ${record.rotationId} is being worked on by another executor`);
    }
    const target = await this.targets.load(record.tenant, record.credentialId);
    if (target === undefined) throw new NotFoundError(`No credential ${record.credentialId}`);
    const { rotator, policy } = this.rotatable(target);
    const execution: Execution = {
      record,
      owner: randomUUID(),
      target,
      policy,
      rotator,
      settings: rotator.parseSettings(target.settings),
      secrets: this.rotationSecrets(record.tenant),
    };
    try {
      await this.save(execution, {
        lease: { owner: execution.owner, until: new Date(now.getTime() + this.leaseMs).toISOString() },
      });
    } catch (error: unknown) {
      await this.pause(execution, error);
      throw error;
    }
    return execution;
  }

  private async save(execution: Execution, patch: Partial<RotationRecord>): Promise<void> {
    const current = execution.record;
    const next: RotationRecord = {
      ...current,
      ...patch,
      revision: current.revision + 1,
      updatedAt: this.now(),
    };
    try {
      await this.store.save(next, current.revision);
    } catch (error: unknown) {
      if (error instanceof ConflictError) {
        throw new RotationBusyError(`Rotation ${current.rotationId} changed under this executor`, {
          cause: error,
        });
      }
      throw error;
    }
    execution.record = next;
  }

  private rotationSecrets(tenant: string): RotationSecrets {
    const service = typeof this.secretsService === 'function' ? this.secretsService() : this.secretsService;
    return new RotationSecrets(service, tenant);
  }

  private async recordAudit(
    record: Pick<RotationRecord, 'tenant' | 'credentialId' | 'rotationId'>,
    action: AuditAction,
    outcome: AuditOutcome,
    reason: string,
    extra: {
      path?: string | undefined;
      version?: number | undefined;
      actor?: AuditActor;
      requestId?: string | undefined;
      correlationId?: string | undefined;
    } = {},
  ): Promise<void> {
    await this.audit.record(
      engineAuditEvent(record, { action, outcome, reason, time: this.now(), ...extra }),
    );
  }

  private async publish(events: readonly DomainEvent[]): Promise<void> {
    await this.events.publish(events).catch((error: unknown) => this.onEventsFailed(error, events));
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

/** The steps with `entry` in place of the last record of its step (or appended). */
function withStep(steps: readonly StepRecord[], entry: StepRecord): StepRecord[] {
  const index = steps.map((item) => item.step).lastIndexOf(entry.step);
  return index === -1
    ? [...steps, entry]
    : steps.map((item, position) => (position === index ? entry : item));
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
