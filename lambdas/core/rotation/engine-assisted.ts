/**
 * Assisted rotation in the engine: a rotation of a type whose rotator is `assisted` opens and
 * waits (state `awaiting-input`) instead of running `create`; every later run of it (the
 * scheduler finds it again while it waits) sends the reminder that is due, if any; a person's
 * submission is checked by the type's test and becomes the pending value, and the rotation then
 * runs `set` → `test` → `finish` like any other. A refused submission changes nothing: the
 * rotation stays open and the current value stays current.
 */
import { ConflictError, DependencyUnavailableError, DomainError, ValidationError } from '../errors.js';
import { assistedContacts, type AssistedSettings, reminderStage, stageRank } from './assisted.js';
import type { EngineCore } from './engine-core.js';
import type { Execution, RotationRequester } from './engine-model.js';
import type { StepDriver } from './engine-steps.js';
import type { RotationRecord } from './rotation.js';
import { assistedEvent, ROTATION_EVENT_TYPES } from './rotation-events.js';
import type { RotationKey } from './rotation-store.js';
import { describeFailure, type AssistedInput } from './rotator.js';

/** The provider-state key that remembers the last reminder stage sent. */
const REMINDED = 'reminded';

export class AssistedRotation {
  constructor(
    private readonly core: EngineCore,
    private readonly steps: StepDriver,
  ) {}

  /** Whether the run waits for a person: an assisted type, no dry run, no value submitted yet. */
  async waitsForInput(execution: Execution): Promise<boolean> {
    const { record, rotator, secrets } = execution;
    if (rotator.assisted === undefined || record.dryRun) return false;
    if (record.state !== 'pending' && record.state !== 'awaiting-input') return false;
    // A submission stores the pending value before it moves the state: after a crash in between,
    // the value is there and the rotation goes on.
    return (await secrets.readPending(record.credentialId, record.rotationId)) === undefined;
  }

  /** Opens the rotation (first run) and sends the reminder that is due; gives up the lease. */
  async wait(execution: Execution): Promise<void> {
    const assisted = execution.rotator.assisted as AssistedInput<unknown>;
    const settings = assisted.settings(execution.settings);
    const { target } = execution;
    const now = this.core.clock.now();
    const at = now.toISOString();
    const events = [];
    if (execution.record.state === 'pending') {
      await this.core.targets.recordOutcome(execution.record.tenant, execution.record.credentialId, {
        kind: 'rotating',
        rotationId: execution.record.rotationId,
        at,
      });
      await this.core.recordAudit(
        execution.record,
        'rotation.step',
        'allowed',
        `awaiting input: a person submits the new value (expiry ${target.expiresAt ?? 'unknown'})`,
      );
      await this.core.save(execution, { state: 'awaiting-input' });
      events.push(
        assistedEvent(ROTATION_EVENT_TYPES.awaitingInput, execution.record, at, {
          expiresAt: target.expiresAt,
          daysLeft: reminderStage(settings, target.expiresAt, now)?.daysLeft,
          contacts: assistedContacts(settings, target.owner, false),
          escalated: false,
        }),
      );
    }
    const due = this.dueReminder(settings, execution, now);
    if (due !== undefined) {
      await this.core.recordAudit(execution.record, 'rotation.step', 'allowed', `reminder ${due.stage} sent`);
      await this.core.save(execution, { provider: { ...execution.record.provider, [REMINDED]: due.stage } });
      events.push(
        assistedEvent(ROTATION_EVENT_TYPES.reminder, execution.record, at, {
          expiresAt: target.expiresAt,
          daysLeft: due.daysLeft,
          stage: due.stage,
          contacts: assistedContacts(settings, target.owner, due.overdue),
          escalated: due.overdue && settings.secondContact !== undefined,
        }),
      );
    }
    await this.core.save(execution, { lease: undefined });
    // After the checkpoints that made them true, as every engine event (best effort).
    await this.core.publish(events);
  }

  /**
   * Takes a person's value for a waiting rotation: the type's test first (a refusal is a 400
   * naming the reason, and nothing changes), then the value is stored as pending and the rotation
   * finishes. Answers the rotation as it ended (or as far as it got).
   */
  async submit(
    key: RotationKey,
    submitted: unknown,
    requestedBy: RotationRequester,
    run: (key: RotationKey) => Promise<{ record: RotationRecord }>,
  ): Promise<RotationRecord> {
    const record = await this.core.require(key);
    if (record.state !== 'awaiting-input') {
      throw new ConflictError(
        `Rotation ${record.rotationId} is ${record.state}; it does not wait for a value`,
        {
          details: { state: record.state },
        },
      );
    }
    const execution = await this.core.begin(record);
    const audit = (outcome: 'allowed' | 'failed', reason: string) =>
      this.core.recordAudit(execution.record, 'rotation.submit', outcome, reason, {
        actor: requestedBy.actor,
        requestId: requestedBy.requestId,
        correlationId: requestedBy.correlationId,
      });
    try {
      const assisted = execution.rotator.assisted;
      if (assisted === undefined) {
        throw new ConflictError(`Credentials of type ${record.credentialType} rotate without a person`);
      }
      const base = await this.steps.baseValue(execution);
      const context = this.core.context(execution, 1, this.core.now(), base);
      let accepted;
      try {
        accepted = await assisted.accept(context, submitted);
      } catch (error: unknown) {
        if (error instanceof DomainError && !(error instanceof DependencyUnavailableError)) {
          await audit('failed', `submission refused: ${describeFailure(error)}`);
          // A malformed value keeps its issues (fields, never values).
          if (error instanceof ValidationError) throw error;
          throw new ValidationError(`The submitted value was refused: ${error.message}`, {
            cause: error,
            details: { reason: error.code },
          });
        }
        throw error;
      }
      const { credentialId, rotationId } = execution.record;
      // A submission that crashed after storing its value left it pending: this one replaces it.
      await execution.secrets.discardPending(credentialId, rotationId);
      await execution.secrets.writePending(credentialId, rotationId, accepted.pending);
      await audit('allowed', `new value submitted by ${requestedBy.name} and accepted by the type's test`);
      await this.core.save(execution, {
        state: 'in-progress',
        lease: undefined,
        provider: { ...execution.record.provider, ...accepted.provider },
      });
    } catch (error: unknown) {
      // Gives up the lease (re-reading the record if a write may have landed after all).
      await this.core.pause(execution, error);
      throw error;
    }
    return (await run(key)).record;
  }

  /** The reminder to send now: the stage reached, if no reminder of it (or a later one) went out. */
  private dueReminder(settings: AssistedSettings, execution: Execution, now: Date) {
    const stage = reminderStage(settings, execution.target.expiresAt, now);
    if (stage === undefined) return undefined;
    const sent = execution.record.provider[REMINDED];
    return stageRank(settings, stage.stage) > stageRank(settings, typeof sent === 'string' ? sent : undefined)
      ? stage
      : undefined;
  }
}
