/**
 * One judged run in the format asked for: JSON, JUnit, Markdown, OpenMetrics, or the human report (with a
 * discovery's head, suggested settings and published-settings check around the hosts when there was one).
 */
import { type CheckedHost, hostOutcome, type Outcome } from '../rules/outcome.js';
import { renderDiscoveryHead, renderDiscoveryTail } from './discovery.js';
import { type HumanOptions, renderHuman } from './human.js';
import { type JsonReport, renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import { renderOpenMetrics } from './openmetrics.js';

/** The formats a report comes in. */
export type Format = 'human' | 'json' | 'junit' | 'markdown' | 'openmetrics';

/** What a discovery adds to the report: its hosts and sources, the suggested settings, the published check. */
export type DiscoveryReport = NonNullable<JsonReport['discovery']>;

/** The human report's layout: colour, verbosity, the first lines only, the width to fit. */
export type HumanLayout = Pick<HumanOptions, 'color' | 'verbose' | 'quiet' | 'width'>;

/** The report of `hosts` in `format`; `human` is read only for the human report. */
export function renderReport(
  format: Format,
  hosts: CheckedHost[],
  outcome: Outcome,
  human: HumanLayout,
  discovery?: DiscoveryReport,
): string {
  if (format === 'json') return renderJson(hosts, outcome, discovery);
  if (format === 'junit') return renderJunit(hosts, outcome, discovery?.publishedCheck);
  if (format === 'markdown') return renderMarkdown(hosts, outcome, discovery?.publishedCheck);
  if (format === 'openmetrics') return renderOpenMetrics(hosts, outcome, discovery);
  if (!discovery) return hosts.map((host) => renderHuman(host, { ...human, outcome })).join('\n');
  // With discovery, the first block has the domain's verdict; each host's says only what its own findings do.
  const head = renderDiscoveryHead(discovery, hosts, outcome, human);
  if (human.quiet) return head;
  const body = hosts
    .map((host) => renderHuman(host, { ...human, outcome: hostOutcome(host, outcome) }))
    .join('\n');
  return `${head}${body}\n${renderDiscoveryTail(discovery, human)}`;
}
