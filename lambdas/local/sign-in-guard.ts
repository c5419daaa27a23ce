/**
 * Slows password and client-secret guessing without letting anyone lock the real owner out
 * (Cognito locks an account for everyone; five requests a minute would keep `admin` locked for
 * good). Three limits, all checked before any hashing, so a refused attempt costs nothing:
 *
 * - per (source, account) pair: after a few free failures, each further attempt from that source
 *   on that account must wait a delay that doubles with every failure (progressive delay);
 * - per source: a ceiling on failures across all accounts in a window (one address guessing
 *   many names, or the same password against many accounts);
 * - per account: after several failures from anywhere in a short window the account admits only
 *   sources with no failure against it, so an attacker's failures never refuse the owner's
 *   correct password from elsewhere.
 *
 * Attempts in flight count as failures until they settle, so a burst of parallel guesses cannot
 * slip past the limits before the first one is recorded. State is in memory and bounded.
 */
import { TooManyRequestsError } from '../core/errors.js';

export interface SignInPolicy {
  /** Failures of a (source, account) pair before delays start. */
  readonly pairFreeFailures: number;
  /** The first delay; each further failure doubles it, up to `pairMaxDelaySeconds`. */
  readonly pairBaseDelaySeconds: number;
  readonly pairMaxDelaySeconds: number;
  /** A pair's failures are forgotten this long after its last failure. */
  readonly pairMemorySeconds: number;
  /** Failures from one source (any account) within `sourceWindowSeconds` before it is refused. */
  readonly sourceMaxFailures: number;
  readonly sourceWindowSeconds: number;
  /** Failures on one account (any source) within `accountWindowSeconds` that make it admit clean sources only. */
  readonly accountMaxFailures: number;
  readonly accountWindowSeconds: number;
}

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = {
  pairFreeFailures: 3,
  pairBaseDelaySeconds: 1,
  pairMaxDelaySeconds: 300,
  pairMemorySeconds: 900,
  sourceMaxFailures: 50,
  sourceWindowSeconds: 900,
  accountMaxFailures: 5,
  accountWindowSeconds: 60,
};

/** Bounds the memory made-up names and addresses can make the counters use. */
const MAX_TRACKED = 10_000;

interface PairState {
  failures: number;
  lastFailureAt: number;
  inFlight: number;
}

interface WindowCount {
  failures: number;
  windowStart: number;
  inFlight: number;
}

/** One attempt's claim on the limits; settle it exactly once with the outcome. */
export interface SignInAttempt {
  succeeded(): void;
  failed(): void;
  /** Neither success nor failure (the check could not run): the attempt leaves no trace. */
  abandoned(): void;
}

export class SignInGuard {
  private readonly pairs = new Map<string, PairState>();
  private readonly sources = new Map<string, WindowCount>();
  private readonly accounts = new Map<string, WindowCount>();

  constructor(
    private readonly policy: SignInPolicy,
    private readonly clock: () => number,
  ) {}

  /**
   * Admits an attempt of `source` on `account`, or throws `TooManyRequestsError` with the seconds
   * to wait. The caller settles the returned attempt once it knows the outcome.
   */
  begin(source: string, account: string): SignInAttempt {
    const now = this.clock();
    const pairKey = `${source}\u0000${account}`;
    const pair = this.current(
      this.pairs,
      pairKey,
      now,
      (state) => now - state.lastFailureAt > this.policy.pairMemorySeconds * 1000,
    );
    const sourceCount = this.window(this.sources, source, now, this.policy.sourceWindowSeconds);
    const accountCount = this.window(this.accounts, account, now, this.policy.accountWindowSeconds);

    const sourceFailures = (sourceCount?.failures ?? 0) + (sourceCount?.inFlight ?? 0);
    if (sourceFailures >= this.policy.sourceMaxFailures && sourceCount !== undefined) {
      throw refusal(
        'Too many failed sign-in attempts from this address',
        sourceCount.windowStart + this.policy.sourceWindowSeconds * 1000 - now,
      );
    }
    const pairFailures = (pair?.failures ?? 0) + (pair?.inFlight ?? 0);
    if (pair !== undefined && pairFailures >= this.policy.pairFreeFailures) {
      const delayMs = this.delaySeconds(pairFailures) * 1000;
      const waitMs = pair.inFlight > 0 ? delayMs : pair.lastFailureAt + delayMs - now;
      if (waitMs > 0)
        throw refusal('Too many failed sign-in attempts for this account from this address', waitMs);
    }
    const accountFailures = (accountCount?.failures ?? 0) + (accountCount?.inFlight ?? 0);
    if (accountCount !== undefined && accountFailures >= this.policy.accountMaxFailures && pairFailures > 0) {
      // A source that has not failed on this account is still admitted: that is the owner's way in.
      throw refusal(
        'Too many failed sign-in attempts for this account',
        accountCount.windowStart + this.policy.accountWindowSeconds * 1000 - now,
      );
    }

    const pairState =
      pair ?? this.insert(this.pairs, pairKey, { failures: 0, lastFailureAt: now, inFlight: 0 });
    const sourceState =
      sourceCount ?? this.insert(this.sources, source, { failures: 0, windowStart: now, inFlight: 0 });
    const accountState =
      accountCount ?? this.insert(this.accounts, account, { failures: 0, windowStart: now, inFlight: 0 });
    for (const state of [pairState, sourceState, accountState]) state.inFlight += 1;

    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'none'): void => {
      if (settled) return;
      settled = true;
      for (const state of [pairState, sourceState, accountState]) state.inFlight -= 1;
      if (outcome === 'success') {
        this.pairs.delete(pairKey);
      } else if (outcome === 'failure') {
        const at = this.clock();
        pairState.failures += 1;
        pairState.lastFailureAt = at;
        sourceState.failures += 1;
        accountState.failures += 1;
        // Re-inserted in case the entry was dropped to make room meanwhile.
        if (!this.pairs.has(pairKey)) this.insert(this.pairs, pairKey, pairState);
        if (!this.sources.has(source)) this.insert(this.sources, source, sourceState);
        if (!this.accounts.has(account)) this.insert(this.accounts, account, accountState);
      }
    };
    return {
      succeeded: () => settle('success'),
      failed: () => settle('failure'),
      abandoned: () => settle('none'),
    };
  }

  /** The delay after `failures` failures of one pair, in seconds (0 while still free). */
  delaySeconds(failures: number): number {
    if (failures < this.policy.pairFreeFailures) return 0;
    const doublings = failures - this.policy.pairFreeFailures;
    return Math.min(
      this.policy.pairBaseDelaySeconds * 2 ** Math.min(doublings, 30),
      this.policy.pairMaxDelaySeconds,
    );
  }

  private current<T extends { inFlight: number }>(
    map: Map<string, T>,
    key: string,
    now: number,
    expired: (state: T) => boolean,
  ): T | undefined {
    const state = map.get(key);
    if (state === undefined) return undefined;
    if (state.inFlight === 0 && expired(state)) {
      map.delete(key);
      return undefined;
    }
    return state;
  }

  private window(
    map: Map<string, WindowCount>,
    key: string,
    now: number,
    seconds: number,
  ): WindowCount | undefined {
    return this.current(map, key, now, (state) => now - state.windowStart >= seconds * 1000);
  }

  private insert<T>(map: Map<string, T>, key: string, state: T): T {
    // Full: forget the oldest entry (Map keeps insertion order); its attempts in flight settle harmlessly.
    while (map.size >= MAX_TRACKED) {
      const oldest = map.keys().next();
      if (oldest.done === true) break;
      map.delete(oldest.value);
    }
    map.set(key, state);
    return state;
  }
}

function refusal(message: string, waitMs: number): TooManyRequestsError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new TooManyRequestsError(`${message}; try again in ${seconds} seconds`, seconds);
}
