/** The README's samples of real runs, and how a sample is compared with a run: numbers aside. */
import { readFileSync } from 'node:fs';

const readme = () => readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The text of the README's first code block after `after` (a heading, or the sentence that leads it in). */
export function readmeBlock(after: string): string {
  const text = readme();
  const at = text.indexOf(after);
  if (at < 0) throw new Error(`README.md has no ${JSON.stringify(after)}`);
  const start = text.indexOf('\n', text.indexOf('\n```', at) + 1) + 1;
  return text.slice(start, text.indexOf('\n```', start) + 1);
}

/**
 * A report as words with every number blanked: ports, times, counts and days vary from run to run, and with them
 * the padding and where a line wraps; the words and their order do not.
 */
export function sampleTokens(text: string): string[] {
  return blankTimes(text)
    .replace(/\d+(\.\d+)?/g, 'N')
    .split(/\s+/)
    .filter(Boolean);
}

/**
 * A report with the durations blanked (`7 ports in DURATION`: under a second it is in ms, above in s): for a real
 * run on fixed ports, all else is stable.
 */
export function blankTimes(text: string): string {
  return text.replace(/\b\d+(\.\d+)? (s|ms)\b/g, 'DURATION');
}
