import type { TranscriptEntry } from '../types/index.js';

/** ANSI styling, on only when asked (the CLI decides: a TTY, no NO_COLOR, no --no-color). */
export interface Style {
  bold: (text: string) => string;
  dim: (text: string) => string;
  red: (text: string) => string;
  green: (text: string) => string;
  yellow: (text: string) => string;
}

const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

export function style(color: boolean): Style {
  if (!color) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain };
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
  };
}

/** The marks a transcript line carries, in the order both dialogues (terminal and HTML) show them. */
export function transcriptFlags(entry: TranscriptEntry): string[] {
  const flags: string[] = [];
  if (entry.tls) flags.push('tls');
  if (entry.truncated) flags.push('truncated');
  if (entry.bareLf) flags.push('bare-LF');
  if (entry.unsolicited) flags.push('unsolicited');
  return flags;
}

/** Visible width of a string without its ANSI styling. */
export function width(text: string): number {
  return [...text.replace(/\u001b\[[0-9;]*m/g, '')].length;
}

/** Lays out rows as space-separated columns; the last column is not padded. */
export function columns(rows: string[][], gap = 2): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, width(cell));
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell) + gap),
      )
      .join('')
      .trimEnd(),
  );
}
