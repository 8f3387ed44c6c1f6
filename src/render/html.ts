/**
 * The HTML report (`--html FILE`, `serve`'s page at `/`): one self-contained page to hand over. No external
 * script, font, style or image; readable with JavaScript off; a strict Content-Security-Policy in a meta tag
 * (the one inline style allowed by its hash). The answer first, then the ports, the certificates (each chain as
 * sent, with dates, keys and the trust path), the findings (evidence, reference, fixes), each port's dialogue
 * folded, and where the run was made from (the local addresses, the time, the exact command). Built from the
 * judged model (what the JSON report carries), never from the terminal text. Every string that came from a
 * server goes through `text()`: controls, bidi and zero-width characters become visible stand-ins (sanitize),
 * then &, <, >, " and ' become entities, so nothing a server sends can open an element or an attribute.
 */
import { isoTime } from '../net/clock.js';
import { referenceVersion } from '../reference/table.js';
import type { PortVerdict } from '../rules/evaluate.js';
import type { Finding, FindingBase } from '../rules/finding.js';
import { type CheckedHost, type Outcome, portCounts } from '../rules/outcome.js';
import type { ChainCertificate, TlsFacts } from '../types/index.js';
import { statusGloss } from '../types/index.js';
import { version } from '../version.js';
import { htmlStyle } from './html-style.js';
import type { DiscoveryReport } from './report.js';
import { sanitize } from './sanitize.js';
import { style, transcriptFlags } from './style.js';
import { transportHeading, transportRows } from './transport.js';

/** What the page says about the run itself: how it was started, and where from. */
export interface HtmlContext {
  /** The exact command (the CLI's argv, quoted for a shell), or the request `serve` answered. */
  command?: string | undefined;
  /** When the report was made (default: now). */
  generatedAt?: string | undefined;
  /** serve's page: the form above the report (its target and module filled in). */
  form?: HtmlForm | undefined;
  /** The page's title, when not the host's. */
  title?: string | undefined;
  /** The run failed before any host was judged: the page says why (outcome.error). */
  errorPage?: boolean | undefined;
}

/** serve's form: the modules it offers, and what it was filled with. */
export interface HtmlForm {
  modules: string[];
  target?: string | undefined;
  module?: string | undefined;
  /** A message above the form (a refusal, an error), as plain text. */
  message?: string | undefined;
}

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Any text for the page (server text above all): sanitised, then every markup character an entity. */
export function text(value: string | number): string {
  return sanitize(String(value)).replace(/[&<>"']/g, (char) => entities[char] ?? char);
}

/** The style's hash for the Content-Security-Policy (node:crypto loads only when a page is made). */
function hash(source: string): string {
  const crypto = process.getBuiltinModule('node:crypto') as typeof import('node:crypto');
  return `'sha256-${crypto.createHash('sha256').update(source).digest('base64')}'`;
}

/**
 * serve's form only: while the probe runs (up to --deadline), the button says so and a status line tells a
 * screen reader. The page works the same without it; it is allowed by its hash, and reads no server text.
 */
export const formScript = `document.querySelector('form').addEventListener('submit',function(){var b=this.querySelector('button');b.disabled=true;b.textContent='Probing…';document.getElementById('progress').textContent='Probing '+document.getElementById('target').value+': the page comes when every port has answered or timed out.';});`;

/** The page's policy: nothing from anywhere but the inline style; a form only to this page's origin. */
export function contentSecurityPolicy(form = false): string {
  return `default-src 'none'; style-src ${hash(htmlStyle)};${form ? ` script-src ${hash(formScript)};` : ''} img-src 'none'; base-uri 'none'; form-action 'self'`;
}

const yesNo = (value: boolean | null, yes = 'yes', no = 'no') =>
  value === null
    ? '<span class="muted">– n/a</span>'
    : value
      ? `<span class="ok">✓ ${yes}</span>`
      : `<span class="bad">✗ ${no}</span>`;

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
const day = (iso: string | undefined) => (iso ? text(iso.slice(0, 10)) : '?');

/** The answer first: works from here, safe, passed or failed, what to use, what to fix first. */
function answer(host: CheckedHost, outcome: Outcome): string {
  const { ports: count, working, safe } = portCounts(host);
  const why = [
    outcome.failingFindings > 0
      ? `${plural(outcome.failingFindings, 'finding')} at or above ${outcome.failOn}`
      : '',
    outcome.failedExpectations > 0 ? `${plural(outcome.failedExpectations, 'expectation')} not met` : '',
    outcome.interrupted ? 'interrupted' : '',
    outcome.error ? text(outcome.error.message) : '',
  ].filter(Boolean);
  const verdict = outcome.passed
    ? '<span class="ok">✓ PASSED</span>'
    : `<span class="bad">✗ FAILED</span>${why.length ? `: ${why.join(', ')}` : ''}`;
  const serious = host.findings.filter((f) => ['critical', 'high', 'medium'].includes(f.severity));
  const firstFixes = [...new Map(serious.map((f) => [f.id, f])).values()].slice(0, 3);
  return `<section class="answer ${outcome.passed ? 'passed' : 'failed'}" aria-label="The answer">
<p class="verdict">Works from here: ${working} of ${plural(count, 'port')} · Safe: ${safe} of ${count} · ${verdict}</p>
<p><strong>Use:</strong> ${text(host.recommendation.text)}</p>
${
  firstFixes.length
    ? `<p><strong>Fix first:</strong></p><ul>${firstFixes
        .map(
          (f) => `<li><a href="#${anchor(host, f)}">${text(f.title)}</a> (<code>${text(f.id)}</code>)</li>`,
        )
        .join('')}</ul>`
    : '<p><strong>Fix first:</strong> nothing of medium severity or above.</p>'
}</section>`;
}

let hostIndex = 0;
const anchors = new WeakMap<CheckedHost, number>();
/** An id for a finding's entry: the host's place on the page and the finding id (ids are [a-z0-9-]). */
function anchor(host: CheckedHost, finding: FindingBase): string {
  if (!anchors.has(host)) anchors.set(host, hostIndex++);
  return `h${anchors.get(host)}-${finding.severity}-${finding.id.replace(/[^a-z0-9-]/g, '')}`;
}

/** What the port did, in words: status, TLS, the greeting's first line (quoted: the server's words). */
function observed(port: PortVerdict): string {
  const parts = [`<strong>${text(port.status)}</strong>`];
  if (port.tls) parts.push(`${text(port.tls.protocol)} ${text(port.tls.cipher)}`);
  if (port.expectedTls === 'starttls' && port.starttls) {
    const st = port.starttls;
    parts.push(
      st.upgraded
        ? 'upgraded with STARTTLS'
        : st.attempted
          ? 'STARTTLS refused'
          : st.advertised
            ? 'STARTTLS offered'
            : 'no STARTTLS',
    );
  }
  if (port.passwordBeforeTls) parts.push('<span class="bad">password before TLS</span>');
  else if (port.loginBeforeTls) parts.push('<span class="warn">login before TLS</span>');
  const first = port.greeting?.lines[0];
  if (first !== undefined) parts.push(`“${text(first.slice(0, 80))}${first.length > 80 ? '…' : ''}”`);
  if (port.status !== 'open')
    parts.push(`<span class="muted">${text(port.statusDetail.slice(0, 200))}</span>`);
  return parts.join(' · ');
}

function portsTable(host: CheckedHost): string {
  const rows = host.ports
    .map(
      (
        port,
      ) => `<tr><td class="nw">${port.port}</td><td class="mono">${text(port.address)}</td><td>${text(port.service)}</td>
<td class="wide">${text(port.expected)}</td><td class="nw">${yesNo(port.works)}</td><td class="nw">${yesNo(port.safe)}</td><td class="long">${observed(port)}</td></tr>`,
    )
    .join('\n');
  return `<h2 id="ports-${anchors.get(host)}">Ports</h2>
<div class="scroll" tabindex="0" role="region" aria-label="Ports"><table class="ports"><caption class="muted">Each port and address probed; works: the mail protocol answered and the dialogue completed; safe: it works, TLS was set up, and no finding of medium or above concerns it.</caption>
<thead><tr><th scope="col">port</th><th scope="col">address</th><th scope="col">service</th><th scope="col" class="wide">expected</th><th scope="col">works</th><th scope="col">safe</th><th scope="col">observed</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>`;
}

const keyLabel = (cert: ChainCertificate) =>
  `${text(cert.keyType.toUpperCase())} ${cert.keyBits}${cert.curve ? ` ${text(cert.curve)}` : ''}`;

/** The path a default client builds: the chain as sent up to the root, and whether it ends in a trusted root. */
function trustPath(tls: TlsFacts): string {
  const chain = tls.chain ?? [];
  const steps = chain.map((cert) => `${text(cert.role)} “${text(cert.subject)}”`);
  const last = chain[chain.length - 1];
  if (last && !last.selfSigned)
    steps.push(
      tls.trusted
        ? `root “${text(last.issuer)}” (trust store)`
        : `“${text(last.issuer)}” (not sent; not found)`,
    );
  return `${steps.join(' → ')} · ${yesNo(tls.trusted, 'trusted by a default client', 'not trusted by a default client')}`;
}

function certificates(host: CheckedHost): string {
  const seen = new Map<string, { port: PortVerdict; where: string[] }>();
  for (const port of host.ports) {
    const tls = port.tls;
    if (!tls?.certificate) continue;
    // One entry per chain and name checked: the same chain can match one name and not another.
    const key = `${(tls.chain ?? []).map((c) => c.sha256).join(' ') || tls.certificate.sha256} ${tls.checkedName}`;
    const entry = seen.get(key) ?? { port, where: [] };
    entry.where.push(`${port.port} ${port.address}`);
    seen.set(key, entry);
  }
  if (seen.size === 0) return '';
  const out = [`<h2>Certificates</h2>`];
  for (const { port, where } of seen.values()) {
    const tls = port.tls as TlsFacts;
    const cert = tls.certificate;
    if (!cert) continue;
    const problems = tls.trustProblems ?? [];
    out.push(`<h3>${text(cert.subject)}</h3>
<dl><dt>sent on</dt><dd>${where.map(text).join(', ')}</dd>
<dt>names</dt><dd>${cert.subjectAltNames.map(text).join(', ') || '<span class="muted">none</span>'}</dd>
<dt>for ${text(tls.checkedName)}</dt><dd>${yesNo(tls.nameMatches, 'the name matches', `the name does not match${tls.nameError ? `: ${text(tls.nameError)}` : ''}`)}</dd>
<dt>trust path</dt><dd>${trustPath(tls)}${tls.trustError ? ` <code>${text(tls.trustError)}</code>` : ''}</dd>
${problems.length ? `<dt>why not</dt><dd><ul>${problems.map((p) => `<li>${text(p.certificate)}: ${text(p.detail)}</li>`).join('')}</ul></dd>` : ''}
${tls.ocsp ? `<dt>OCSP (stapled)</dt><dd>${text(tls.ocsp.certStatus ?? tls.ocsp.responseStatus)}${tls.ocsp.error ? `: ${text(tls.ocsp.error)}` : ''}</dd>` : ''}
<dt>TLS</dt><dd>${text(tls.protocol)} · ${text(tls.cipher)}</dd></dl>`);
    if (tls.chain?.length)
      out.push(`<div class="scroll" tabindex="0" role="region" aria-label="The chain as sent"><table><caption class="muted">The chain as sent, leaf first</caption>
<thead><tr><th scope="col">#</th><th scope="col">subject ← issuer</th><th scope="col">valid</th><th scope="col">key · signature</th><th scope="col">problems</th></tr></thead><tbody>
${tls.chain
  .map(
    (
      c,
    ) => `<tr><td>${c.index} ${text(c.role)}</td><td class="long">${text(c.subject)} ← ${text(c.issuer)}</td>
<td>${day(c.validFrom)} to ${day(c.validTo)}${c.daysLeft !== undefined ? `<br>${c.daysLeft < 0 ? `<span class="bad">✗ expired ${-c.daysLeft} days ago</span>` : `${c.daysLeft} days left`}` : ''}${c.unreadableDates ? `<br><span class="bad">✗ unreadable: ${c.unreadableDates.map((d) => `${text(d.field)} ${text(d.encoded)}`).join('; ')}</span>` : ''}</td>
<td>${keyLabel(c)} · ${text(c.signatureAlgorithm)}${c.ca ? ' · CA' : ''}</td>
<td>${c.problems.length ? `<span class="bad">✗ ${c.problems.map(text).join(', ')}</span>` : '<span class="ok">✓ none</span>'}</td></tr>`,
  )
  .join('\n')}
</tbody></table></div>`);
  }
  return out.join('\n');
}

/** A finding's `fixes` (server settings, when the rule knows them), whatever its exact shape: strings, lists, records. */
function fixes(value: unknown, depth = 0): string {
  if (value === undefined || value === null || depth > 4) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return `<code>${text(String(value))}</code>`;
  if (Array.isArray(value))
    return value.length
      ? `<ul>${value.map((item) => `<li>${fixes(item, depth + 1)}</li>`).join('')}</ul>`
      : '';
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return entries.length
      ? `<dl>${entries.map(([k, v]) => `<dt>${text(k)}</dt><dd>${fixes(v, depth + 1)}</dd>`).join('')}</dl>`
      : '';
  }
  return '';
}

function findingEntry(host: CheckedHost, finding: FindingBase, where: string[]): string {
  const extra = (finding as FindingBase & { fixes?: unknown }).fixes;
  const fix = fixes(extra);
  const sev = finding.severity;
  const cls = sev === 'critical' || sev === 'high' ? 'bad' : sev === 'medium' ? 'warn' : 'muted';
  return `<article class="finding sev-${sev}" id="${anchor(host, finding)}">
<h3><span class="sev ${cls}">${sev}</span> ${text(finding.title)} <code>${text(finding.id)}</code></h3>
${where.length ? `<p class="muted">on ${where.map(text).join(', ')}</p>` : ''}
<p>${text(finding.detail)}</p>
${finding.evidence.length ? `<p><strong>Evidence</strong></p><pre>${finding.evidence.map(text).join('\n')}</pre>` : ''}
<p><strong>Reference:</strong> ${text(finding.reference)}</p>
${fix ? `<div><strong>Fix</strong>${fix}</div>` : ''}
</article>`;
}

function findings(host: CheckedHost): string {
  const groups = new Map<string, { finding: Finding; where: string[] }>();
  for (const finding of host.findings) {
    const key = `${finding.severity} ${finding.id}`;
    const group = groups.get(key) ?? { finding, where: [] };
    group.where.push(`${finding.port} ${finding.address}`);
    groups.set(key, group);
  }
  if (groups.size === 0) return `<h2>Findings</h2><p><span class="ok">✓</span> No findings.</p>`;
  return `<h2>Findings (${groups.size})</h2>\n${[...groups.values()]
    .map(({ finding, where }) => findingEntry(host, finding, where))
    .join('\n')}`;
}

function expectations(host: CheckedHost): string {
  if (!host.expectations?.length) return '';
  const met = host.expectations.filter((e) => e.passed).length;
  return `<h2>Expectations: ${met} of ${host.expectations.length} met</h2><div class="scroll" tabindex="0" role="region" aria-label="Expectations"><table>
<thead><tr><th scope="col">port</th><th scope="col">address</th><th scope="col">expectation</th><th scope="col">result</th><th scope="col">observed</th></tr></thead><tbody>
${host.expectations
  .map(
    (e) =>
      `<tr><td>${e.port}</td><td class="mono">${text(e.address ?? '')}</td><td class="long">${text(e.expectation)}</td><td class="nw">${yesNo(e.passed, 'met', 'not met')}</td><td class="long">${text(e.observed)}</td></tr>`,
  )
  .join('\n')}</tbody></table></div>`;
}

/** Each port's dialogue, folded: every line as exchanged, with its time and whether it travelled inside TLS. */
function dialogues(host: CheckedHost): string {
  const out = ['<h2>Dialogues</h2>'];
  for (const port of host.ports) {
    const lines = port.transcript.map((entry) => {
      const flags = transcriptFlags(entry);
      const who = entry.dir === '-' ? 'n' : entry.dir;
      return `<span class="t-${who}">${entry.at.toFixed(1).padStart(8)} ms ${entry.dir} ${text(entry.text)}${flags.length ? ` [${flags.join(',')}]` : ''}</span>`;
    });
    const omitted = port.transcriptOmitted
      ? `\n(capped: ${port.transcriptOmitted.entries} entries and ${port.transcriptOmitted.chars} characters left out)`
      : '';
    out.push(`<details><summary>${port.port} ${text(port.address)} ${text(port.service)}: ${text(port.status)} (${plural(port.transcript.length, 'line')})</summary>
<p class="muted">${text(`${statusGloss[port.status].charAt(0).toUpperCase()}${statusGloss[port.status].slice(1)}`)}. S: the server, C: mailprobe, -: mailprobe's note.</p>
<pre>${lines.join('\n')}${omitted}</pre></details>`);
  }
  return out.join('\n');
}

function hostSection(host: CheckedHost, outcome: Outcome, heading: 'h1' | 'h2'): string {
  if (!anchors.has(host)) anchors.set(host, hostIndex++);
  const addresses = host.addresses.map((a) => text(a.address)).join(', ');
  return `<section aria-labelledby="host-${anchors.get(host)}">
<${heading} id="host-${anchors.get(host)}">mailprobe: ${text(host.host)}</${heading}>
<p class="muted">${host.publishedBy?.length ? `${host.publishedBy.map(text).join(', ')} · ` : ''}${addresses || 'no address'} · ${plural(new Set(host.ports.map((p) => p.port)).size, 'port')} in ${(host.durationMs / 1000).toFixed(1)} s · started ${text(host.startedAt)}</p>
${answer(host, outcome)}
${portsTable(host)}
${certificates(host)}
${host.notes?.length ? `<h2>Notes</h2><ul>${host.notes.map((n) => `<li>${text(n)}</li>`).join('')}</ul>` : ''}
${findings(host)}
${expectations(host)}
${dialogues(host)}
</section>`;
}

/**
 * --mta-sts, --dane: the transport policy (what other mail servers will enforce), the human report's rows as a
 * table; none without those options.
 */
function transportSection(discovery: DiscoveryReport, hosts: readonly CheckedHost[]): string {
  const rows = transportRows(
    discovery,
    hosts as unknown as Parameters<typeof transportRows>[1],
    style(false),
  );
  if (rows.length === 0) return '';
  const heading = transportHeading.charAt(0).toUpperCase() + transportHeading.slice(1);
  return `<h2>${text(heading)}</h2><div class="scroll" tabindex="0" role="region" aria-label="Transport policy"><table>
<tbody>${rows.map(([label, value]) => `<tr><th scope="row">${text(label ?? '')}</th><td class="long">${text(value ?? '')}</td></tr>`).join('\n')}</tbody></table></div>`;
}

function discoverySection(discovery: DiscoveryReport, hosts: readonly CheckedHost[]): string {
  const setting = (label: string, s: DiscoveryReport['settings']['incoming']) =>
    `<dt>${label}</dt><dd>${s ? `${text(s.host)}, port ${s.port}, ${text(s.protocol)}, ${text(s.security)} <span class="muted">(${text(s.source)})</span>` : '<span class="bad">✗ none works safely</span>'}</dd>`;
  const published = discovery.publishedCheck;
  const found = discovery.candidates
    .map((c) => `<li>${text(c.host)} <span class="muted">(${c.sources.map(text).join(', ')})</span></li>`)
    .join('');
  return `<section aria-labelledby="discovery"><h2 id="discovery">Settings for a mail client: ${text(discovery.email ?? discovery.domain)}</h2>
<p>Hosts found in DNS for ${text(discovery.domain)}:</p><ul>${found || '<li>none</li>'}</ul>
${discovery.leftOut?.length ? `<p class="muted">Left out (beyond --max-hosts): ${discovery.leftOut.map(text).join(', ')}</p>` : ''}
${discovery.deadline ? `<p class="bad">✗ The run's deadline (${discovery.deadline.ms} ms) ran out; not probed: ${discovery.deadline.notProbed.map(text).join(', ') || 'none'}</p>` : ''}
<dl>${setting('incoming', discovery.settings.incoming)}${setting('outgoing', discovery.settings.outgoing)}</dl>
${discovery.settings.notes.length ? `<ul>${discovery.settings.notes.map((n) => `<li>${text(n)}</li>`).join('')}</ul>` : ''}
${transportSection(discovery, hosts)}
${
  published
    ? `<h2>What the domain publishes for mail clients</h2>${
        published.findings.length === 0
          ? '<p><span class="ok">✓</span> No drift: every published setting works as published.</p>'
          : published.findings.map((f) => findingEntry({} as CheckedHost, f, [])).join('\n')
      }`
    : ''
}</section>`;
}

/** Where the run was made from: the local addresses the probes left from, the time, the exact command. */
function provenance(hosts: CheckedHost[], context: HtmlContext): string {
  const locals = [
    ...new Set(hosts.flatMap((h) => h.ports.map((p) => p.localAddress)).filter((a): a is string => !!a)),
  ];
  return `<h2 id="from-here">Where this was run from</h2>
<dl><dt>local address</dt><dd class="mono">${locals.length ? locals.map(text).join(', ') : '<span class="muted">none: no connection was made</span>'}</dd>
<dt>time</dt><dd>${text(context.generatedAt ?? isoTime())}</dd>
<dt>command</dt><dd>${context.command ? `<code>${text(context.command)}</code>` : '<span class="muted">not known (the library)</span>'}</dd>
<dt>tool</dt><dd>mailprobe ${text(version())} · reference table ${text(referenceVersion)}</dd></dl>
<p class="muted">"From here" means from the local address above: the result on another network (another ISP, a mobile network, the provider's own checker) can differ.</p>`;
}

function formHtml(form: HtmlForm): string {
  const options = form.modules
    .map(
      (m) =>
        `<option value="${text(m)}"${m === (form.module ?? 'all') ? ' selected' : ''}>${text(m)}</option>`,
    )
    .join('');
  return `<form method="get" action="/report" class="noprint" aria-label="Probe a mail host">
<label for="target">Target (host name or IP address)<input id="target" name="target" required maxlength="253" value="${text(form.target ?? '')}" autocomplete="off" spellcheck="false"></label>
<label for="module">Ports<select id="module" name="module">${options}</select></label>
<button type="submit">Probe</button>
</form><p id="progress" role="status" class="muted noprint"></p>${form.message ? `<p role="alert" class="bad">✗ ${text(form.message)}</p>` : ''}`;
}

/**
 * The page: with one host, its report under an h1; with several (batch, discovery), one page with a contents
 * list and each host as a section, so that one file hands over the whole run.
 */
export function renderHtml(
  hosts: CheckedHost[],
  outcome: Outcome,
  discovery?: DiscoveryReport,
  context: HtmlContext = {},
): string {
  const single = hosts.length === 1 && !context.form;
  const title = context.title ?? (hosts.length === 1 ? `mailprobe: ${hosts[0]?.host}` : 'mailprobe report');
  const contents =
    hosts.length > 1
      ? `<nav aria-label="Hosts"><h2>Hosts</h2><ul>${hosts
          .map((h) => {
            if (!anchors.has(h)) anchors.set(h, hostIndex++);
            const works = h.ports.some((p) => p.works);
            return `<li><a href="#host-${anchors.get(h)}">${text(h.host)}</a> · ${yesNo(works, 'works', 'does not work')} · ${plural(h.findings.length, 'finding')}</li>`;
          })
          .join('')}</ul></nav>`
      : '';
  const body = [
    context.form ? `<h1>mailprobe</h1>${formHtml(context.form)}` : '',
    !single && !context.form ? `<h1>${text(title)}</h1>` : '',
    context.errorPage && outcome.error
      ? `<p class="answer failed" role="alert"><span class="bad">✗ FAILED</span> before any host was probed: ${text(outcome.error.message)} (exit ${outcome.error.exitCode})</p>`
      : '',
    discovery ? discoverySection(discovery, hosts) : '',
    contents,
    ...hosts.map((h) => hostSection(h, outcome, single ? 'h1' : 'h2')),
    hosts.length > 0 || context.command ? provenance(hosts, context) : '',
  ].join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(context.form !== undefined)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="mailprobe ${text(version())}">
<title>${text(title)}</title>
<style>${htmlStyle}</style>
</head><body><main>
${body}
</main>${context.form ? `<script>${formScript}</script>` : ''}</body></html>
`;
}

/** A command line as typed: each argument quoted for a POSIX shell when it needs it. */
export function shellCommand(argv: string[]): string {
  return argv
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** The page of a run that ended before any host was judged: why, and the exit code. */
export function renderHtmlFailure(message: string, exitCode: number): string {
  return renderHtml(
    [],
    {
      failOn: 'high',
      passed: false,
      failingFindings: 0,
      failedExpectations: 0,
      error: { exitCode, message },
    },
    undefined,
    { title: 'mailprobe: failed before probing', errorPage: true },
  );
}

/** The outcome of a page that shows no report yet (serve's form alone). */
export const noOutcome: Outcome = { failOn: 'high', passed: true, failingFindings: 0, failedExpectations: 0 };
