/**
 * Bounds concurrent password hashing. scrypt runs on the libuv thread pool, which the file system
 * (dynalite's LevelDB, the key files) shares: a flood of sign-ins with made-up names would
 * otherwise fill every pool thread and stall authenticated secret reads for seconds. The gate
 * lets a few hashes run at once (well below the pool size), queues a bounded number for a bounded
 * time, and refuses the rest at once with `PasswordHashingBusyError` (503 with Retry-After).
 */
import { DependencyUnavailableError } from '../core/errors.js';

export interface HashingLimits {
  /** scrypt calls running at once. */
  readonly concurrency: number;
  /** Calls waiting for a slot; one more is refused at once. */
  readonly maxQueue: number;
  /** How long a call may wait for a slot before it is refused. */
  readonly maxWaitMs: number;
}

/** libuv's pool has 4 threads unless UV_THREADPOOL_SIZE says otherwise (read once, at start). */
export function threadPoolSize(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const size = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size > 0 ? size : 4;
}

/** A quarter of the pool (at least one): three quarters stay free for storage. */
export function defaultHashingLimits(poolSize = threadPoolSize()): HashingLimits {
  return { concurrency: Math.max(1, Math.floor(poolSize / 4)), maxQueue: 16, maxWaitMs: 2_000 };
}

/** Too many sign-ins are being checked at once: try again shortly. */
export class PasswordHashingBusyError extends DependencyUnavailableError {
  constructor() {
    super('Too many sign-ins are being checked at the moment; try again shortly', 1);
    this.name = 'PasswordHashingBusyError';
  }
}

export interface HashingStats {
  readonly active: number;
  readonly queued: number;
  /** The most calls that ever ran at once. */
  readonly peakActive: number;
  /** Calls refused because the queue was full or the wait too long. */
  readonly refused: number;
}

interface Waiter {
  readonly start: () => void;
  readonly timer: NodeJS.Timeout;
}

export class HashingGate {
  private active = 0;
  private peakActive = 0;
  private refused = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: HashingLimits) {
    if (!Number.isInteger(limits.concurrency) || limits.concurrency < 1) {
      throw new RangeError('Hashing concurrency must be a positive integer');
    }
  }

  stats(): HashingStats {
    return {
      active: this.active,
      queued: this.waiting.length,
      peakActive: this.peakActive,
      refused: this.refused,
    };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.limits.concurrency) {
      this.started();
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.maxQueue) {
      this.refused += 1;
      return Promise.reject(new PasswordHashingBusyError());
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          this.started();
          resolve();
        },
        timer: setTimeout(() => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          this.refused += 1;
          reject(new PasswordHashingBusyError());
        }, this.limits.maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }

  private started(): void {
    this.active += 1;
    this.peakActive = Math.max(this.peakActive, this.active);
  }

  private release(): void {
    this.active -= 1;
    this.waiting.shift()?.start();
  }
}
