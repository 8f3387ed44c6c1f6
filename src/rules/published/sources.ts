/**
 * The rules about the sources themselves, not one setting: a document that cannot be read or says its
 * encryption ambiguously, a redirect that leaves the domain, downgrades or points into a private network, an
 * autoconfig file only over HTTP or only through the MX's domain, sources that disagree. The rules about the DNS
 * records themselves are in records.ts.
 */
import type { Discovery, PublishedSetting, PublishedSource, RedirectHop } from '../../types/index.js';
import type { HostVerdict } from '../evaluate.js';
import { label, type PublishedRule, refs, settingText, usable } from './rule.js';

/** One problem a source's reader found in its document. */
export interface ProblemSubject {
  source: PublishedSource;
  problem: string;
}

/** One redirect a source's fetch met. */
export interface RedirectSubject {
  source: PublishedSource;
  hop: RedirectHop;
}

/** Every source of the domain together. */
export interface DomainSubject {
  discovery: Discovery;
  sources: PublishedSource[];
  hosts: HostVerdict[];
}

const securityConsiderations = 'draft-ietf-mailmaint-autoconfig (security considerations)';

/** The problem is about <SSL> or <Encryption>: the document says its encryption, but not clearly. */
const isAmbiguity = (problem: string) => /<SSL>|<Encryption>/.test(problem);

const encryptionAmbiguous: PublishedRule<ProblemSubject> = {
  id: 'published-encryption-ambiguous',
  severity: 'medium',
  title: 'a source does not say clearly how to encrypt',
  reference: refs.autodiscover,
  check: ({ source, problem }) =>
    isAmbiguity(problem)
      ? {
          key: `${source.location} ${problem}`,
          source: source.location,
          title: `${label(source)} does not say clearly how to encrypt`,
          detail: `${problem}. Clients read it differently; publish <Encryption>SSL</Encryption> for implicit TLS or <Encryption>TLS</Encryption> for STARTTLS.`,
          evidence: [problem],
        }
      : undefined,
};

const malformed: PublishedRule<ProblemSubject> = {
  id: 'published-malformed',
  severity: 'medium',
  title: 'a source cannot be used as published',
  reference: refs.autoconfig,
  check: ({ source, problem }) =>
    isAmbiguity(problem)
      ? undefined
      : {
          key: `${source.location} ${problem}`,
          source: source.location,
          title: `${label(source)} cannot be used as published`,
          detail: `${problem}. A client skips what it cannot read and goes on to the next source, or to guessing.`,
          evidence: [
            problem,
            ...(source.fetch ? [`${source.fetch.method} ${source.fetch.url}: ${source.fetch.detail}`] : []),
          ],
          reference: source.kind === 'autodiscover' ? refs.autodiscover : refs.autoconfig,
        },
};

/** Each source's problems, one subject each. */
export const problemRules = [encryptionAmbiguous, malformed];

// A public web server that sends the client into the network it runs in (loopback, private, link-local): not
// followed, whatever it would have delivered.
const redirectPrivateAddress: PublishedRule<RedirectSubject> = {
  id: 'published-redirect-private-address',
  severity: 'medium',
  title: 'a source redirects from a public address to a private one',
  reference: 'RFC 9110 §15.4 (redirection); RFC 6890 (special-purpose addresses)',
  check: ({ source, hop }) =>
    hop.privateAddress
      ? {
          key: `${hop.from} ${hop.to}`,
          source: source.location,
          title: `${label(source)} redirects from a public address to a private one`,
          detail: `A redirect to ${hop.to}, which resolves to ${hop.privateAddress}, was not followed: a client (or a proxy fetching for it) that follows it asks whatever answers at that address in its own network, such as a cloud metadata service or an admin page.`,
          evidence: [
            `HTTP ${hop.status}: ${hop.from} → ${hop.to}`,
            `${new URL(hop.to).hostname} → ${hop.privateAddress}`,
          ],
        }
      : undefined,
};

/** Every redirect of a source, one subject each. */
export const redirectRules = [redirectPrivateAddress];

/**
 * A redirect matters when it delivered a configuration (or what was meant as one): one that ends at a web site's
 * page or a "not found" sent the client nowhere.
 */
export const delivered = (source: PublishedSource) => usable(source) || (source.problems?.length ?? 0) > 0;

const redirectCrossDomain: PublishedRule<RedirectSubject> = {
  id: 'published-redirect-cross-domain',
  severity: 'medium',
  title: 'a source redirects to another domain',
  reference: securityConsiderations,
  check: ({ source, hop }) =>
    hop.crossDomain
      ? {
          key: `${hop.from} ${hop.to}`,
          source: source.location,
          title: `${label(source)} redirects to another domain`,
          detail: `A redirect to ${hop.to} leaves the domain's registrable domain: a careful client asks the user before trusting settings from there, and a careless one hands the account to whoever holds that domain.`,
          evidence: [`HTTP ${hop.status}: ${hop.from} → ${hop.to}`],
        }
      : undefined,
};

const redirectDowngrade: PublishedRule<RedirectSubject> = {
  id: 'published-redirect-downgrade',
  severity: 'high',
  title: 'a source redirects from https to http',
  reference: securityConsiderations,
  check: ({ source, hop }) =>
    hop.downgrade
      ? {
          key: hop.from,
          source: source.location,
          title: `${label(source)} redirects from https to http`,
          detail:
            'The settings then travel unauthenticated: anyone on the path can change the server a client is sent to.',
          evidence: [`HTTP ${hop.status}: ${hop.from} → ${hop.to}`],
        }
      : undefined,
};

/** Every redirect of a source that delivered something, one subject each. */
export const deliveredRedirectRules = [redirectCrossDomain, redirectDowngrade];

/** The domain's own autoconfig sources (its autoconfig and ISPDB entries, not the MX's). */
const ownSources = (sources: PublishedSource[]) =>
  sources.filter((s) => (s.kind === 'autoconfig' || s.kind === 'ispdb') && !s.viaMx);
const finalUrl = (s: PublishedSource) => s.fetch?.redirects?.at(-1)?.to ?? s.location;

const httpOnly: PublishedRule<DomainSubject> = {
  id: 'published-http-only',
  severity: 'high',
  title: "the domain's autoconfig file is served only over plain HTTP",
  reference: securityConsiderations,
  check: ({ discovery, sources }) => {
    const own = ownSources(sources);
    const first = own.find(usable);
    if (
      !first ||
      !finalUrl(first).startsWith('http:') ||
      own.some((s) => usable(s) && finalUrl(s).startsWith('https:'))
    )
      return undefined;
    return {
      key: discovery.domain,
      source: first.location,
      title: `${discovery.domain}'s autoconfig file is served only over plain HTTP`,
      detail:
        'Nothing authenticates it: anyone on the path can send the client to another server. Serve it over HTTPS (https://autoconfig.DOMAIN/mail/config-v1.1.xml).',
      evidence: own.map(
        (s) => `${s.location}: ${s.fetch?.detail ?? 'not fetched'}${usable(s) ? ' (settings)' : ''}`,
      ),
    };
  },
};

const viaMx: PublishedRule<DomainSubject> = {
  id: 'published-via-mx',
  severity: 'low',
  title: "the only autoconfig comes through the MX's domain",
  reference: 'draft-ietf-mailmaint-autoconfig (MX-based discovery)',
  check: ({ discovery, sources }) => {
    const own = ownSources(sources);
    const found = sources.find((s) => s.viaMx && usable(s));
    if (own.some(usable) || !found) return undefined;
    return {
      key: discovery.domain,
      source: found.location,
      title: `the only autoconfig for ${discovery.domain} comes through its MX's domain ${found.domain}`,
      detail:
        'A client asks the user whether to trust a configuration from another domain; many users cannot answer. Publish autoconfig under the mail domain itself.',
      evidence: [
        `${found.location}: ${found.settings.length} settings`,
        ...own.map((s) => `${s.location}: ${s.fetch?.detail ?? ''}`),
      ],
    };
  },
};

/** The domain's sources together, once. */
export const domainRules = [httpOnly, viaMx];

/** Each source's first setting of one protocol. */
export interface ProtocolSubject extends DomainSubject {
  protocol: PublishedSetting['protocol'];
}

const sourcesDisagree: PublishedRule<ProtocolSubject> = {
  id: 'published-sources-disagree',
  severity: 'low',
  title: 'the published sources disagree on a server',
  reference: 'draft-ietf-mailmaint-autoconfig; RFC 6186 §3',
  check: ({ sources, hosts, protocol }) => {
    const firsts = sources
      .filter(usable)
      .map((s) => ({ s, setting: s.settings.find((x) => x.protocol === protocol) }))
      .filter((x): x is { s: PublishedSource; setting: PublishedSetting } => x.setting !== undefined);
    // Two names of one server (the same addresses) are one place: clients end up at the same server.
    const place = (host: string) => {
      const addresses = hosts.find((h) => h.host === host)?.addresses.map((a) => a.address);
      return addresses && addresses.length > 0 ? [...addresses].sort().join(' ') : host;
    };
    const distinct = new Set(
      firsts.map((x) => `${place(x.setting.host)}:${x.setting.port} ${x.setting.security}`),
    );
    if (distinct.size <= 1) return undefined;
    return {
      key: protocol,
      source: firsts.map((x) => x.s.location).join(', '),
      title: `the published sources disagree on the ${protocol} server`,
      detail:
        'Different clients are sent to different places; when one of them is wrong, only some users fail, which is hard to diagnose. Publish the same settings everywhere.',
      evidence: firsts.map((x) => `${label(x.s)}: ${settingText(x.setting)}`),
    };
  },
};

/** The domain's sources, once per protocol (IMAP, POP3, SMTP). */
export const protocolRules = [sourcesDisagree];
