/**
 * How a published setting fares on the probed ports: the mode each address was seen to work in, whether a
 * client using the setting as published gets through, and the setting's live check (works, safe, what was
 * seen). Pure: the discovery and host verdicts in.
 */
import type { Discovery, PublishedSecurity, PublishedSetting } from '../../types/index.js';
import type { HostVerdict, PortVerdict } from '../evaluate.js';
import { submissionWithoutLogin } from '../facts.js';

/** One published setting, checked live. */
export interface SettingCheck extends PublishedSetting {
  /** Where it was published. */
  source: string;
  /** A client using it exactly as published gets a working connection on every address. */
  works: boolean;
  /** Works, is encrypted as published, and no finding of medium or above concerns the port. */
  safe: boolean;
  /** What the port was seen to do, in a few words. */
  observed: string;
  /** The negotiated TLS version, when TLS was set up. */
  tlsVersion?: string;
}

/** How a port was seen to behave, across one address. */
export type Mode = 'TLS' | 'STARTTLS' | 'plain' | 'plaintext' | 'down';

export function modeOf(port: PortVerdict): Mode {
  if (port.status === 'open')
    return port.expectedTls === 'implicit' ? 'TLS' : port.starttls?.upgraded ? 'STARTTLS' : 'plain';
  if (port.status === 'wrong-tls-mode')
    return port.crossCheck?.tried === 'implicit-tls' && port.crossCheck.outcome === 'tls-handshake'
      ? 'TLS'
      : port.crossCheck?.outcome === 'mail-greeting'
        ? 'plaintext'
        : 'down';
  return 'down';
}

export const modeWords: Record<Mode, string> = {
  TLS: 'implicit TLS',
  STARTTLS: 'STARTTLS',
  plain: 'plaintext without STARTTLS',
  plaintext: 'a plaintext greeting',
  down: 'no working service',
};

/** Does a client using `security` get through to a port behaving as `mode`? undefined: not observed. */
export function fits(security: PublishedSecurity, mode: Mode): boolean | undefined {
  if (mode === 'down') return false;
  if (security === 'TLS') return mode === 'TLS';
  if (security === 'STARTTLS') return mode === 'plaintext' ? undefined : mode === 'STARTTLS';
  return mode !== 'TLS';
}

/** The published protocol answered on a port that was probed as another one (named so by another source). */
export const heardAsPublished = (port: PortVerdict, setting: PublishedSetting) =>
  port.status === 'wrong-protocol' && port.detected === setting.protocol.toLowerCase();

export const oldTls = (version: string | undefined) =>
  version !== undefined && /^(SSLv|TLSv1(\.1)?$)/.test(version);

export interface Observed {
  ports: PortVerdict[];
  host?: HostVerdict;
  /** Why there is nothing to look at. */
  missing?: string;
}

export function observe(discovery: Discovery, hosts: HostVerdict[], setting: PublishedSetting): Observed {
  const host = hosts.find((h) => h.host === setting.host);
  if (!host) {
    if (discovery.privateRefused?.includes(setting.host))
      return {
        ports: [],
        missing: 'not probed: a document served from a public address names an address inside this network',
      };
    if (discovery.leftOut?.includes(setting.host))
      return { ports: [], missing: 'not probed (over --max-hosts)' };
    if (discovery.deadline?.notProbed.includes(setting.host))
      return { ports: [], missing: 'not probed (--deadline)' };
    return { ports: [], missing: 'the host name did not resolve to an address' };
  }
  const all = host.ports.filter((p) => p.port === setting.port);
  // Probed as the setting's own protocol and mode when two records named the port differently (hosts.ts).
  const own = all.filter(
    (p) =>
      p.protocol.toUpperCase() === setting.protocol &&
      (p.expectedTls === 'implicit') === (setting.security === 'TLS') &&
      !(setting.direction === 'outgoing' && p.service === 'smtp'),
  );
  const ports = own.length > 0 ? own : all;
  return ports.length > 0 ? { ports, host } : { ports, host, missing: 'the port was not probed' };
}

export function checkSetting(seen: Observed, setting: PublishedSetting, source: string): SettingCheck {
  if (seen.missing) return { ...setting, source, works: false, safe: false, observed: seen.missing };
  // The port was probed as another protocol (another source named it so) and the published one answered:
  // what a client of the published protocol gets there was not observed, so nothing is claimed about it.
  const other = seen.ports.find((p) => heardAsPublished(p, setting));
  if (other)
    return {
      ...setting,
      source,
      works: false,
      safe: false,
      observed: `${other.address}: ${setting.protocol} answers, but the port was probed as ${other.service}; not checked as published`,
    };
  const modes = seen.ports.map(modeOf);
  const protocolOk = seen.ports.every(
    (p) => p.status !== 'open' || p.protocol.toUpperCase() === setting.protocol,
  );
  const works = protocolOk && modes.every((mode) => fits(setting.security, mode) === true);
  const safe =
    works &&
    setting.security !== 'plain' &&
    seen.ports.every((p) => p.safe === true && !oldTls(p.tls?.protocol)) &&
    // Safe as probed: the probe used the mode the reference table gives the port; published must match it.
    modes.every((mode) => mode === setting.security);
  const described = [...new Set(seen.ports.map((p, i) => describe(p, modes[i] ?? 'down')))].join('; ');
  const version = seen.ports.find((p) => p.tls)?.tls?.protocol;
  return {
    ...setting,
    source,
    works,
    safe,
    observed: described,
    ...(version ? { tlsVersion: version } : {}),
  };
}

function describe(port: PortVerdict, mode: Mode): string {
  const where = `${port.address}`;
  if (mode === 'down') return `${where}: ${port.status} (${port.statusDetail})`;
  if (port.status === 'open' && mode !== 'plain' && port.tls)
    // A submission port listing no AUTH over TLS: a client set up this way cannot log in to send there.
    return `${where}: ${modeWords[mode]}, ${port.protocol.toUpperCase()}, ${port.tls.protocol}${submissionWithoutLogin(port) ? ', no AUTH over TLS (submission-auth-not-offered)' : ''}`;
  return `${where}: ${modeWords[mode]}${port.status === 'open' ? `, ${port.protocol.toUpperCase()}` : ''}`;
}
