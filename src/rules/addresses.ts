/** Addresses: one host, several addresses, and what DNS published. */
import { nonPublicAddress } from '../net/names.js';
import { type Rule, statusEvidence } from './rule.js';

export const addressRules: readonly Rule[] = [
  {
    id: 'address-results-differ',
    severity: 'medium',
    title: 'the port works on another address of the host but not on this one',
    reference: 'RFC 6724 (address selection); RFC 8305 §5 (clients try every address)',
    check: (port, host) => {
      if (port.status === 'open' || port.status === 'aborted' || port.status === 'local-error')
        return undefined;
      const working = host.ports.filter(
        (other) => other.port === port.port && other.address !== port.address && other.status === 'open',
      );
      if (working.length === 0) return undefined;
      return {
        detail: `works on ${working.map((w) => w.address).join(', ')} but is ${port.status} on ${port.address}${port.family === 6 ? ': IPv6 may be black-holed on the way' : ''}; clients that pick this address fail or wait`,
        evidence: [...statusEvidence(port), ...working.map((w) => `${w.address}: status open`)],
      };
    },
  },
  {
    id: 'certificate-differs-by-address',
    severity: 'low',
    title: 'another address of the host presents a different certificate on this port',
    reference: 'RFC 6125 §6; operational consistency',
    check: (port, host) => {
      const mine = port.tls?.certificate?.sha256;
      if (!mine) return undefined;
      const others = host.ports.filter(
        (other) =>
          other.port === port.port &&
          other.address !== port.address &&
          other.tls?.certificate &&
          other.tls.certificate.sha256 !== mine,
      );
      if (others.length === 0) return undefined;
      return {
        detail: `${port.address} presents ${port.tls?.certificate?.subject}, ${others.map((o) => `${o.address} presents ${o.tls?.certificate?.subject}`).join('; ')}: a stale server or a forgotten renewal behind one address`,
        evidence: [
          `${port.address}: ${mine}`,
          ...others.map((o) => `${o.address}: ${o.tls?.certificate?.sha256}`),
        ],
      };
    },
  },
  {
    id: 'published-private-address',
    // Low: it says where the DNS points, not how the port behaves; works and safe stay about the port.
    severity: 'low',
    title:
      'a published record (MX, SRV, autoconfig, ISPDB, Autodiscover) points at a loopback or private address',
    reference: 'RFC 5321 §5.1; RFC 6186 §3; RFC 1918; RFC 4193; RFC 6890',
    check: (port, host) => {
      // Nothing published (a probe by address, a batch line): nothing to look up.
      if (!host.publishedBy?.length) return undefined;
      const published = host.publishedBy.filter((source) =>
        /^(MX|SRV|autoconfig|ISPDB|Autodiscover)\b/.test(source),
      );
      const kind = published.length === 0 ? undefined : nonPublicAddress(port.address);
      // Once per address: on the first port probed there.
      if (!kind || host.ports.find((p) => p.address === port.address) !== port) return undefined;
      return {
        detail: `${published.join(', ')} names ${host.host}, which resolves to ${port.address} (${kind}): mail clients and servers elsewhere cannot reach it, and a probe from inside a network reaches whatever that address is there`,
        evidence: [`${host.host} → ${port.address} (${kind})`, `published by ${published.join(', ')}`],
      };
    },
  },
];
