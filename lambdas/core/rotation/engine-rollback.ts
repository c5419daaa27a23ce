/**
 * Rolling back: automatically before promotion (the provider discards the pending value, the
 * current one stays; a rollback the provider refuses or that keeps failing ends the rotation with
 * its pending value kept for a person), and on request after it (the previous value is restored
 * at the provider and becomes current again) while that value still exists.
 */
import { ConflictError, DependencyUnavailableError, NotFoundError } from '../errors.js';
import type { EngineCore } from './engine-core.js';
import {
  type Execution,
  FIRST_VALUE,
  RollBack,
  RotationBusyError,
  type RotationRequester,
  withStep,
} from './engine-model.js';
import { retirementPlan } from './engine-retirement.js';
import type { RotationStarter } from './engine-start.js';
import type { StepDriver } from './engine-steps.js';
import { lastStep, type RotationRecord } from './rotation.js';
import type { RotationKey } from './rotation-store.js';

export class RotationRollback {
  constructor(
    private readonly core: EngineCore,
    private readonly steps: StepDriver,
    private readonly starter: RotationStarter,
  ) {}

  /** Discards the pending value at the provider and in the store; the rotation fails. */
  async rollBackPending(execution: Execution, cause: RollBack): Promise<void> {
    if (execution.record.failure === undefined) {
      await this.core.recordFailure(execution, cause.step, cause.reason);
      await this.core.recordAudit(
        execution.record,
        'rotation.fail',
        'failed',
        `${cause.step} failed: ${cause.reason}`,
      );
    }
    const reason = execution.record.failure ?? cause.reason;
    try {
      const base = await this.steps.baseValue(execution).catch((error: unknown) => {
        // Without a readable current value there is nothing the provider could have changed.
        if (error instanceof RollBack) return undefined;
        throw error;
      });
      await this.steps.step(
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
      await this.core.pause(execution, error);
      throw error;
    }
    await this.steps.complete(execution, 'failed', reason);
  }

  /**
   * Ends a rotation whose automatic rollback cannot finish. The pending value stays in the store
   * (sealed): if the provider applied it after all, it is the one value that works there, and a
   * person decides. The current version is unchanged; the credential is freed.
   */
  async failUnfinishedRollback(execution: Execution, cause: RollBack): Promise<void> {
    // The rollback step's last record: running (refused now) or failed (by an earlier attempt).
    const running = lastStep(execution.record, 'rollback');
    try {
      await this.core.recordAudit(
        execution.record,
        'rotation.fail',
        'failed',
        `rollback unfinished: ${cause.reason}; the pending value is kept for a person to check the provider`,
        { path: execution.target.secretPath },
      );
      await this.core.save(execution, {
        state: 'failed',
        finishedAt: this.core.now(),
        lease: undefined,
        steps:
          running === undefined
            ? execution.record.steps
            : withStep(execution.record.steps, {
                ...running,
                status: 'failed',
                endedAt: this.core.now(),
                outcome: cause.reason.slice(0, 1024),
              }),
      });
    } catch (error: unknown) {
      await this.core.pause(execution, error);
      throw error;
    }
    await this.core.settle(execution.record);
  }

  /**
   * Restores the value that was current before `rotationId` (the credential's latest succeeded
   * rotation), while it still exists: at the provider, then as the new current version. Idempotent.
   * Answers the `rolled-back` record; once the rollback began, a step the storage refuses answers
   * the record as it stands instead (not yet `rolled-back`), for the caller to queue the rest.
   */
  async rollback(key: RotationKey, requestedBy: RotationRequester): Promise<RotationRecord> {
    const record = await this.core.require(key);
    if (record.state === 'rolled-back') {
      const holder = await this.core.store.lockHolder(key.tenant, key.credentialId);
      if (holder?.rotationId === key.rotationId) await this.core.settle(record);
      return record;
    }
    // A rotation that failed after promotion made its value current too: it may be rolled back.
    const madeCurrent = (item: RotationRecord): boolean =>
      !item.dryRun &&
      (item.state === 'succeeded' || (item.state === 'failed' && item.promotedVersion !== undefined));
    const latest = (await this.core.store.list(key.tenant, key.credentialId, { limit: 20 })).items.find(
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
    // Reads and the audit record come before the first write (lock, lease): if storage or the
    // audit log is unavailable here, the rotation is left exactly as it was (no partial 503).
    const target = await this.core.targets.load(key.tenant, key.credentialId);
    if (target === undefined) throw new NotFoundError(`No credential ${key.credentialId}`);
    const secrets = this.core.rotationSecrets(key.tenant);
    const previous =
      record.baseVersion === undefined
        ? undefined
        : await secrets.version(target.secretPath, record.baseVersion);
    const promoted = record.promotedVersion;
    if (previous === undefined || promoted === undefined) {
      throw new ConflictError('The previous version no longer exists in the secret store');
    }
    const current = await secrets.version(target.secretPath, promoted);
    await this.core.recordAudit(record, 'rotation.rollback', 'allowed', 'rollback requested', {
      actor: requestedBy.actor,
      requestId: requestedBy.requestId,
      correlationId: requestedBy.correlationId,
    });
    await this.starter.lock(key.tenant, key.credentialId, key.rotationId, this.core.clock.now());
    let begun: Execution | undefined;
    try {
      const execution = await this.core.begin(record);
      begun = execution;
      const base = { version: record.baseVersion ?? 0, data: previous };
      try {
        await this.steps.step(
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
                    : retirementPlan(restored.retire, execution.policy, 'delete', this.core.clock.now()),
              },
            };
          },
          base,
          () => 'rollback: the previous value is current again',
        );
      } catch (error: unknown) {
        await this.core.pause(execution, error);
        throw error;
      }
      await this.core.save(execution, {
        state: 'rolled-back',
        finishedAt: this.core.now(),
        lease: undefined,
      });
      await this.core.settle(execution.record);
      return execution.record;
    } catch (error: unknown) {
      if (begun !== undefined && error instanceof DependencyUnavailableError) {
        // Begun, then cut short by the storage: the previous value may be current again already,
        // so a 503 ("nothing changed") would be wrong. The rotation is answered as it stands (its
        // rollback step open, the lease given back by `pause`), or as this executor last wrote it
        // when the storage refuses that read too, and the caller hands the rest to the worker,
        // which runs this idempotent rollback again to its end.
        const stored = await this.core.store
          .get(key.tenant, key.credentialId, key.rotationId)
          .catch(() => undefined);
        return stored ?? begun.record;
      }
      // Nothing ran under the lock yet (or the rollback was refused): give the credential back.
      if ((begun === undefined || error instanceof ConflictError) && !(error instanceof RotationBusyError)) {
        // A release that fails too must not hide the first error; the lock's holder is terminal,
        // so the next start takes it over (RotationStarter.lock).
        await this.core.store
          .releaseLock(key.tenant, key.credentialId, key.rotationId)
          .catch(() => undefined);
      }
      throw error;
    }
  }
}
