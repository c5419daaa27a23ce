/**
 * When a bounded piece of work in a function must stop: the function's remaining time less what
 * it still has to do after the work (store and report the result, answer), so that it ends by
 * itself instead of being cut off by the Lambda timeout (or middy's early 503, just before it).
 */
import type { Context } from 'aws-lambda';

/**
 * What an API function keeps after the work for its last writes and the answer: the call's audit
 * outcome and one more write, each of which the SDK's standard retry may wait on for up to 3 s
 * under throttling (three attempts, backoff drawn below 1 s, then below 2 s). With 2 s, a
 * submission taken right at its deadline answered 503 after the change under throttling (found by
 * the storage-fault suite, seed 44).
 */
export const ANSWER_RESERVE_MS = 5_000;

/** The time `reserveMs` before the function's own time runs out (now, if less is left). */
export function deadlineBefore(context: Pick<Context, 'getRemainingTimeInMillis'>, reserveMs: number): Date {
  return new Date(Date.now() + Math.max(0, context.getRemainingTimeInMillis() - reserveMs));
}
