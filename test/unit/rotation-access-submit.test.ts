/**
 * `RotationAccess#submit` (and `#rollback`, below) hands a person's value to its runner (the rotation worker) with the
 * caller's deadline, and a rotation answered still `in-progress` (the deadline came, or the
 * storage refused a later step) is queued for the worker to finish: the scheduled runs resume an
 * assisted rotation only while its credential is due. Queueing is best effort: the value is
 * taken either way.
 */
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { RollbackRunner } from '../../lambdas/core/rotation/rollback-runner.js';
import type { RotationRecord } from '../../lambdas/core/rotation/rotation.js';
import { RotationAccess } from '../../lambdas/core/rotation/rotation-access.js';
import {
  type RotationJob,
  RotationJobSchema,
  type RotationQueue,
} from '../../lambdas/core/rotation/rotation-queue.js';

const ROTATION = 'rot_0123456789abcdef01234567_00000000012345678';
const CREDENTIAL = 'cr_0123456789abcdef01234567';
const DEADLINE = new Date('2026-12-02T10:00:27Z');

const CALLER: Caller = {
  principal: {
    kind: 'user',
    subject: 'sub-1',
    username: 'olga',
    tenant: 'acme',
    roles: ['operator'],
    scopes: [],
    clientId: 'dashboard',
  },
  requestId: 'req-1',
};

function access(state: RotationRecord['state'], queue: RotationQueue) {
  const submitted: { deadline: Date; value: unknown }[] = [];
  const runner: RollbackRunner = {
    rollback: async (key) => ({ ...key, state, steps: [] }) as unknown as RotationRecord,
    submit: async (key, value, _requestedBy, deadline) => {
      submitted.push({ deadline, value });
      return { ...key, state, steps: [] } as unknown as RotationRecord;
    },
  };
  // Submission uses none of the engine, store or policies: the runner does the work.
  const unused = {} as never;
  const rotation = new RotationAccess(
    unused,
    unused,
    unused,
    queue,
    runner,
    { record: async () => undefined },
    { now: () => new Date('2026-12-02T10:00:00Z') },
    unused,
  );
  return { rotation, submitted };
}

function recordingQueue(): RotationQueue & { jobs: RotationJob[] } {
  const jobs: RotationJob[] = [];
  return { jobs, send: async (sent) => void jobs.push(...sent) };
}

describe('a submission', () => {
  it("reaches the runner with the caller's deadline; a finished rotation queues nothing", async () => {
    // Prepare
    const queue = recordingQueue();
    const { rotation, submitted } = access('succeeded', queue);

    // Act
    const record = await rotation.submit(CALLER, ROTATION, { token: 'github_pat_x' }, DEADLINE);

    // Assess
    expect(record.state).toBe('succeeded');
    expect(submitted).toEqual([{ deadline: DEADLINE, value: { token: 'github_pat_x' } }]);
    expect(queue.jobs).toEqual([]);
  });

  it('answered in progress is queued for the worker to finish', async () => {
    // Prepare
    const queue = recordingQueue();
    const { rotation } = access('in-progress', queue);

    // Act
    const record = await rotation.submit(CALLER, ROTATION, { token: 'github_pat_x' }, DEADLINE);

    // Assess
    expect(record.state).toBe('in-progress');
    expect(queue.jobs).toEqual([
      { kind: 'run', tenant: 'acme', credentialId: CREDENTIAL, rotationId: ROTATION },
    ]);
  });

  it('answered in progress is answered so even when the queue refuses the job', async () => {
    // Prepare
    const { rotation } = access('in-progress', {
      send: async () => {
        throw new DependencyUnavailableError('The rotation queue is unavailable', 5);
      },
    });

    // Act
    const record = await rotation.submit(CALLER, ROTATION, { token: 'github_pat_x' }, DEADLINE);

    // Assess
    expect(record.state).toBe('in-progress');
  });
});

describe('an explicit rollback', () => {
  it('finished (rolled back) queues nothing', async () => {
    // Prepare
    const queue = recordingQueue();
    const { rotation } = access('rolled-back', queue);

    // Act
    const record = await rotation.rollback(CALLER, ROTATION);

    // Assess
    expect(record.state).toBe('rolled-back');
    expect(queue.jobs).toEqual([]);
  });

  it('begun but cut short by the storage is queued for the worker to finish, as its requester', async () => {
    // Prepare
    const queue = recordingQueue();
    const { rotation } = access('succeeded', queue);

    // Act
    const record = await rotation.rollback(CALLER, ROTATION);

    // Assess
    expect(record.state).toBe('succeeded');
    expect(queue.jobs).toEqual([
      {
        kind: 'rollback',
        tenant: 'acme',
        credentialId: CREDENTIAL,
        rotationId: ROTATION,
        requestedBy: expect.objectContaining({ name: 'user:olga', requestId: 'req-1' }),
      },
    ]);
    expect(RotationJobSchema.safeParse(JSON.parse(JSON.stringify(queue.jobs[0]))).success).toBe(true);
  });
});
