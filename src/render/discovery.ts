/** The discovery parts of the human report: what DNS said (before the host reports), the client settings (after). */
import type { ClientSetting, ClientSettings } from '../rules/settings.js';
import type { Discovery } from '../types.js';
import { sanitize } from './sanitize.js';
import { columns, style } from './style.js';

export function renderDiscoveryHead(discovery: Discovery, options: { color: boolean }): string {
  const s = style(options.color);
  const rows = discovery.records.map((record) => [
    record.kind,
    sanitize(record.query),
    record.answer ? sanitize(record.answer) : '–',
    record.detail ? sanitize(record.detail) : '',
  ]);
  const title = discovery.email
    ? `${sanitize(discovery.email)} (domain ${sanitize(discovery.domain)})`
    : sanitize(discovery.domain);
  const hosts = discovery.candidates.map(
    (c) => `${sanitize(c.host)} [${c.ports.map((p) => p.port).join(' ')}] ← ${c.sources.join(', ')}`,
  );
  const bounds = [
    ...(discovery.leftOut?.length
      ? [
          ` left out (over --max-hosts): ${discovery.leftOut.length} more: ${discovery.leftOut.slice(0, 10).map(sanitize).join(', ')}${discovery.leftOut.length > 10 ? ', …' : ''}`,
        ]
      : []),
    ...(discovery.deadline
      ? [
          ` the --deadline of ${discovery.deadline.ms} ms ran out: probes still running were aborted${discovery.deadline.notProbed.length > 0 ? `; never probed: ${discovery.deadline.notProbed.map(sanitize).join(', ')}` : ''}`,
        ]
      : []),
  ];
  return `${s.bold(title)}\n\n${s.bold('DNS')}\n${columns(rows)
    .map((line) => ` ${line}`)
    .join(
      '\n',
    )}\n\n${s.bold('probing')}\n${[...hosts.map((h) => ` ${h}`), ...bounds.map((b) => s.yellow(b))].join('\n')}\n\n`;
}

export function renderSettings(settings: ClientSettings, options: { color: boolean }): string {
  const s = style(options.color);
  const line = (label: string, setting: ClientSetting | undefined) =>
    setting
      ? ` ${label.padEnd(9)} ${sanitize(setting.host)}  port ${setting.port}  ${setting.protocol}  ${setting.security}  ${s.dim(`(${setting.source})`)}`
      : ` ${label.padEnd(9)} ${s.red('no server works safely')}`;
  const out = [
    s.bold('settings for a mail client'),
    line('incoming', settings.incoming),
    line('outgoing', settings.outgoing),
  ];
  if (settings.notes.length > 0)
    out.push('', s.bold('notes'), ...settings.notes.map((note) => ` - ${sanitize(note)}`));
  return `${out.join('\n')}\n`;
}
