/**
 * `--show-certs`: each certificate chain as the server sent it, in PEM, as `openssl s_client -showcerts`
 * prints it, so the output can be saved and read by any PEM tool (text outside BEGIN/END lines is ignored).
 * A chain sent identically (the same certificates, by SHA-256, in the same order) on several ports or
 * addresses of a host is printed once, under a header naming every port and address that sent it: a host
 * usually serves one chain on five ports, and five copies would only hide a port that sends another one.
 * Pure: facts in, text out. The PEM is in the facts only when the probe kept it (`keepCertificates`).
 */
import type { HostResult, PortResult } from '../types/index.js';
import { sanitize } from './sanitize.js';

type ChainHost = Pick<HostResult, 'host' | 'ports'>;

function portName(port: PortResult): string {
  return `${port.port} (${port.service}${port.starttls?.upgraded ? ', STARTTLS' : ''})`;
}

/** The "where" lines of a chain's header: one per address, its ports in probe order. */
function whereLines(ports: PortResult[]): string[] {
  const byAddress = new Map<string, PortResult[]>();
  for (const port of ports) byAddress.set(port.address, [...(byAddress.get(port.address) ?? []), port]);
  return [...byAddress].map(([address, list]) => `# ${address}: ${list.map(portName).join(', ')}`);
}

/** Every chain of the hosts as sent, leaf first, in PEM with comment headers; ports without one listed last. */
export function renderChainsPem(hosts: readonly ChainHost[]): string {
  const out: string[] = [];
  for (const host of hosts) {
    const chains = new Map<string, PortResult[]>();
    const without: PortResult[] = [];
    for (const port of host.ports) {
      const chain = port.tls?.chain;
      if (!chain || chain.length === 0) {
        without.push(port);
        continue;
      }
      const key = chain.map((cert) => cert.sha256).join(' ');
      chains.set(key, [...(chains.get(key) ?? []), port]);
    }
    out.push(
      `# ${sanitize(host.host)}: ${chains.size} distinct chain${chains.size === 1 ? '' : 's'} as sent`,
    );
    for (const ports of chains.values()) {
      const chain = ports[0]?.tls?.chain ?? [];
      out.push('#');
      out.push(
        `# chain of ${chain.length} certificate${chain.length === 1 ? '' : 's'}, leaf first, sent by`,
        ...whereLines(ports),
      );
      for (const cert of chain) {
        out.push(`# ${cert.index} s:${sanitize(cert.subject)}`, `#   i:${sanitize(cert.issuer)}`);
        out.push(cert.pem ? cert.pem.trimEnd() : `#   (not kept: SHA-256 ${cert.sha256})`);
      }
    }
    if (without.length > 0) {
      out.push('#', '# no certificate from:');
      for (const port of without)
        out.push(
          `# ${port.address}: ${portName(port)}: ${port.tls ? 'TLS without a certificate' : port.status}`,
        );
    }
  }
  return `${out.join('\n')}\n`;
}
