/**
 * Explicit rollbacks cross from the rotations API to the rotation worker through Lambda Invoke
 * (mocked here: Lambda cannot run locally). The worker's answer settles as the record, or as the
 * same domain error the rollback ended with; anything else is a 503, never a leaked payload.
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaRollbackRunner } from '../../lambdas/adapters/aws/lambda-rollback-runner.js';
import { ConflictError, DependencyUnavailableError, NotFoundError } from '../../lambdas/core/errors.js';
import {
  RollbackCommandSchema,
  rollbackFailure,
  SubmitCommandSchema,
} from '../../lambdas/core/rotation/rollback-runner.js';
import { RotationRefusedError } from '../../lambdas/core/rotation/rotator.js';
import { processRollbackCommand } from '../../lambdas/functions/rotation-worker/handler.js';

const lambda = mockClient(LambdaClient);
const WORKER = 'arn:aws:lambda:eu-west-1:123456789012:function:VaultPilot-dev-RotationWorker';
const KEY = {
  tenant: 'acme',
  credentialId: 'cr_0123456789abcdef01234567',
  rotationId: 'rot_0123456789abcdef01234567_00000000012345678',
};
const REQUESTER = {
  actor: { kind: 'user' as const, id: 'sub-1', sourceIp: '192.0.2.1' },
  name: 'user:alice',
  requestId: 'req-1',
};

function runner(): LambdaRollbackRunner {
  return new LambdaRollbackRunner(new LambdaClient({ region: 'eu-west-1' }), WORKER);
}

/** The SDK answers a Uint8Array subclass with string helpers; the runner reads only the bytes. */
function bytes(text: string): InvokeCommandOutput['Payload'] {
  return new TextEncoder().encode(text) as unknown as InvokeCommandOutput['Payload'];
}

function payload(value: unknown): InvokeCommandOutput['Payload'] {
  return bytes(JSON.stringify(value));
}

afterEach(() => {
  lambda.reset();
});

describe('the Lambda rollback runner', () => {
  it('invokes the worker synchronously with a valid rollback command and returns its record', async () => {
    const record = { ...KEY, state: 'rolled-back', steps: [{ step: 'rollback', status: 'succeeded' }] };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ ok: true, rotation: record }) });

    const answer = await runner().rollback(KEY, REQUESTER);

    expect(answer).toMatchObject({ rotationId: KEY.rotationId, state: 'rolled-back' });
    const [call] = lambda.commandCalls(InvokeCommand);
    expect(call?.args[0].input.FunctionName).toBe(WORKER);
    expect(call?.args[0].input.InvocationType).toBe('RequestResponse');
    const sent: unknown = JSON.parse(new TextDecoder().decode(call?.args[0].input.Payload as Uint8Array));
    expect(RollbackCommandSchema.parse(sent)).toEqual({ kind: 'rollback', ...KEY, requestedBy: REQUESTER });
  });

  it("sends a submission with the caller's deadline, for the worker to honour", async () => {
    // Prepare
    const record = { ...KEY, state: 'in-progress', steps: [] };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ ok: true, rotation: record }) });
    const deadline = new Date('2026-12-06T22:00:27.000Z');

    // Act
    const answer = await runner().submit(KEY, { token: 'github_pat_x' }, REQUESTER, deadline);

    // Assess
    expect(answer).toMatchObject({ rotationId: KEY.rotationId, state: 'in-progress' });
    const [call] = lambda.commandCalls(InvokeCommand);
    const sent: unknown = JSON.parse(new TextDecoder().decode(call?.args[0].input.Payload as Uint8Array));
    expect(SubmitCommandSchema.parse(sent)).toEqual({
      kind: 'submit',
      ...KEY,
      requestedBy: REQUESTER,
      value: { token: 'github_pat_x' },
      deadline: '2026-12-06T22:00:27.000Z',
    });
  });

  it('rebuilds the domain error the worker reported, with its details', async () => {
    const refusals = [
      new ConflictError('Only the latest rotation of a credential can be rolled back', {
        details: { latest: 'rot_x' },
      }),
      new NotFoundError('No rotation rot_x'),
      new RotationRefusedError('The previous access key no longer exists at IAM'),
      new DependencyUnavailableError('IAM UpdateAccessKey stayed unavailable (Throttling)', 30),
    ];
    for (const refusal of refusals) {
      lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(rollbackFailure(refusal)) });
      const error: unknown = await runner()
        .rollback(KEY, REQUESTER)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(refusal.constructor);
      expect((error as Error).message).toBe(refusal.message);
      expect((error as ConflictError).details).toEqual(refusal.details);
      if (refusal instanceof DependencyUnavailableError) {
        expect((error as DependencyUnavailableError).retryAfterSeconds).toBe(30);
      }
    }
  });

  it('answers 503 when the worker cannot be invoked, crashed, or answered something else', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    const cases: (() => void)[] = [
      () => lambda.on(InvokeCommand).rejects(throttled),
      () =>
        lambda.on(InvokeCommand).resolves({
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: payload({ errorType: 'Error', errorMessage: 'secret-looking detail' }),
        }),
      () => lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('not json') }),
      () => lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ ok: 'maybe' }) }),
      () =>
        lambda.on(InvokeCommand).resolves({
          StatusCode: 200,
          Payload: payload({ ok: false, error: { code: 'SomethingNew', message: 'x' } }),
        }),
    ];
    for (const arrange of cases) {
      lambda.reset();
      arrange();
      const error: unknown = await runner()
        .rollback(KEY, REQUESTER)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect((error as Error).message).not.toContain('secret-looking');
    }
  });
});

describe("the worker's side", () => {
  it('refuses a command that does not parse, before touching anything', async () => {
    for (const command of [
      {},
      { kind: 'rollback', ...KEY, tenant: 'Not A Tenant', requestedBy: REQUESTER },
      { kind: 'rollback', ...KEY, requestedBy: { ...REQUESTER, actor: { kind: 'root', id: 'x' } } },
      { kind: 'rollback', ...KEY, requestedBy: REQUESTER, extra: true },
      // A submission without the caller's deadline could outlast it: refused.
      { kind: 'submit', ...KEY, requestedBy: REQUESTER, value: { token: 'x' } },
      { kind: 'submit', ...KEY, requestedBy: REQUESTER, value: { token: 'x' }, deadline: 'soon' },
    ]) {
      const answer = await processRollbackCommand(command);
      expect(answer).toEqual({
        ok: false,
        error: { code: 'ValidationError', message: 'The rollback command is invalid' },
      });
    }
  });
});
