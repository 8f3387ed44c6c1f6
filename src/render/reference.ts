/** The reference table, as `mailprobe ports` prints it, fitted to the width it is given. */
import { referenceTable, referenceVersion } from '../reference/table.js';
import { columns, type Style, style, width } from './style.js';
import { wrap } from './wrap.js';

const note = `reference table ${referenceVersion}; RFC 8314 §3.3 prefers implicit TLS (465/993/995), RFC 6409 and common practice recommend 587 with STARTTLS: both are policy choices.`;

/**
 * The table in one line a port when it fits `width` (none: no limit); else each port's references on a line of
 * their own under its row, wrapped at their separators; narrower still, each line wrapped (words cut only when
 * longer than a line). Nothing is left out or cut short: `--json` has the same facts as data.
 */
export function renderReference(options: { color: boolean; width?: number | undefined }): string {
  const s = style(options.color);
  const max = options.width !== undefined && options.width > 0 ? options.width : undefined;
  const full = table(s, true);
  if (max === undefined) return `${full.join('\n')}\n\n${note}\n`;
  const lines = full.every((line) => width(line) <= max)
    ? full
    : table(s, false, max).flatMap((line) => wrap(line, max, '       '));
  return `${lines.join('\n')}\n\n${wrap(note, max, '').join('\n')}\n`;
}

/** The rows, with the references as the last column (`inline`) or on a line under each row. */
function table(s: Style, inline: boolean, max = Number.POSITIVE_INFINITY): string[] {
  const header = [
    'port',
    'service',
    'protocol',
    'role',
    'TLS as it should be',
    ...(inline ? ['reference'] : []),
  ];
  const rows = referenceTable.map((row) => [
    String(row.port),
    row.service,
    row.protocol.toUpperCase(),
    row.role,
    row.expected,
    ...(inline ? [row.reference] : []),
  ]);
  const laid = columns([header.map((h) => s.bold(h)), ...rows]).map((line) => ` ${line}`);
  if (inline) return laid;
  // Under the service column: the references of the row above, wrapped after a "; " where they are too long.
  const pad = ' '.repeat(' port  '.length);
  return laid.flatMap((line, i) => {
    const row = referenceTable[i - 1];
    if (!row) return [line];
    const ref = `${pad}ref: ${row.reference}`;
    const refs = width(ref) <= max ? [ref] : refLines(row.reference, pad, max);
    return [line, ...refs.map((l) => s.dim(l))];
  });
}

/** "ref: A; B; C", a new line before a reference that would not fit: each stays whole where it can. */
function refLines(reference: string, pad: string, max: number): string[] {
  const [first = '', ...rest] = reference.split('; ');
  const lines: string[] = [];
  let line = `${pad}ref: ${first}`;
  for (const part of rest) {
    if (width(`${line}; ${part}`) <= max) line += `; ${part}`;
    else {
      lines.push(`${line};`);
      line = `${pad}     ${part}`;
    }
  }
  return [...lines, line];
}
