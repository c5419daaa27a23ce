/**
 * `audited`, the one fail-closed shape of every audited use case: refused calls never run,
 * failed calls are audited with their code only, and a result whose audit record cannot be
 * written is never returned.
 */
import { describe, expect, it } from 'vitest';
import type { AuditOutcome } from '../../lambdas/core/audit/audit-event.js';
import { audited } from '../../lambdas/core/audit/audited.js';
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
    await expect(audited({ denial: undefined, run: () => Promise.reject(failing), record })).rejects.toBe(
      failing,
    );
    expect(records).toEqual([['failed', 'Conflict', undefined]]);

    const down = recorder(['failed']);
    await expect(
      audited({ denial: undefined, run: () => Promise.reject(failing), record: down.record }),
    ).rejects.toBe(failing);
    const crash = recorder();
    await expect(
      audited({ denial: undefined, run: () => Promise.reject(new TypeError('x')), record: crash.record }),
    ).rejects.toBeInstanceOf(TypeError);
    expect(crash.records).toEqual([['failed', 'InternalError', undefined]]);
  });

  it('records success with the result before returning it, and returns nothing it could not audit', async () => {
    const { records, record } = recorder();
    expect(await audited({ denial: undefined, run: async () => ({ id: 'cr_1' }), record })).toEqual({
      id: 'cr_1',
    });
    expect(records).toEqual([['allowed', undefined, { id: 'cr_1' }]]);

    const down = recorder(['allowed']);
    await expect(
      audited({ denial: undefined, run: async () => 'value', record: down.record }),
    ).rejects.toThrow('audit store down');
  });
});
