/**
 * Assisted rotation in the engine: a rotation of a type whose rotator is `assisted` opens and
 * waits (state `awaiting-input`) instead of running `create`; every later run of it (the
 * scheduler finds it again while it waits) sends the reminder that is due, if any; a person's
 * submission is checked by the type's test and becomes the pending value, and the rotation then
 * runs `set` → `test` → `finish` like any other. A refused submission changes nothing: the
 * rotation stays open and the current value stays current.
 */
import { ConflictError, DependencyUnavailableError, DomainError, ValidationError } from '../errors.js';
import type { SecretData } from '../secrets/kv-service.js';
import { assistedContacts, type AssistedSettings, reminderStage, stageRank } from './assisted.js';
import type { EngineCore } from './engine-core.js';
import {
  type Execution,
  RotationBusyError,
  type RotationRequester,
  type SubmitOptions,
} from './engine-model.js';
import type { StepDriver } from './engine-steps.js';
import { SubmittedValueSchema } from './rollback-runner.js';
import { isTerminal, type RotationRecord } from './rotation.js';
import { sameValue } from './rotation-secrets.js';
import { assistedEvent, ROTATION_EVENT_TYPES } from './rotation-events.js';
import type { RotationKey } from './rotation-store.js';
import { describeFailure, type AssistedInput } from './rotator.js';

/** The provider-state key that remembers the last reminder stage sent. */
const REMINDED = 'reminded';

/** What a refused commit write left: `committed` is the stored record when it was taken. */
interface CommitOutcome {
  readonly certain: boolean;
  readonly committed?: RotationRecord;
}
const NOT_COMMITTED: CommitOutcome = { certain: true };
const UNKNOWN: CommitOutcome = { certain: false };

/** Calls the storage refused are tried again this often in all, with full-jitter backoff. */
const CLEAN_UP_ATTEMPTS = 4;
const CLEAN_UP_BACKOFF_MS = 200;

/**
 * `attempt` until it succeeds, at most `CLEAN_UP_ATTEMPTS` times: the SDK already retried each
 * call, so this outlasts a longer burst of throttling for the calls whose outcome decides what
 * a submission's answer means.
 */
async function retried<T>(attempt: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  for (let tried = 1; ; tried += 1) {
    try {
      return { ok: true, value: await attempt() };
    } catch {
      if (tried >= CLEAN_UP_ATTEMPTS) return { ok: false };
      await new Promise((resolve) => setTimeout(resolve, Math.random() * CLEAN_UP_BACKOFF_MS * 2 ** tried));
    }
  }
}

export class AssistedRotation {
  constructor(
    private readonly core: EngineCore,
    private readonly steps: StepDriver,
  ) {}

  /**
   * Whether the run waits for a person: an assisted type, no dry run, and the rotation not moved
   * on by a submission. A submission's commit point is the checkpoint that moves the rotation to
   * `in-progress`; a pending value found while the rotation still waits is what a submission left
   * that did not get there (refused or crashed), never read, and replaced by the next one.
   */
  waitsForInput(execution: Execution): boolean {
    const { record, rotator } = execution;
    if (rotator.assisted === undefined || record.dryRun) return false;
    return record.state === 'pending' || record.state === 'awaiting-input';
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
   * moves to `in-progress` (the commit point, one conditional write), and runs to its end.
   *
   * What the answer means (the API's contract): an error means the submission was not taken, so
   * a retry is a fresh submission (a 503 changed nothing: no lease is taken before the commit, and
   * a value stored before a refused commit is taken back). Once committed, the answer is the
   * rotation as far as it got: `succeeded`, or `in-progress` when the storage refused a later
   * step or the caller's deadline came first (the rotation worker, or the scheduled runs, finish
   * it); a crash still surfaces. A retried submission of the same value after the rotation moved
   * on is answered with the rotation, not refused.
   *
   * The deadline keeps that contract when the caller gives up waiting (the API's time-out answers
   * 503): the commit does not begin unless `submitReserveMs` remain, so it and learning its
   * outcome end before the caller stops waiting.
   */
  async submit(
    key: RotationKey,
    submitted: unknown,
    requestedBy: RotationRequester,
    run: (key: RotationKey) => Promise<{ record: RotationRecord }>,
    options: SubmitOptions = {},
  ): Promise<RotationRecord> {
    const { deadline } = options;
    const record = await this.core.require(key);
    if (record.state !== 'awaiting-input') return this.replayed(record, submitted, run, deadline);
    const execution = await this.core.prepare(record);
    const audit = (outcome: 'allowed' | 'failed', reason: string) =>
      this.core.recordAudit(execution.record, 'rotation.submit', outcome, reason, {
        actor: requestedBy.actor,
        requestId: requestedBy.requestId,
        correlationId: requestedBy.correlationId,
      });
    const assisted = execution.rotator.assisted;
    if (assisted === undefined) {
      throw new ConflictError(`Credentials of type ${record.credentialType} rotate without a person`);
    }
    // Nothing is written before the commit point: the base version is pinned by the commit.
    const base = await this.steps.baseValue(execution, { pin: false });
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
    // Checked before anything is written, and again at the commit point.
    this.requireTimeToCommit(deadline);
    const { credentialId, rotationId } = execution.record;
    const { secrets } = execution;
    const waiting = execution.record;
    let written = false;
    let committing = false;
    try {
      // A submission that did not reach its commit left its value pending: this one replaces it.
      await secrets.discardPending(credentialId, rotationId);
      // From here the value may be stored: a refused write may have landed all the same.
      written = true;
      await secrets.writePending(credentialId, rotationId, accepted.pending);
      await audit('allowed', `new value submitted by ${requestedBy.name} and accepted by the type's test`);
      this.requireTimeToCommit(deadline);
      committing = true;
      await this.core.save(execution, {
        state: 'in-progress',
        lease: undefined,
        baseVersion: base.version,
        provider: { ...execution.record.provider, ...accepted.provider },
      });
    } catch (error: unknown) {
      const outcome = committing ? await this.commitOutcome(waiting) : NOT_COMMITTED;
      if (outcome.committed !== undefined && error instanceof DependencyUnavailableError) {
        // The refused call stored its write after all: the submission is taken.
        return this.continued(key, run, outcome.committed, deadline);
      }
      // Taken back only when certainly not committed, and only our own value. When the outcome
      // stays unknown, or the take-back is refused every time, the value stays pending: never
      // read while the rotation waits, and discarded first by the next submission.
      if (outcome.certain && outcome.committed === undefined && written) {
        await this.takeBack(waiting, accepted.pending);
      }
      throw error;
    }
    return this.continued(key, run, execution.record, deadline);
  }

  /** `DependencyUnavailableError` (503, nothing changed) when the commit could not end before `deadline`. */
  private requireTimeToCommit(deadline: Date | undefined): void {
    if (deadline === undefined) return;
    if (deadline.getTime() - this.core.clock.now().getTime() >= this.core.submitReserveMs) return;
    throw new DependencyUnavailableError('The submission could not be taken in time; retry shortly', 5, {
      diagnostic: 'submission deadline',
    });
  }

  /**
   * Runs a rotation whose submission is committed (`standing`: the record as last known). The
   * storage refusing a step now does not undo the submission: the rotation stays `in-progress`
   * (its run recorded the failure and gave up its lease) and is answered as it stands. When
   * `deadline` comes first, the answer is `standing` at once and the run goes on without a
   * waiting caller. Either way the API queues a run for a rotation answered `in-progress`, and the
   * scheduled runs resume it too while its credential is due.
   */
  private async continued(
    key: RotationKey,
    run: (key: RotationKey) => Promise<{ record: RotationRecord }>,
    standing: RotationRecord,
    deadline: Date | undefined,
  ): Promise<RotationRecord> {
    const finished = this.runToEnd(key, run, standing).then(
      (record) => ({ record }),
      (error: unknown) => ({ error }),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outOfTime = new Promise<undefined>((resolve) => {
      if (deadline === undefined) return;
      timer = setTimeout(
        () => resolve(undefined),
        Math.max(0, deadline.getTime() - this.core.clock.now().getTime()),
      );
    });
    const first = await Promise.race([finished, outOfTime]);
    clearTimeout(timer);
    if (first === undefined) return standing;
    if ('error' in first) throw first.error;
    return first.record;
  }

  /** The run's record; after a refusal the stored one, or `standing` when even that read is refused. */
  private async runToEnd(
    key: RotationKey,
    run: (key: RotationKey) => Promise<{ record: RotationRecord }>,
    standing: RotationRecord,
  ): Promise<RotationRecord> {
    try {
      return (await run(key)).record;
    } catch (error: unknown) {
      if (!(error instanceof DependencyUnavailableError || error instanceof RotationBusyError)) throw error;
      // The submission is taken: a 503 now would tell the caller it was not.
      const stored = await this.core.store
        .get(key.tenant, key.credentialId, key.rotationId)
        .catch(() => undefined);
      return stored ?? standing;
    }
  }

  /**
   * Whether the commit checkpoint (awaiting-input → in-progress at the next revision) is stored,
   * after its write failed: a failed call may have been applied. Read again (bounded, with
   * backoff) while the read is refused; `certain: false` when it never could be read.
   */
  private async commitOutcome(waiting: RotationRecord): Promise<CommitOutcome> {
    const { tenant, credentialId, rotationId } = waiting;
    const stored = await retried(() => this.core.store.get(tenant, credentialId, rotationId));
    if (!stored.ok) return UNKNOWN;
    const now = stored.value;
    if (now === undefined || now.revision === waiting.revision) return NOT_COMMITTED;
    return now.revision === waiting.revision + 1 && now.state === 'in-progress'
      ? { certain: true, committed: now }
      : UNKNOWN;
  }

  /**
   * Removes the pending value a submission stored before its commit was refused, if the rotation
   * still waits unchanged and the value is still this submission's (never another's), or what a
   * refused write left unreadable; tried again (bounded, with backoff) while the storage refuses
   * it, then left (see `submit`).
   */
  private async takeBack(waiting: RotationRecord, value: SecretData): Promise<void> {
    const { tenant, credentialId, rotationId } = waiting;
    const secrets = this.core.rotationSecrets(tenant);
    await retried(async () => {
      const now = await this.core.store.get(tenant, credentialId, rotationId);
      if (now?.revision !== waiting.revision) return;
      const pending = await secrets.readPending(credentialId, rotationId);
      if (pending === undefined || sameValue(pending, value))
        await secrets.discardPending(credentialId, rotationId);
    });
  }

  /**
   * A submission to a rotation that no longer waits: the same value as the one it took (a client
   * retrying after an answer it did not get) is answered with the rotation, resumed if it is still
   * in progress; anything else is a `ConflictError`, as before.
   */
  private async replayed(
    record: RotationRecord,
    submitted: unknown,
    run: (key: RotationKey) => Promise<{ record: RotationRecord }>,
    deadline: Date | undefined,
  ): Promise<RotationRecord> {
    const refusal = new ConflictError(
      `Rotation ${record.rotationId} is ${record.state}; it does not wait for a value`,
      { details: { state: record.state } },
    );
    if (record.state === 'pending' || !(await this.tookValue(record, submitted))) throw refusal;
    const key = { tenant: record.tenant, credentialId: record.credentialId, rotationId: record.rotationId };
    return isTerminal(record.state) ? record : this.continued(key, run, record, deadline);
  }

  /** Whether every field of `submitted` is the same in the value the rotation took (pending, or promoted). */
  private async tookValue(record: RotationRecord, submitted: unknown): Promise<boolean> {
    const parsed = SubmittedValueSchema.safeParse(submitted);
    if (!parsed.success) return false;
    const target = await this.core.targets.load(record.tenant, record.credentialId);
    if (target === undefined) return false;
    const secrets = this.core.rotationSecrets(record.tenant);
    const taken =
      record.promotedVersion === undefined
        ? await secrets.readPending(record.credentialId, record.rotationId)
        : await secrets.version(target.secretPath, record.promotedVersion);
    if (taken === undefined) return false;
    const fields = Object.keys(parsed.data);
    const pick = (value: SecretData) =>
      Object.fromEntries(fields.map((field) => [field, value[field] ?? '']));
    return fields.every((field) => taken[field] !== undefined) && sameValue(pick(taken), parsed.data);
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
