/**
 * The rotation engine's shared machinery: loading a rotation and taking its lease, checkpoints
 * (a conditional save on the record's revision), pausing on a transient failure, settling a
 * finished rotation (inventory, event, lock), abandoning one that cannot run, and the audit and
 * event helpers every part uses.
 */
import { randomUUID } from 'node:crypto';
import type { AuditAction, AuditActor, AuditOutcome } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { DomainEvent, EventPublisher } from '../events.js';
import type { Clock } from '../ports.js';
import type { SecretsService } from '../secrets/kv-service.js';
import {
  type Execution,
  MINUTE_MS,
  RollBack,
  RotationBusyError,
  type RotationEngineOptions,
  type RotationTargets,
  type RotatorRegistry,
  withStep,
} from './engine-model.js';
import { type ExpiryLead, isRotatorType, type RotationPolicy } from './policy.js';
import type { RotationRecord, RotationStepName } from './rotation.js';
import { engineAuditEvent, ROTATION_EVENT_TYPES, rotationEvent } from './rotation-events.js';
import { type CurrentValue, RotationSecrets } from './rotation-secrets.js';
import type { RotationKey, RotationStore } from './rotation-store.js';
import { describeFailure, type RotationTarget, type Rotator, type RotatorContext } from './rotator.js';

export class EngineCore {
  readonly leaseMs: number;
  readonly orphanLockMs: number;
  readonly maxStepAttempts: number;
  readonly maxRollbackAttempts: number;
  readonly submitReserveMs: number;
  readonly onEventsFailed: (error: unknown, events: readonly DomainEvent[]) => void;

  constructor(
    readonly store: RotationStore,
    readonly targets: RotationTargets,
    readonly rotators: RotatorRegistry,
    /** The secret store, or how to build it on first use (a function that only starts rotations never does). */
    readonly secretsService: SecretsService | (() => SecretsService),
    readonly audit: AuditSink,
    readonly events: EventPublisher,
    readonly clock: Clock,
    options: RotationEngineOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 15 * MINUTE_MS;
    this.orphanLockMs = options.orphanLockMs ?? 5 * MINUTE_MS;
    this.maxStepAttempts = options.maxStepAttempts ?? 5;
    this.maxRollbackAttempts = options.maxRollbackAttempts ?? 2 * this.maxStepAttempts;
    this.submitReserveMs = options.submitReserveMs ?? 10_000;
    this.onEventsFailed = options.onEventsFailed ?? (() => undefined);
  }

  /** The policy and rotator of a credential, or a `ValidationError` saying why it cannot rotate. */
  rotatable(target: RotationTarget): { rotator: Rotator<unknown>; policy: RotationPolicy } {
    const rotator = isRotatorType(target.type) ? this.rotators[target.type] : undefined;
    if (rotator === undefined) {
      throw new ValidationError(`Credentials of type ${target.type} cannot be rotated by VaultPilot`, {
        details: { type: target.type },
      });
    }
    const policy = target.policy;
    if (policy === undefined) {
      // Say how to give it one: the registration's policy is optional, so this is a common first meeting.
      throw new ValidationError(
        `The credential has no rotation policy: give it one with PATCH /credentials/${target.credentialId} ` +
          '(rotationPolicy: a policy name, or an inline policy such as {"intervalDays": 30}), ' +
          'or add a rotation policy that applies to its type (PUT /rotation-policies/{name})',
        { details: { field: 'rotationPolicy' } },
      );
    }
    if (policy.rotator !== undefined && policy.rotator !== target.type) {
      throw new ValidationError(`Policy ${policy.name} applies to ${policy.rotator} credentials only`);
    }
    return { rotator, policy };
  }

  /** `target`'s expiry with its rotator's lead before it, if it names one (for `dueTimeOf`). */
  expiryLead(target: RotationTarget): ExpiryLead {
    const rotator = isRotatorType(target.type) ? this.rotators[target.type] : undefined;
    return {
      expiresAt: target.expiresAt,
      leadMs: rotator?.dueBeforeExpiryMs?.(rotator.parseSettings(target.settings)),
      lastRotatedAt: rotator?.assisted === undefined ? target.lastRotatedAt : undefined,
    };
  }

  context(
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
  async recordFailure(execution: Execution, step: RotationStepName, reason: string): Promise<void> {
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

  /**
   * What follows a rotation's last checkpoint: the inventory learns the outcome, the event goes
   * out, and the lock is freed last. A run that finds a finished rotation still holding the lock
   * (a crash in between) settles it again; the event may then go out twice (at least once).
   */
  async settle(record: RotationRecord): Promise<void> {
    const at = record.finishedAt ?? this.now();
    const reason = record.failure;
    if (record.state === 'succeeded' || record.state === 'failed') {
      await this.targets.recordOutcome(
        record.tenant,
        record.credentialId,
        record.state === 'succeeded'
          ? {
              kind: 'succeeded',
              rotationId: record.rotationId,
              at,
              dryRun: record.dryRun,
              expiresAt: this.learnedExpiry(record),
            }
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

  /** The expiry a rotation learned, `null` when its type expires but it learned none, else undefined. */
  learnedExpiry(record: RotationRecord): string | null | undefined {
    const learned = record.provider.expiresAt;
    if (typeof learned === 'string' && !Number.isNaN(Date.parse(learned))) return learned;
    const rotator = isRotatorType(record.credentialType) ? this.rotators[record.credentialType] : undefined;
    return rotator?.dueBeforeExpiryMs === undefined || record.dryRun ? undefined : null;
  }

  /** Fails a rotation that cannot run any more; drops its pending value and lock. */
  async abandon(record: RotationRecord, error: unknown): Promise<RotationRecord> {
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
  async pause(execution: Execution, error: unknown): Promise<void> {
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
      await this.releaseIfStored(execution, release);
    }
  }

  async require(key: RotationKey): Promise<RotationRecord> {
    const record = await this.store.get(key.tenant, key.credentialId, key.rotationId);
    if (record === undefined) throw new NotFoundError(`No rotation ${key.rotationId.slice(0, 80)}`);
    return record;
  }

  /** Loads what a run needs and takes the record's lease. */
  async begin(record: RotationRecord): Promise<Execution> {
    const now = this.clock.now();
    const execution = await this.prepare(record);
    try {
      await this.save(execution, {
        lease: { owner: execution.owner, until: new Date(now.getTime() + this.leaseMs).toISOString() },
      });
    } catch (error: unknown) {
      // Only a lease stored after all (the failed call's answer was lost) is given back: releasing
      // one never taken would still change the record (its revision), under a call answering 503.
      if (!(error instanceof RotationBusyError)) {
        await this.releaseIfStored(execution, () => this.save(execution, { lease: undefined }));
      }
      throw error;
    }
    return execution;
  }

  /**
   * After a write whose call failed, which may have been stored after all: reads the record again
   * and, if this executor's lease is on it, runs `release`; otherwise, or if that fails too, the
   * lease runs out by itself.
   */
  private async releaseIfStored(execution: Execution, release: () => Promise<void>): Promise<void> {
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

  /**
   * Loads what a run needs without writing anything (no lease): `RotationBusyError` while another
   * executor holds the record. A caller that then saves relies on the save's revision check alone.
   */
  async prepare(record: RotationRecord): Promise<Execution> {
    if (record.lease !== undefined && Date.parse(record.lease.until) > this.clock.now().getTime()) {
      throw new RotationBusyError(`Rotation ${record.rotationId} is being worked on by another executor`);
    }
    const target = await this.targets.load(record.tenant, record.credentialId);
    if (target === undefined) throw new NotFoundError(`No credential ${record.credentialId}`);
    const { rotator, policy } = this.rotatable(target);
    return {
      record,
      owner: randomUUID(),
      target,
      policy,
      rotator,
      settings: rotator.parseSettings(target.settings),
      secrets: this.rotationSecrets(record.tenant),
    };
  }

  async save(execution: Execution, patch: Partial<RotationRecord>): Promise<void> {
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

  rotationSecrets(tenant: string): RotationSecrets {
    const service = typeof this.secretsService === 'function' ? this.secretsService() : this.secretsService;
    return new RotationSecrets(service, tenant);
  }

  async recordAudit(
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

  async publish(events: readonly DomainEvent[]): Promise<void> {
    await this.events.publish(events).catch((error: unknown) => this.onEventsFailed(error, events));
  }

  now(): string {
    return this.clock.now().toISOString();
  }
}
