/** Bounded concurrency for the domain's fan-outs (accounts of a run, writes of a run). */

/**
 * Calls `task` for every item with at most `limit` calls in flight and returns the results in the
 * items' order. Like `Promise.all`, it rejects with the first failure (tasks that must not fail
 * the batch catch their own errors); tasks already started are not awaited then.
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer (got ${limit})`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
