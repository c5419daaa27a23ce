/**
 * The local runtime's way to the rotation worker for explicit rollbacks, in place of a Lambda
 * `Invoke`: the runtime registers an invoker that calls the same worker handler in process with
 * the same command, and the answer is settled as the AWS runner settles it. Until the runtime
 * registers one (or after it stopped), a rollback answers 503.
 */
import { DependencyUnavailableError } from '../../core/errors.js';
import type { RotationRequester } from '../../core/rotation/engine.js';
import {
  rollbackCommand,
  type RollbackRunner,
  settleRollbackAnswer,
  type SubmittedValue,
  submitCommand,
  type WorkerCommand,
} from '../../core/rotation/rollback-runner.js';
import type { RotationRecord } from '../../core/rotation/rotation.js';
import type { RotationKey } from '../../core/rotation/rotation-store.js';

export type LocalRollbackInvoker = (command: WorkerCommand) => Promise<unknown>;

export class InProcessRollbackRunner implements RollbackRunner {
  private invoker: LocalRollbackInvoker | undefined;

  setInvoker(invoker: LocalRollbackInvoker | undefined): void {
    this.invoker = invoker;
  }

  rollback(key: RotationKey, requestedBy: RotationRequester): Promise<RotationRecord> {
    return this.invoke(rollbackCommand(key, requestedBy));
  }

  submit(
    key: RotationKey,
    value: SubmittedValue,
    requestedBy: RotationRequester,
    deadline: Date,
  ): Promise<RotationRecord> {
    return this.invoke(submitCommand(key, value, requestedBy, deadline));
  }

  private async invoke(command: WorkerCommand): Promise<RotationRecord> {
    if (this.invoker === undefined) {
      throw new DependencyUnavailableError('The local rotation worker is not running', 5);
    }
    return settleRollbackAnswer(await this.invoker(command));
  }
}

/** The one local runner, shared by the container (caller) and the runtime (which registers the worker). */
export const localRollbackRunner = new InProcessRollbackRunner();
