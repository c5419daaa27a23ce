/**
 * The bound on concurrent password hashing: never more than `concurrency` tasks at once, a
 * bounded queue, refusal (503-class, with Retry-After) when the queue is full or the wait too long.
 */
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import {
  defaultHashingLimits,
  HashingGate,
  PasswordHashingBusyError,
} from '../../lambdas/local/hashing-gate.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe('HashingGate', () => {
  it('runs at most `concurrency` tasks at once and starts queued ones as others finish', async () => {
    // Prepare
    const gate = new HashingGate({ concurrency: 2, maxQueue: 10, maxWaitMs: 10_000 });
    const releases = Array.from({ length: 6 }, deferred);
    let running = 0;
    let peak = 0;

    // Act
    const tasks = releases.map((release) =>
      gate.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await release.promise;
        running -= 1;
      }),
    );
    await Promise.resolve();
    const queuedWhileFull = gate.stats().queued;
    for (const release of releases) {
      release.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(tasks);

    // Assess
    expect(queuedWhileFull).toBe(4);
    expect(peak).toBe(2);
    expect(gate.stats()).toEqual({ active: 0, queued: 0, peakActive: 2, refused: 0 });
  });

  it('refuses at once when the queue is full, with a Retry-After', async () => {
    // Prepare
    const gate = new HashingGate({ concurrency: 1, maxQueue: 1, maxWaitMs: 10_000 });
    const hold = deferred();
    const first = gate.run(() => hold.promise);
    const second = gate.run(async () => undefined);

    // Act
    const third = await gate.run(async () => undefined).catch((error: unknown) => error);
    hold.resolve();
    await Promise.all([first, second]);

    // Assess
    expect(third).toBeInstanceOf(PasswordHashingBusyError);
    expect(third).toBeInstanceOf(DependencyUnavailableError);
    expect((third as PasswordHashingBusyError).retryAfterSeconds).toBe(1);
    expect(gate.stats().refused).toBe(1);
  });

  it('refuses a task that waited longer than maxWaitMs and never runs it', async () => {
    // Prepare
    const gate = new HashingGate({ concurrency: 1, maxQueue: 5, maxWaitMs: 20 });
    const hold = deferred();
    const first = gate.run(() => hold.promise);
    let ran = false;

    // Act
    const waited = await gate
      .run(async () => {
        ran = true;
      })
      .catch((error: unknown) => error);
    hold.resolve();
    await first;

    // Assess
    expect(waited).toBeInstanceOf(PasswordHashingBusyError);
    expect(ran).toBe(false);
  });

  it('keeps three quarters of the libuv pool free for storage by default', () => {
    // Act / Assess
    expect(defaultHashingLimits(4).concurrency).toBe(1);
    expect(defaultHashingLimits(8).concurrency).toBe(2);
    expect(defaultHashingLimits(16).concurrency).toBe(4);
  });
});
