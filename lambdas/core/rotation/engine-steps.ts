/**
 * The step driver: `create` → `set` → `test` → `finish` (or the dry run's `preflight`), each run
 * once with a checkpoint before and after, the base value pinned by version, errors classified
 * (a refusal or a failed test rolls back, anything else is retried up to `maxStepAttempts`
 * before promotion), and the rotation's completion.
 */
import { ConflictError, NotFoundError } from '../errors.js';
import type { SecretData } from '../secrets/kv-service.js';
import type { EngineCore } from './engine-core.js';
import { type Execution, FIRST_VALUE, RollBack, withStep } from './engine-model.js';
import { retirementPlan } from './engine-retirement.js';
import {
  lastStep,
  type ProviderState,
  type RotationRecord,
  type RotationStepName,
  stepSucceeded,
} from './rotation.js';
import { ROTATION_EVENT_TYPES, rotationEvent } from './rotation-events.js';
import type { CurrentValue } from './rotation-secrets.js';
import {
  describeFailure,
  RotationRefusedError,
  RotationTestFailedError,
  type RotatorContext,
} from './rotator.js';

export class StepDriver {
  constructor(private readonly core: EngineCore) {}

  async drive(execution: Execution): Promise<void> {
    if (execution.record.state === 'pending') {
      await this.core.targets.recordOutcome(execution.record.tenant, execution.record.credentialId, {
        kind: 'rotating',
        rotationId: execution.record.rotationId,
        at: this.core.now(),
      });
      await this.core.save(execution, { state: 'in-progress' });
      await this.core.publish([
        rotationEvent(ROTATION_EVENT_TYPES.started, execution.record, this.core.now()),
      ]);
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
          await this.core.save(execution, {
            provider: { ...execution.record.provider, ...created.provider },
          });
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
          await this.core.save(execution, { promotedVersion: version });
          await this.core.recordAudit(
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
                : retirementPlan(finished.retire, execution.policy, 'deactivate', this.core.clock.now()),
          },
        };
      },
      base,
    );
    await this.complete(execution, 'succeeded', undefined);
  }

  async dryRun(execution: Execution): Promise<void> {
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

  /**
   * The value that was current when the rotation began (read once, pinned by version). `pin:
   * false` leaves the pinning to the caller's next checkpoint (`baseVersion`), which then is the
   * one write.
   */
  async baseValue(execution: Execution, { pin = true }: { pin?: boolean } = {}): Promise<CurrentValue> {
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
      if (pin) await this.core.save(execution, { baseVersion: base.version });
      return base;
    }
    if (pinned === FIRST_VALUE.version) return FIRST_VALUE;
    const data = await execution.secrets.version(path, pinned);
    if (data === undefined) {
      throw new RollBack('create', `Version ${pinned} of ${path} is no longer readable`);
    }
    return { version: pinned, data };
  }

  async pendingValue(execution: Execution): Promise<SecretData> {
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
  async step(
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
    if (attempt > this.core.maxStepAttempts && !promoted && name !== 'rollback') {
      throw new RollBack(name, `${name} did not succeed in ${this.core.maxStepAttempts} attempts`);
    }
    if (attempt > this.core.maxRollbackAttempts && !promoted && name === 'rollback') {
      throw new RollBack(name, `rollback did not succeed in ${this.core.maxRollbackAttempts} attempts`);
    }
    const startedAt = previous?.startedAt ?? this.core.now();
    await this.core.save(execution, {
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
      result = await work(this.core.context(execution, attempt, startedAt, base));
    } catch (error: unknown) {
      if (error instanceof RollBack) throw error;
      if ((error instanceof RotationTestFailedError || error instanceof RotationRefusedError) && !promoted) {
        throw new RollBack(name, describeFailure(error), { cause: error });
      }
      throw error;
    }
    await this.core.recordAudit(
      execution.record,
      'rotation.step',
      'allowed',
      `${describe()} (attempt ${attempt})`,
    );
    await this.core.save(execution, {
      ...result.patch,
      provider: { ...execution.record.provider, ...result.provider },
      steps: withStep(execution.record.steps, {
        step: name,
        status: 'succeeded',
        startedAt,
        endedAt: this.core.now(),
        attempts: attempt,
        outcome: name === 'preflight' ? describe().slice(0, 1024) : undefined,
      }),
    });
  }

  /**
   * A step after promotion that can never succeed (the provider refuses `finish`): the new value
   * is current and stays so, nothing rolls back by itself and nothing old is retired (whoever
   * still uses the old credential keeps working). The rotation fails, the credential is freed for
   * a person to roll back explicitly or rotate again.
   */
  async failAfterPromotion(execution: Execution, error: unknown): Promise<void> {
    const reason = describeFailure(error);
    const step = execution.record.steps.find((entry) => entry.status === 'running')?.step ?? 'finish';
    try {
      await this.core.recordFailure(execution, step, reason);
      await execution.secrets.discardPending(execution.record.credentialId, execution.record.rotationId);
      const at = this.core.now();
      await this.core.recordAudit(
        execution.record,
        'rotation.fail',
        'failed',
        `${step} failed after promotion: ${reason}; version ${execution.record.promotedVersion ?? '?'} is current, the old credential stays as it is`,
        { path: execution.target.secretPath, version: execution.record.promotedVersion },
      );
      await this.core.save(execution, { state: 'failed', finishedAt: at, lease: undefined });
    } catch (cause: unknown) {
      await this.core.pause(execution, cause);
      throw cause;
    }
    await this.core.settle(execution.record);
  }

  async complete(
    execution: Execution,
    state: 'succeeded' | 'failed',
    reason: string | undefined,
  ): Promise<void> {
    const { record } = execution;
    const at = this.core.now();
    await this.core.recordAudit(
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
    await this.core.save(execution, { state, finishedAt: at, lease: undefined });
    await this.core.settle(execution.record);
  }
}
