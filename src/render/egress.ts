/** The egress verdict ("is outbound port 25 blocked here?") as a human report and as JSON (schema egress-1). */

import { isoTime } from '../net/clock.js';
import type { EgressResult } from '../types/index.js';
import { version } from '../version.js';
import { inertJson } from './json.js';
import { sanitize } from './sanitize.js';
import { columns, style } from './style.js';

export function renderEgressJson(result: EgressResult): string {
  return `${inertJson(
    JSON.stringify(
      {
        schemaVersion: 1,
        tool: { name: 'mailprobe', version: version() },
        generatedAt: isoTime(),
        egress: result,
      },
      null,
      2,
    ),
  )}\n`;
}

/** Greedy word wrap to `max` columns; a word longer than that (a long token in a greeting) is cut in pieces. */
function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  const words = text.split(' ').flatMap((word) => {
    const chars = [...word];
    if (chars.length <= max) return [word];
    const pieces: string[] = [];
    for (let i = 0; i < chars.length; i += max) pieces.push(chars.slice(i, i + max).join(''));
    return pieces;
  });
  for (const word of words) {
    if (line && [...line].length + 1 + [...word].length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/**
 * The human report, within 80 columns: the headline; one row per host (its name, then what 25 and the control
 * port did), each followed by indented lines with its address, what that says and why, and the greeting on 25;
 * the summary and the next step, wrapped (a word too long for a line is cut). Only a host name longer than the
 * table allows makes a row wider.
 */
export function renderEgressHuman(result: EgressResult, options: { color: boolean }): string {
  const s = style(options.color);
  const headline = {
    blocked: s.red('BLOCKED'),
    intercepted: s.red('INTERCEPTED'),
    'not-blocked': s.green('not blocked'),
    inconclusive: s.yellow('inconclusive'),
  }[result.conclusion];
  const header = ['host', '25', `control ${result.controlPort}`].map((t) => s.bold(t));
  const table = columns([
    header,
    ...result.hosts.map((h) => [sanitize(h.host), h.port25 ?? '–', h.control ?? '–']),
  ]);
  const indent = '   ';
  const lines = [` ${table[0]}`];
  result.hosts.forEach((h, i) => {
    lines.push(` ${table[i + 1]}`);
    const says = h.error
      ? sanitize(h.error)
      : `${h.evidence}${h.why.length > 0 ? `: ${sanitize(h.why.join('; '))}` : ''}`;
    const detail = [h.address ? `${h.address} · ${says}` : says];
    if (h.smtp?.greeting) detail.push(`greeting: “${sanitize(h.smtp.greeting).slice(0, 60)}”`);
    for (const text of detail)
      lines.push(...wrap(text, 80 - indent.length).map((line) => `${indent}${line}`));
  });
  const next = result.nextStep ? `\n${wrap(sanitize(result.nextStep), 80).join('\n')}\n` : '';
  return `outbound port 25: ${headline}\n\n${lines.join('\n')}\n\n${wrap(sanitize(result.summary), 80).join('\n')}\n${next}`;
}
