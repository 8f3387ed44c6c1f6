/** The egress verdict ("is outbound port 25 blocked here?") as a human report and as JSON (schema egress-1). */

import { isoTime } from '../net/clock.js';
import type { EgressResult } from '../types/index.js';
import { version } from '../version.js';
import { sanitize } from './sanitize.js';
import { columns, style } from './style.js';

export function renderEgressJson(result: EgressResult): string {
  return `${JSON.stringify(
    {
      schemaVersion: 1,
      tool: { name: 'mailprobe', version: version() },
      generatedAt: isoTime(),
      egress: result,
    },
    null,
    2,
  )}\n`;
}

/** Greedy word wrap to `max` columns (a word longer than that keeps its own line, whole). */
function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

export function renderEgressHuman(result: EgressResult, options: { color: boolean }): string {
  const s = style(options.color);
  const headline = {
    blocked: s.red('BLOCKED'),
    intercepted: s.red('INTERCEPTED'),
    'not-blocked': s.green('not blocked'),
    inconclusive: s.yellow('inconclusive'),
  }[result.conclusion];
  const rows = result.hosts.map((h) => [
    sanitize(h.host),
    h.address ?? '–',
    h.port25 ?? '–',
    h.control ?? '–',
    h.smtp?.greeting ? `“${sanitize(h.smtp.greeting).slice(0, 40)}”` : '–',
    h.error ? sanitize(h.error) : `${h.evidence}${h.why.length > 0 ? `: ${sanitize(h.why.join('; '))}` : ''}`,
  ]);
  const table = columns([
    ['host', 'address', '25', `control ${result.controlPort}`, 'greeting on 25', 'says'].map((t) =>
      s.bold(t),
    ),
    ...rows,
  ]);
  const next = result.nextStep ? `\n${wrap(sanitize(result.nextStep), 80).join('\n')}\n` : '';
  return `outbound port 25: ${headline}\n\n${table.map((l) => ` ${l}`).join('\n')}\n\n${sanitize(result.summary)}\n${next}`;
}
