/**
 * How a send fails and what follows: a retryable failure (Slack 429 with Retry-After, SES
 * throttling, a 5xx, a timeout) is tried again with backoff; a permanent one (Slack `no_service`
 * or 404, SES `MessageRejected`, an SNS topic that is gone) marks the channel failing and is
 * never retried for ever. Senders throw these two classes; anything else counts as retryable.
 */
export class RetryableDeliveryError extends Error {
  constructor(
    /** A short code (`slack_429`, `ses_Throttling`), never a secret or a response body. */
    readonly reason: string,
    /** What the channel asked for (Retry-After), in milliseconds. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(`Delivery failed, will retry: ${reason}`, options);
    this.name = 'RetryableDeliveryError';
  }
}

export class PermanentDeliveryError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Delivery failed for good: ${reason}`, options);
    this.name = 'PermanentDeliveryError';
  }
}

export type FailureClass =
  | { readonly kind: 'retryable'; readonly reason: string; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'permanent'; readonly reason: string };

export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof PermanentDeliveryError) return { kind: 'permanent', reason: error.reason };
  if (error instanceof RetryableDeliveryError) {
    return { kind: 'retryable', reason: error.reason, retryAfterMs: error.retryAfterMs };
  }
  // Unknown errors keep only their class name: their message may quote a URL or a body.
  return {
    kind: 'retryable',
    reason: error instanceof Error ? error.name : 'unknown',
    retryAfterMs: undefined,
  };
}

export interface RetryPolicy {
  /** Attempts within one delivery (the bus redelivers the event after that). */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A Retry-After longer than this is not waited for in-process; the event is redelivered later. */
  readonly maxWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxWaitMs: 10_000,
};

/**
 * The wait before attempt `attempt + 1`: the channel's Retry-After when it gave one, else
 * exponential backoff with full jitter (`random` in [0, 1)). Undefined: stop retrying now.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  failure: FailureClass,
  random: () => number = Math.random,
): number | undefined {
  if (failure.kind === 'permanent' || attempt >= policy.maxAttempts) return undefined;
  if (failure.retryAfterMs !== undefined) {
    return failure.retryAfterMs > policy.maxWaitMs ? undefined : failure.retryAfterMs;
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Parses an HTTP Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
