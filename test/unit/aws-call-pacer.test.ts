/**
 * The call pacer: throttling and transient errors are retried with exponential backoff and full
 * jitter, other errors are not; the rate halves on throttling and recovers; calls in flight and
 * per second stay bounded; nothing starts past the deadline. Time is virtual: `sleep` advances it.
 */
import { describe, expect, it } from 'vitest';
import {
  CallPacer,
  type CallPacerOptions,
  DeadlineReachedError,
  isThrottlingError,
  isTransientError,
  type PacerClock,
} from '../../lambdas/adapters/aws/aws-call-pacer.js';

class VirtualClock implements PacerClock {
  time = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}

/** An error shaped like the SDK's service exceptions. */
function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
  });
}

function pacer(options: Partial<CallPacerOptions> = {}) {
  const clock = new VirtualClock();
  return {
    clock,
    pacer: new CallPacer({ ratePerSecond: 10, concurrency: 4, random: () => 0.5, clock, ...options }),
  };
}

describe('CallPacer', () => {
  it('classifies throttling and transient errors as the SDK names them', () => {
    expect(isThrottlingError(awsError('Throttling'))).toBe(true);
    expect(isThrottlingError(awsError('ThrottlingException'))).toBe(true);
    expect(isThrottlingError(awsError('Whatever', 429))).toBe(true);
    expect(isThrottlingError(awsError('AccessDenied', 403))).toBe(false);
    expect(isTransientError(awsError('InternalFailure', 500))).toBe(true);
    expect(isTransientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientError(awsError('NoSuchEntityException', 404))).toBe(false);
  });

  it('retries throttling with exponentially growing, jittered waits until the call succeeds', async () => {
    // Prepare
    const { clock, pacer: subject } = pacer({ baseDelayMs: 100 });
    let attempts = 0;

    // Act
    const result = await subject.call('ListUsers', async () => {
      attempts += 1;
      if (attempts <= 3) throw awsError('Throttling');
      return 'done';
    });

    // Assess
    expect(result).toBe('done');
    expect(attempts).toBe(4);
    // random() = 0.5 of 100, 200, 400 ms, among the pacing waits.
    expect(clock.sleeps).toEqual(expect.arrayContaining([50, 100, 200]));
    expect(subject.stats).toEqual({ calls: 4, throttled: 3, retries: 3 });
  });

  it('gives up after the last attempt with the last error', async () => {
    const { pacer: subject } = pacer({ maxAttempts: 3 });
    let attempts = 0;
    await expect(
      subject.call('ListUsers', async () => {
        attempts += 1;
        throw awsError('ServiceUnavailable', 503);
      }),
    ).rejects.toMatchObject({ name: 'ServiceUnavailable' });
    expect(attempts).toBe(3);
  });

  it('does not retry errors that a retry cannot fix', async () => {
    const { pacer: subject } = pacer();
    let attempts = 0;
    await expect(
      subject.call('GetAccessKeyLastUsed', async () => {
        attempts += 1;
        throw awsError('NoSuchEntityException', 404);
      }),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect(attempts).toBe(1);
  });

  it('slows down on throttling, once per second however many calls come back throttled, and recovers', async () => {
    // Prepare
    const { clock, pacer: subject } = pacer({ ratePerSecond: 100, concurrency: 8, maxAttempts: 2 });
    const throttledBurst = Array.from({ length: 8 }, () =>
      subject
        .call('op', async () => {
          throw awsError('Throttling');
        })
        .catch(() => undefined),
    );

    // Act
    await Promise.all(throttledBurst);

    // Assess: one cut of 30 % for the burst (and one more after a second of retries at most).
    expect(subject.currentRate).toBeGreaterThanOrEqual(49);
    expect(subject.currentRate).toBeLessThan(100);
    const slowed = subject.currentRate;
    const before = clock.now();
    for (let i = 0; i < 2_000 && subject.currentRate < 100; i += 1) await subject.call('op', async () => i);
    expect(subject.currentRate).toBe(100);
    // Back at the ceiling within seconds, not minutes.
    expect(clock.now() - before).toBeLessThan(20_000);
    expect(slowed).toBeLessThan(100);
  });

  it('keeps the request rate under the ceiling (a one-second burst at most)', async () => {
    const { clock, pacer: subject } = pacer({ ratePerSecond: 10 });
    const sentAt: number[] = [];
    for (let i = 0; i < 50; i += 1) await subject.call('op', async () => sentAt.push(clock.now()));
    for (const start of sentAt) {
      const inWindow = sentAt.filter((time) => time >= start && time < start + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(20);
    }
    // 50 calls at 10 per second, after a burst of 10: at least four seconds.
    expect(clock.now()).toBeGreaterThanOrEqual(3_900);
  });

  it('never has more calls in flight than its concurrency', async () => {
    const subject = new CallPacer({ ratePerSecond: 1000, concurrency: 3 });
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        subject.call('op', async () => {
          inFlight += 1;
          peak = Math.max(peak, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight -= 1;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('starts nothing, and waits for no retry, past the deadline', async () => {
    const clock = new VirtualClock();
    clock.time = 10_000;
    const late = new CallPacer({ ratePerSecond: 10, concurrency: 1, clock, deadline: new Date(5_000) });
    await expect(late.call('op', async () => 1)).rejects.toBeInstanceOf(DeadlineReachedError);

    const soon = new CallPacer({
      ratePerSecond: 10,
      concurrency: 1,
      clock,
      deadline: new Date(10_150),
      random: () => 1,
    });
    await expect(
      soon.call('op', async () => {
        throw awsError('Throttling');
      }),
    ).rejects.toBeInstanceOf(DeadlineReachedError);
  });
});
