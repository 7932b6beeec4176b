/**
 * Run `work` over `items` with at most `limit` in flight, in order of start. Results keep the
 * order of `items`. A rejection of `work` is the caller's to prevent: wrap errors into results.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Exponential backoff with full jitter: attempt 0 → up to `baseMs`, doubling, capped at `maxMs`. */
export function backoffDelay(attempt: number, baseMs = 50, maxMs = 2_000, random = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
