/**
 * Milliseconds on a monotonic clock, for durations (differences of two readings) only. Node's `performance`
 * global loads perf_hooks and seven internal modules on first use, about 1 ms before a probe's first socket;
 * process.hrtime needs nothing.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
