/**
 * `RotationAccess#rollback` hands the rollback to its runner (the rotation worker in AWS) and
 * answers what the provider refused as a 409 conflict, not a 500: retrying cannot fix an old
 * credential that no longer exists at its provider. Every call is audited, allowed or not.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import { ConflictError, ForbiddenError } from '../../lambdas/core/errors.js';
import type { RollbackRunner } from '../../lambdas/core/rotation/rollback-runner.js';
import type { RotationRecord } from '../../lambdas/core/rotation/rotation.js';
import { RotationAccess } from '../../lambdas/core/rotation/rotation-access.js';
import { RotationRefusedError } from '../../lambdas/core/rotation/rotator.js';

const ROTATION = 'rot_0123456789abcdef01234567_00000000012345678';
const CREDENTIAL = 'cr_0123456789abcdef01234567';

function caller(roles: ('admin' | 'operator' | 'viewer')[]): Caller {
  return {
    principal: {
      kind: 'user',
      subject: 'sub-1',
      username: 'olga',
      tenant: 'acme',
      roles,
      scopes: [],
      clientId: 'dashboard',
    },
    requestId: 'req-1',
  };
}

function access(given: Partial<RollbackRunner>) {
  const runner: RollbackRunner = {
    rollback: () => Promise.reject(new Error('not used')),
    submit: () => Promise.reject(new Error('not used')),
    ...given,
  };
  const audited: AuditEvent[] = [];
  // Rollback uses none of the engine, store or policies: the runner does the work.
  const unused = {} as never;
  const rotation = new RotationAccess(
    unused,
    unused,
    unused,
    { send: async () => undefined },
    runner,
    { record: async (event) => void audited.push(event) },
    { now: () => new Date('2026-12-02T10:00:00Z') },
    unused,
  );
  return { rotation, audited };
}

describe('explicit rollback', () => {
  it('runs through the runner with the caller as requester', async () => {
    const calls: unknown[] = [];
    const { rotation, audited } = access({
      rollback: async (key, requestedBy) => {
        calls.push({ key, requestedBy: requestedBy.name });
        return { rotationId: ROTATION, state: 'rolled-back' } as RotationRecord;
      },
    });
    const record = await rotation.rollback(caller(['operator']), ROTATION);
    expect(record.state).toBe('rolled-back');
    expect(calls).toEqual([
      { key: { tenant: 'acme', credentialId: CREDENTIAL, rotationId: ROTATION }, requestedBy: 'user:olga' },
    ]);
    expect(audited.map((event) => [event.action, event.outcome])).toEqual([
      ['rotation.rollback', 'attempted'],
      ['rotation.rollback', 'allowed'],
    ]);
  });

  it('answers a provider refusal as a conflict, audited as failed', async () => {
    const { rotation, audited } = access({
      rollback: async () => {
        throw new RotationRefusedError('The previous access key no longer exists at IAM');
      },
    });
    const error: unknown = await rotation
      .rollback(caller(['operator']), ROTATION)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/previous access key no longer exists/);
    expect(audited.map((event) => [event.action, event.outcome, event.reason])).toEqual([
      ['rotation.rollback', 'attempted', undefined],
      ['rotation.rollback', 'failed', 'Conflict'],
    ]);
  });

  it('never reaches the runner for a viewer', async () => {
    let ran = false;
    const { rotation, audited } = access({
      rollback: async () => {
        ran = true;
        return {} as RotationRecord;
      },
    });
    await expect(rotation.rollback(caller(['viewer']), ROTATION)).rejects.toBeInstanceOf(ForbiddenError);
    expect(ran).toBe(false);
    expect(audited.map((event) => event.outcome)).toEqual(['denied']);
  });
});
