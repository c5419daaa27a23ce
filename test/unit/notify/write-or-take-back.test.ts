/** The two-write changes of the notifications API take their first write back when the second fails. */
import { describe, expect, it } from 'vitest';
import { writeOrTakeBack } from '../../../lambdas/core/notify/notification-admin.js';

class RefusedError extends Error {
  override readonly name = 'RefusedError';
}

describe('writeOrTakeBack', () => {
  it('does not undo a write that succeeded', async () => {
    // Prepare
    let undone = 0;

    // Act
    await writeOrTakeBack(
      async () => undefined,
      async () => (undone += 1),
    );

    // Assess
    expect(undone).toBe(0);
  });

  it('retries an undo the storage refuses, and still reports the write as failed', async () => {
    // Prepare: the undo is refused twice, then taken
    const failure = new RefusedError('write refused');
    let tries = 0;

    // Act
    const outcome = writeOrTakeBack(
      async () => {
        throw failure;
      },
      async () => {
        tries += 1;
        if (tries < 3) throw new RefusedError('undo refused');
      },
      { pauseMs: 1 },
    );

    // Assess
    await expect(outcome).rejects.toBe(failure);
    expect(tries).toBe(3);
  });

  it('gives up after the bounded tries, and the error is the write’s, not the undo’s', async () => {
    // Prepare
    const failure = new RefusedError('write refused');
    let tries = 0;

    // Act
    const outcome = writeOrTakeBack(
      async () => {
        throw failure;
      },
      async () => {
        tries += 1;
        throw new RefusedError('undo refused');
      },
      { attempts: 4, pauseMs: 1 },
    );

    // Assess
    await expect(outcome).rejects.toBe(failure);
    expect(tries).toBe(4);
  });
});
