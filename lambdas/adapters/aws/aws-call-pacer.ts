/**
 * Paces the discovery engine's calls to one AWS API in one account: a bounded number in flight, a
 * request rate that stays under the service's limit, and retries of throttling and transient
 * errors with exponential backoff and full jitter.
 *
 * The rate adapts (additive increase, multiplicative decrease, as TCP and the SDK's adaptive retry
 * mode do): throttling cuts it by 30 % (once per second at most: the calls in flight when the
 * limit was hit all come back throttled, and they are one signal, not twenty), and successes
 * raise it back by a twentieth of the ceiling per second's worth of calls, never above the
 * configured rate. IAM publishes no per-API rate, so the configured one is a ceiling the
 * account's real limit can only lower. The SDK's own retries are turned off for the clients this paces
 * (`maxAttempts: 1`), or both would retry and the rate would not be ours to keep.
 */

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemPacerClock: PacerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface CallPacerOptions {
  /** Ceiling (and starting point) of requests per second. */
  readonly ratePerSecond: number;
  readonly minRatePerSecond?: number;
  /** Calls in flight at most. */
  readonly concurrency: number;
  /** Attempts per call, the first included. */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** No call starts (and no retry waits) past this time. */
  readonly deadline?: Date | undefined;
  readonly clock?: PacerClock;
  readonly random?: () => number;
}

/** The pacer gave up waiting: the run's deadline is near. */
export class DeadlineReachedError extends Error {
  constructor(operation: string) {
    super(`The run's deadline was reached before ${operation} could be sent`);
    this.name = 'DeadlineReachedError';
  }
}

const DECREASE_FACTOR = 0.7;
const DECREASE_WINDOW_MS = 1000;
/** Seconds of successful calls to climb from nothing back to the ceiling. */
const RECOVERY_SECONDS = 20;

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
]);

const TRANSIENT = new Set([
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'InternalServerErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

interface SdkLikeError {
  readonly name?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

export function isThrottlingError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as SdkLikeError;
  return (
    e.$retryable?.throttling === true ||
    THROTTLING.has(e.name ?? '') ||
    THROTTLING.has(e.code ?? '') ||
    e.$metadata?.httpStatusCode === 429
  );
}

export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  return (
    TRANSIENT.has(e.name ?? '') || TRANSIENT.has(e.code ?? '') || (status !== undefined && status >= 500)
  );
}

export interface PacerStats {
  calls: number;
  throttled: number;
  retries: number;
}

export class CallPacer {
  private rate: number;
  private readonly maxRate: number;
  private readonly minRate: number;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly clock: PacerClock;
  private readonly random: () => number;
  /** GCRA: the theoretical time at which the next request may go. */
  private nextSlotAt = 0;
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  readonly stats: PacerStats = { calls: 0, throttled: 0, retries: 0 };

  constructor(private readonly options: CallPacerOptions) {
    if (!(options.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError('concurrency must be a positive integer');
    }
    this.maxRate = options.ratePerSecond;
    this.rate = options.ratePerSecond;
    this.minRate = Math.min(options.minRatePerSecond ?? 0.5, options.ratePerSecond);
    this.concurrency = options.concurrency;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 20_000;
    this.clock = options.clock ?? systemPacerClock;
    this.random = options.random ?? Math.random;
  }

  /** The current rate (requests per second); lower than the ceiling after throttling. */
  get currentRate(): number {
    return this.rate;
  }

  /** Sends through `send`, paced and retried; rejects with the last error when retries run out. */
  async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      await this.acquire(operation);
      let result: T;
      try {
        this.stats.calls += 1;
        result = await send();
      } catch (error: unknown) {
        const throttled = isThrottlingError(error);
        if (throttled) {
          this.stats.throttled += 1;
          const now = this.clock.now();
          if (now - this.lastDecreaseAt >= DECREASE_WINDOW_MS) {
            this.rate = Math.max(this.minRate, this.rate * DECREASE_FACTOR);
            this.lastDecreaseAt = now;
          }
        }
        if ((!throttled && !isTransientError(error)) || attempt >= this.maxAttempts) throw error;
        this.stats.retries += 1;
        const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        await this.wait(this.random() * ceiling, operation);
        continue;
      } finally {
        this.release();
      }
      // A twentieth of the ceiling per second of calls at the current rate.
      this.rate = Math.min(this.maxRate, this.rate + this.maxRate / (RECOVERY_SECONDS * this.rate));
      return result;
    }
  }

  private async acquire(operation: string): Promise<void> {
    if (this.inFlight < this.concurrency) this.inFlight += 1;
    // A released slot passes straight to the next waiter, so the count never overshoots.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      const interval = 1000 / this.rate;
      const now = this.clock.now();
      // A second's worth of requests may go in a burst after a quiet spell.
      const burstAllowance = Math.max(0, this.rate - 1) * interval;
      const at = Math.max(this.nextSlotAt, now - burstAllowance);
      this.nextSlotAt = at + interval;
      if (at > now) await this.wait(at - now, operation);
      if (this.options.deadline !== undefined && this.clock.now() >= this.options.deadline.getTime()) {
        throw new DeadlineReachedError(operation);
      }
    } catch (error: unknown) {
      this.release();
      throw error;
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.inFlight -= 1;
    else next();
  }

  private async wait(ms: number, operation: string): Promise<void> {
    const deadline = this.options.deadline?.getTime();
    if (deadline !== undefined && this.clock.now() + ms >= deadline)
      throw new DeadlineReachedError(operation);
    if (ms > 0) await this.clock.sleep(ms);
  }
}
