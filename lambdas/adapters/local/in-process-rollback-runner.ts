/**
 * The local runtime's way to the rotation worker for explicit rollbacks, in place of a Lambda
 * `Invoke`: the runtime registers an invoker that calls the same worker handler in process with
 * the same command, and the answer is settled as the AWS runner settles it. Until the runtime
 * registers one (or after it stopped), a rollback answers 503.
 */
import { DependencyUnavailableError } from '../../core/errors.js';
import type { RotationRequester } from '../../core/rotation/engine.js';
import {
  type RollbackCommand,
  rollbackCommand,
  type RollbackRunner,
  settleRollbackAnswer,
} from '../../core/rotation/rollback-runner.js';
import type { RotationRecord } from '../../core/rotation/rotation.js';
import type { RotationKey } from '../../core/rotation/rotation-store.js';

export type LocalRollbackInvoker = (command: RollbackCommand) => Promise<unknown>;

export class InProcessRollbackRunner implements RollbackRunner {
  private invoker: LocalRollbackInvoker | undefined;

  setInvoker(invoker: LocalRollbackInvoker | undefined): void {
    this.invoker = invoker;
  }

  async rollback(key: RotationKey, requestedBy: RotationRequester): Promise<RotationRecord> {
    if (this.invoker === undefined) {
      throw new DependencyUnavailableError('The local rotation worker is not running', 5);
    }
    return settleRollbackAnswer(await this.invoker(rollbackCommand(key, requestedBy)));
  }
}

/** The one local runner, shared by the container (caller) and the runtime (which registers the worker). */
export const localRollbackRunner = new InProcessRollbackRunner();
