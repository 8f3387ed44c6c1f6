/**
 * Does this network let outbound SMTP out? Port 25 is tried on several independent mail hosts that are
 * known to listen on it, with a control port on the same hosts that networks rarely block. A host whose
 * control port answers (connects or refuses: either way the path is open) while 25 stays silent or is
 * refused is evidence of an outbound block; 25 connecting anywhere is evidence against one.
 */
import pLimit from 'p-limit';
import type { Address, Dns } from './dns.js';
import { PhaseTimeoutError } from './errors.js';
import { Deadline } from './net/deadline.js';
import { classifyConnectError, connectTcp } from './net/dial.js';

/** Independent, long-lived mail exchangers of large providers (replace with --via). */
export const defaultEgressHosts = [
  'gmail-smtp-in.l.google.com',
  'outlook-com.olc.protection.outlook.com',
  'mta5.am0.yahoodns.net',
  'mx1.mail.icloud.com',
];
export const defaultControlPort = 443;

/** How one TCP connection attempt ended. */
export type Reach = 'connected' | 'refused' | 'filtered' | 'unreachable' | 'reset' | 'error';

export interface EgressHost {
  host: string;
  address?: string;
  /** Why the host could not be tried, when it could not. */
  error?: string;
  port25?: Reach;
  control?: Reach;
  /** What this host says: blocked (control answered, 25 did not connect), open (25 connected), unknown. */
  evidence: 'blocked' | 'open' | 'unknown';
}

export interface EgressResult {
  conclusion: 'blocked' | 'not-blocked' | 'inconclusive';
  /** One sentence for people. */
  summary: string;
  controlPort: number;
  hosts: EgressHost[];
}

/** One TCP connect under a deadline; the socket is closed at once (nothing is sent). */
export async function reach(address: string, port: number, ms: number): Promise<Reach> {
  let socket: import('node:net').Socket | undefined;
  try {
    await new Deadline(ms).run('connect', ms, () =>
      connectTcp(address, port, (s) => {
        socket = s;
        s.on('error', () => {});
      }),
    );
    return 'connected';
  } catch (error) {
    if (error instanceof PhaseTimeoutError) return 'filtered';
    const kind = classifyConnectError(
      typeof error === 'object' && error && 'code' in error ? String(error.code) : undefined,
    );
    return kind === 'local-error' ? 'error' : kind;
  } finally {
    socket?.destroy();
  }
}

/** Pure: what a set of per-host observations concludes. */
export function concludeEgress(hosts: EgressHost[]): Pick<EgressResult, 'conclusion' | 'summary'> {
  const open = hosts.filter((h) => h.evidence === 'open');
  const blocked = hosts.filter((h) => h.evidence === 'blocked');
  if (open.length > 0) {
    return {
      conclusion: 'not-blocked',
      summary: `outbound port 25 is not blocked on this network: ${open.map((h) => h.host).join(', ')} answered on 25`,
    };
  }
  if (blocked.length >= 2) {
    return {
      conclusion: 'blocked',
      summary: `outbound port 25 is blocked on this network: ${blocked.length} independent mail hosts answered on the control port but not on 25`,
    };
  }
  return {
    conclusion: 'inconclusive',
    summary: `inconclusive: ${blocked.length === 1 ? 'only one host' : 'no host'} showed a block while its control port answered; try more hosts with --via or check the network`,
  };
}

export async function checkEgress(options: {
  hosts: string[];
  controlPort: number;
  timeoutMs: number;
  dns: Dns;
  family?: 4 | 6 | 'both';
}): Promise<EgressResult> {
  const limit = pLimit(4);
  const hosts = await Promise.all(
    options.hosts.map((host) =>
      limit(async (): Promise<EgressHost> => {
        let address: Address | undefined;
        try {
          const found = await options.dns.addresses(host);
          address = found.find(
            (a) => options.family === undefined || options.family === 'both' || a.family === options.family,
          );
        } catch (error) {
          return { host, error: error instanceof Error ? error.message : String(error), evidence: 'unknown' };
        }
        if (!address) return { host, error: `no IPv${options.family} address`, evidence: 'unknown' };
        const [port25, control] = await Promise.all([
          reach(address.address, 25, options.timeoutMs),
          reach(address.address, options.controlPort, options.timeoutMs),
        ]);
        const controlAnswered = control === 'connected' || control === 'refused';
        const evidence = port25 === 'connected' ? 'open' : controlAnswered ? 'blocked' : 'unknown';
        return { host, address: address.address, port25, control, evidence };
      }),
    ),
  );
  return { ...concludeEgress(hosts), controlPort: options.controlPort, hosts };
}
