/** The reference table, as `mailprobe ports` prints it. */
import { referenceTable, referenceVersion } from '../reference/table.js';
import { columns, style } from './style.js';

export function renderReference(options: { color: boolean }): string {
  const s = style(options.color);
  const rows = referenceTable.map((row) => [
    String(row.port),
    row.service,
    row.protocol.toUpperCase(),
    row.role,
    row.expected,
    row.reference,
  ]);
  const lines = columns([
    ['port', 'service', 'protocol', 'role', 'TLS as it should be', 'reference'].map((h) => s.bold(h)),
    ...rows,
  ]);
  return `${lines.map((line) => ` ${line}`).join('\n')}\n\nreference table ${referenceVersion}; RFC 8314 §3.3 prefers implicit TLS (465/993/995), RFC 6409 and common practice recommend 587 with STARTTLS: both are policy choices.\n`;
}

/** The discovery part of a report: what DNS said, then (after the host reports) the client settings. */
