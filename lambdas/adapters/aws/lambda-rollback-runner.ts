/**
 * Explicit rollbacks in the rotation worker: the rotations API invokes the worker function
 * synchronously (Lambda `Invoke`, RequestResponse) with a rollback command, and the worker, which
 * holds the provider rights, runs the engine's rollback. The API function therefore needs only
 * `lambda:InvokeFunction` on the worker, not IAM key management.
 *
 * The worker's answer is settled as in `settleRollbackAnswer` (the record, or the same domain
 * error the rollback ended with); the worker crashing, Lambda refusing or throttling the call
 * is a `DependencyUnavailableError` naming only the error's name. The client honours the SDK's
 * standard configuration (credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL_LAMBDA`).
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
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

export class LambdaRollbackRunner implements RollbackRunner {
  constructor(
    private readonly client: LambdaClient,
    /** The rotation worker's name or ARN. */
    private readonly functionName: string,
  ) {}

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
    let answer;
    try {
      answer = await this.client.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(command)),
        }),
      );
    } catch (error: unknown) {
      throw new DependencyUnavailableError(
        `The rotation worker could not be invoked (Lambda Invoke: ${error instanceof Error ? error.name : 'UnknownError'})`,
        5,
        { cause: error },
      );
    }
    if (answer.FunctionError !== undefined) {
      // The worker failed outside the engine (a crash, a timeout): its payload names the error,
      // which stays in the worker's logs.
      throw new DependencyUnavailableError(`The rotation worker failed (${answer.FunctionError})`, 5);
    }
    return settleRollbackAnswer(parsePayload(answer.Payload));
  }
}

function parsePayload(payload: Uint8Array | undefined): unknown {
  if (payload === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(payload)) as unknown;
  } catch {
    return undefined;
  }
}
