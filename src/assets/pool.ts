/**
 * Runs `work` over `items` with at most `limit` at a time, in order of `items`. Stops starting
 * new work once `signal` aborts; work already running is left to observe the same signal.
 * `work` should catch what it wants to report per item: a throw ends the whole run.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      if (signal?.aborted) throw signal.reason;
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () =>
    worker().catch((error: unknown) => void (failure ??= { error })),
  );
  await Promise.all(workers);
  if (failure) throw failure.error;
  if (signal?.aborted) throw signal.reason;
}
