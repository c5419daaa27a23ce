/**
 * `audited`, the one fail-closed shape of every audited use case: refused calls never run,
 * failed calls are audited with their code only, a read whose audit record cannot be written is
 * never returned, and a change never runs unless its `attempted` record is durable first.
 */
import { describe, expect, it } from 'vitest';
import type { AuditOutcome } from '../../lambdas/core/audit/audit-event.js';
import { audited, LateDenialError, reportLostAuditOutcome } from '../../lambdas/core/audit/audited.js';
import { ConflictError, ForbiddenError } from '../../lambdas/core/errors.js';

function recorder(fail: AuditOutcome[] = []) {
  const records: [AuditOutcome, string | undefined, unknown][] = [];
  const record = async (outcome: AuditOutcome, reason: string | undefined, result?: unknown) => {
    if (fail.includes(outcome)) throw new Error('audit store down');
    records.push([outcome, reason, result]);
  };
  return { records, record };
}

describe('audited', () => {
  it('audits a refused call as denied with its reason, answers 403 and never runs it', async () => {
    const { records, record } = recorder();
    let ran = false;
    const call = audited({
      denial: 'role or scope does not allow it',
      changes: true,
      run: async () => {
        ran = true;
      },
      record,
    });
    await expect(call).rejects.toBeInstanceOf(ForbiddenError);
    expect(ran).toBe(false);
    expect(records).toEqual([['denied', 'role or scope does not allow it', undefined]]);
  });

  it('audits a failed call with the error code only and rethrows the original error, even if that audit fails', async () => {
    const failing = new ConflictError('value s3cr3t must not be audited');
    const { records, record } = recorder();
    await expect(
      audited({ denial: undefined, changes: false, run: () => Promise.reject(failing), record }),
    ).rejects.toBe(failing);
    expect(records).toEqual([['failed', 'Conflict', undefined]]);

    const down = recorder(['failed']);
    await expect(
      audited({ denial: undefined, changes: false, run: () => Promise.reject(failing), record: down.record }),
    ).rejects.toBe(failing);
    const crash = recorder();
    await expect(
      audited({
        denial: undefined,
        changes: false,
        run: () => Promise.reject(new TypeError('x')),
        record: crash.record,
      }),
    ).rejects.toBeInstanceOf(TypeError);
    expect(crash.records).toEqual([['failed', 'InternalError', undefined]]);
  });

  it('records success with the result before returning it, and returns nothing it could not audit', async () => {
    const { records, record } = recorder();
    expect(
      await audited({ denial: undefined, changes: false, run: async () => ({ id: 'cr_1' }), record }),
    ).toEqual({
      id: 'cr_1',
    });
    expect(records).toEqual([['allowed', undefined, { id: 'cr_1' }]]);

    const down = recorder(['allowed']);
    await expect(
      audited({ denial: undefined, changes: false, run: async () => 'value', record: down.record }),
    ).rejects.toThrow('audit store down');
  });

  it('records a change as attempted before it runs, and never runs it when that record fails', async () => {
    // Prepare
    const { records, record } = recorder();
    const order: string[] = [];
    const tracked = async (outcome: AuditOutcome, reason: string | undefined, result?: unknown) => {
      order.push(`audit:${outcome}`);
      await record(outcome, reason, result);
    };
    const down = recorder(['attempted']);
    let ranWhileDown = false;

    // Act
    const result = await audited({
      denial: undefined,
      changes: true,
      run: async () => {
        order.push('run');
        return { version: 2 };
      },
      record: tracked,
    });
    const refused = audited({
      denial: undefined,
      changes: true,
      run: async () => {
        ranWhileDown = true;
      },
      record: down.record,
    });

    // Assess
    expect(result).toEqual({ version: 2 });
    expect(order).toEqual(['audit:attempted', 'run', 'audit:allowed']);
    expect(records).toEqual([
      ['attempted', undefined, undefined],
      ['allowed', undefined, { version: 2 }],
    ]);
    await expect(refused).rejects.toThrow('audit store down');
    expect(ranWhileDown).toBe(false);
    expect(down.records).toEqual([]);
  });

  it('leaves attempted and failed records when a change fails in storage', async () => {
    const { records, record } = recorder();
    const storage = new Error('storage down');
    await expect(
      audited({ denial: undefined, changes: true, run: () => Promise.reject(storage), record }),
    ).rejects.toBe(storage);
    expect(records).toEqual([
      ['attempted', undefined, undefined],
      ['failed', 'InternalError', undefined],
    ]);
  });

  it('returns a change it made when only its outcome could not be recorded, and reports the loss', async () => {
    // Prepare
    const lost: unknown[] = [];
    reportLostAuditOutcome((error) => lost.push(error));
    const down = recorder(['allowed']);

    // Act
    const result = await audited({
      denial: undefined,
      changes: true,
      run: async () => 'done',
      record: down.record,
    });

    // Assess: the change happened and its attempted event stands; a 503 would invite a second one.
    expect(result).toBe('done');
    expect(down.records).toEqual([['attempted', undefined, undefined]]);
    expect(lost).toHaveLength(1);
    reportLostAuditOutcome(() => undefined);
  });

  it('audits a denial decided inside the call as denied with its reason', async () => {
    const { records, record } = recorder();
    await expect(
      audited({
        denial: undefined,
        changes: true,
        run: () => Promise.reject(new LateDenialError('no update capability on prod/*')),
        record,
      }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(records).toEqual([
      ['attempted', undefined, undefined],
      ['denied', 'no update capability on prod/*', undefined],
    ]);
  });
});
