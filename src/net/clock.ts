/**
 * Milliseconds on a monotonic clock, for durations (differences of two readings) only. Node's `performance`
 * global loads perf_hooks and seven internal modules on first use, about 1 ms before a probe's first socket;
 * process.hrtime needs nothing.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const twoDigits = (n: number) => String(n).padStart(2, '0');

/**
 * The time `ms` (default: now) as `Date#toISOString` writes it, for years 0 to 9999. Node 20's V8 works out the
 * local time zone for toISOString (ICU reads /etc/localtime and the zone database, about 0.3 ms, before a
 * probe's first socket); the UTC fields need no zone.
 */
let lastIso = { ms: Number.NaN, text: '' };

export function isoTime(ms: number = Date.now()): string {
  // A fleet run asks several times a millisecond: the same millisecond, the same text.
  if (ms === lastIso.ms) return lastIso.text;
  const text = isoTimeOf(ms);
  lastIso = { ms, text };
  return text;
}

function isoTimeOf(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (!Number.isFinite(year) || year < 0 || year > 9999) return d.toISOString();
  return `${String(year).padStart(4, '0')}-${twoDigits(d.getUTCMonth() + 1)}-${twoDigits(d.getUTCDate())}T${twoDigits(d.getUTCHours())}:${twoDigits(d.getUTCMinutes())}:${twoDigits(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}Z`;
}
