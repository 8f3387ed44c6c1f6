/**
 * What discovery and `publish` start from: a mail domain, or an address at one. Checked before any lookup, and
 * light (no DNS module), so the command line can check it as it parses its options.
 */
import { isIP, numericForm } from '../net/names.js';

/**
 * Why `target` is not a mail domain nor an address at one, or undefined when it may be (its domain still has to
 * be a host name: checkHost). An address has one `@` between a local part and a domain, neither empty, and no
 * white space. A domain that is an IP address, an address literal (`alice@[192.0.2.1]`, RFC 5321 §4.1.3) or a number
 * a resolver reads as one (`0x7f000001`) has no DNS records to read, no names a client guesses and nothing to
 * publish: it is refused, never looked up.
 */
export function mailTargetProblem(target: string): string | undefined {
  const shown = target.length > 80 ? `${target.slice(0, 60)}… (${target.length} characters)` : target;
  const at = target.indexOf('@');
  if (at >= 0) {
    if (at !== target.lastIndexOf('@')) return `'${shown}' is not a mail address (more than one @)`;
    if (at === 0 || at === target.length - 1 || /\s/.test(target)) return `'${shown}' is not a mail address`;
  }
  const domain = target.slice(at + 1);
  const literal = /^\[(.*)\]$/.exec(domain);
  const address = literal ? (literal[1] ?? '').replace(/^IPv6:/i, '') : domain;
  const whose = `'${shown}'${at >= 0 ? ': its domain' : ''}`;
  if (literal && !isIP(address)) return `${whose} is in brackets, not a mail domain`;
  // 0x7f000001, 127.1, 2130706433: no domain, but an address a resolver reads (inet_aton) that nobody wrote.
  if (!isIP(address) && numericForm.test(address))
    return `${whose} is a number a resolver reads as an IPv4 address, not a mail domain`;
  if (!isIP(address)) return undefined;
  return `${whose} is ${literal && at >= 0 ? 'an address literal' : 'an IP address'}, not a mail domain (to probe that host: mailprobe ${address})`;
}
