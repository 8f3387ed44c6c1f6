/** The Markdown summary (GitHub job summaries): a compact table per host, expectations, findings; server text inert. */
import { needsServername, serverLabel } from '../rules/fixes.js';
import type { CheckedHost, Outcome } from '../rules/outcome.js';
import type { PublishedJudgement } from '../rules/published/judge.js';
import { clip, sanitize } from './sanitize.js';

/**
 * A Markdown cell or line of server text: sanitised, one line; HTML (`<img onerror=…>`), links and emphasis
 * are inert (entities and backslashes), pipes and backticks neutralised. A job summary renders HTML.
 */
function cell(text: string, max = 80): string {
  return clip(sanitize(text), max)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\[\]()*_~!#])/g, '\\$1')
    .replace(/\|/g, '\\|')
    .replace(/`/g, "'");
}

/** A Markdown summary for a run that ended before any report. */
export function renderMarkdownFailure(message: string, exitCode: number): string {
  return `### mailprobe ❌ failed before probing\n\n${cell(message, 400)} (exit ${exitCode})\n`;
}

const mark = (value: boolean | null) => (value === null ? '–' : value ? '✅' : '❌');

/** A compact report fit for a GitHub job summary ($GITHUB_STEP_SUMMARY). */
export function renderMarkdown(
  hosts: CheckedHost[],
  result: Outcome,
  published?: PublishedJudgement,
): string {
  const out: string[] = [];
  for (const host of hosts) {
    out.push(`### mailprobe ${result.passed ? '✅ passed' : '❌ failed'}: ${cell(host.host)}`, '');
    out.push(
      `${host.addresses.map((a) => a.address).join(', ')} · ${(host.durationMs / 1000).toFixed(1)} s · fails on ${result.failOn} or worse`,
      '',
    );
    out.push(
      '| port | address | service | expected | status | works | safe | findings |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const port of host.ports) {
      out.push(
        `| ${port.port} | ${port.address} | ${port.service} | ${port.expected} | ${port.status} | ${mark(port.works)} | ${mark(port.safe)} | ${port.findings.map((id) => `\`${id}\``).join(' ')} |`,
      );
    }
    if (host.expectations?.length) {
      const failed = host.expectations.filter((e) => !e.passed);
      out.push(
        '',
        `**Expectations**: ${host.expectations.length - failed.length} of ${host.expectations.length} met`,
        '',
      );
      out.push('| port | address | expectation | result | observed |', '|---|---|---|---|---|');
      for (const e of host.expectations) {
        out.push(
          `| ${e.port} | ${e.address} | ${cell(e.expectation)} | ${e.passed ? '✅' : '❌'} | ${cell(e.observed)} |`,
        );
      }
    }
    if (host.findings.length > 0) {
      out.push('', '**Findings**', '');
      for (const f of host.findings) {
        out.push(`- **${f.severity}** ${f.port} ${f.address} \`${f.id}\`: ${cell(f.detail, 600)}`);
        for (const line of f.evidence) out.push(`  - evidence: ${cell(line, 400)}`);
        out.push(`  - ref: ${cell(f.reference, 200)}`);
        for (const fix of f.fixes ?? [])
          out.push(
            `  - fix (${serverLabel[fix.server]}, \`${fix.file}\`): \`${fix.setting}\`${fix.note ? ` (${cell(fix.note, 200)})` : ''}`,
          );
      }
    }
    if (needsServername(host, host.findings))
      out.push(
        '',
        `No certificate names ${cell(host.servername)}: pass \`--servername NAME\` (the host name the server is known by).`,
      );
    out.push('', `Use: ${cell(host.recommendation.text, 200)}`, '');
  }
  if (published) {
    out.push('### What the domain publishes for mail clients', '');
    if (published.findings.length === 0) out.push('No drift: every published setting works as published.');
    for (const f of published.findings) out.push(`- **${f.severity}** \`${f.id}\`: ${cell(f.title, 200)}`);
    out.push('');
    const expected = published.expectations ?? [];
    if (expected.length > 0) {
      const failed = expected.filter((e) => !e.passed).length;
      out.push(
        `**Domain expectations**: ${expected.length - failed} of ${expected.length} met`,
        '',
        '| domain | expectation | result | observed |',
        '|---|---|---|---|',
        ...expected.map(
          (e) =>
            `| ${cell(e.domain)} | ${cell(e.expectation)} | ${e.passed ? '✅' : '❌'} | ${cell(e.observed)} |`,
        ),
        '',
      );
    }
  }
  return `${out.join('\n')}\n`;
}
