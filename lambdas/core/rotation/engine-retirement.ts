/**
 * Retiring the old credential after the policy's grace periods: deactivate, then delete, each
 * phase due at its time; the rotator may postpone a phase (the credential was used recently) or
 * block it (a person must look).
 */
import type { EngineCore } from './engine-core.js';
import { DAY_MS, withStep } from './engine-model.js';
import type { RotationPolicy } from './policy.js';
import {
  lastStep,
  type ProviderState,
  type Retirement,
  type RotationRecord,
  type StepRecord,
} from './rotation.js';
import { ROTATION_EVENT_TYPES, rotationEvent } from './rotation-events.js';
import type { RotationKey } from './rotation-store.js';
import type { RetirePhase } from './rotator.js';

/** The retirement of `ref`, its first phase `from` due after the policy's days from `now`. */
export function retirementPlan(
  ref: ProviderState,
  policy: RotationPolicy,
  from: RetirePhase,
  now: Date,
): Retirement {
  const days = from === 'deactivate' ? policy.deactivateAfterDays : policy.deleteAfterDays;
  return {
    status: 'scheduled',
    ref,
    nextPhase: from,
    dueAt: new Date(now.getTime() + days * DAY_MS).toISOString(),
    deactivatedAt: undefined,
    retiredAt: undefined,
    note: undefined,
  };
}

export class RotationRetirement {
  constructor(private readonly core: EngineCore) {}

  /**
   * Runs the retirement phase that is due (deactivate, then delete), if any. The rotator may
   * postpone it (the old credential was used recently) or block it (a person must look).
   */
  async retire(key: RotationKey): Promise<RotationRecord> {
    const record = await this.core.require(key);
    const retirement = record.retirement;
    const now = this.core.clock.now();
    if (retirement?.nextPhase === undefined || retirement.dueAt === undefined) return record;
    if (Date.parse(retirement.dueAt) > now.getTime()) return record;
    const execution = await this.core.begin(record);
    const phase: RetirePhase = retirement.nextPhase;
    try {
      const previous = lastStep(execution.record, phase);
      const attempt = (previous?.attempts ?? 0) + 1;
      const startedAt = this.core.now();
      const running: StepRecord = {
        step: phase,
        status: 'running',
        startedAt,
        endedAt: undefined,
        attempts: attempt,
        outcome: undefined,
      };
      await this.core.save(execution, { steps: withStep(execution.record.steps, running) });
      const context = this.core.context(execution, attempt, startedAt, {
        version: record.promotedVersion ?? 0,
        data: {},
      });
      const outcome = await execution.rotator.retire(context, phase, retirement.ref);
      const at = this.core.now();
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
      await this.core.recordAudit(
        execution.record,
        'rotation.retire',
        done ? 'allowed' : 'failed',
        `${phase}: ${next.status}${next.note === undefined ? '' : ` (${next.note})`}`,
      );
      await this.core.save(execution, {
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
        await this.core.publish([
          rotationEvent(ROTATION_EVENT_TYPES.retired, execution.record, at, { step: phase }),
        ]);
      }
      return execution.record;
    } catch (error: unknown) {
      await this.core.pause(execution, error);
      throw error;
    }
  }
}
