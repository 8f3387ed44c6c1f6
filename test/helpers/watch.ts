/** Watches one probe: peak memory growth, unhandled errors, and handles left behind. */

/** Handles that keep the event loop alive, by kind. */
export function activeHandles(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kind !== 'TTYWrap')
    .sort();
}

/** Handles in `after` beyond those in `before` (a multiset difference). */
export function added(before: string[], after: string[]): string[] {
  const left = [...before];
  return after.filter((kind) => {
    const index = left.indexOf(kind);
    if (index < 0) return true;
    left.splice(index, 1);
    return false;
  });
}

/**
 * Waits, without adding a timer of its own, until no handle beyond `before` is left (closing sockets release
 * theirs over a few turns of the loop, and a fixture's side closes once it sees ours close), at most `ms`.
 */
export async function handlesLeft(before: string[], ms = 2000): Promise<string[]> {
  const until = performance.now() + ms;
  while (performance.now() < until && added(before, activeHandles()).length > 0) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  return added(before, activeHandles());
}

const used = () => {
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
};

/** Runs `work`, sampling heap + buffer memory every 5 ms and catching unhandled rejections and exceptions. */
export async function watched<T>(work: () => Promise<T>) {
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  const baseline = used();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, used());
  }, 5);
  const started = performance.now();
  try {
    const value = await work();
    return { value, ms: performance.now() - started, peakGrowth: () => peak - baseline, errors };
  } finally {
    clearInterval(sampler);
    peak = Math.max(peak, used());
    // Unhandled rejections are reported on a later turn of the loop.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  }
}
