/**
 * Host names and addresses as they go on the wire: normalising for SNI and matching (IDNA, trailing dot),
 * validating user values (host names, EHLO arguments), and telling non-public addresses.
 */
import type net from 'node:net';
import { domainToASCII } from 'node:url';
import { UsageError } from '../errors.js';
import { echo } from '../limits.js';

const ipv4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * node:net's isIP without its costs: IPv4 by a small pattern, and node:net (whose IPv6 pattern takes about 5 ms
 * to compile on first use, and whose module about 2 ms to load) only for text with a colon, which a host name
 * never has.
 */
export function isIP(text: string): 0 | 4 | 6 {
  if (ipv4.test(text)) return 4;
  if (!text.includes(':')) return 0;
  return process.getBuiltinModule('node:net').isIPv6(text) ? 6 : 0;
}

/** Decimal, octal or hex numbers in up to four dotted parts: what inet_aton (and so a resolver) reads as IPv4. */
export const numericForm = /^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}\.?$/i;

/** A host name as it goes on the wire (DNS, SNI) and into certificate matching, with what was changed. */
export interface NormalizedName {
  /** A-label form (RFC 5890), lower case, no brackets, no trailing dot; an IP literal as is. */
  name: string;
  /** What normalising changed, for the report ("the trailing dot was dropped", "converted to …"). */
  notes: string[];
}

/**
 * Normalises a host for SNI and certificate checks per RFC 9525 §6.3 and RFC 6066 §3: a trailing dot is not
 * part of the name (SNI forbids it), a U-label is compared in its A-label form (IDNA via node:url, the same
 * conversion browsers use), an IPv6 literal loses its brackets. Returns undefined for a name IDNA refuses.
 */
export function normalizeHostName(host: string): NormalizedName | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) return { name: bare, notes: [] };
  // IDNA (WHATWG) silently drops tabs and line ends; a name holding any control character is refused instead.
  if (/[\x00-\x20\x7f-\x9f]/.test(host)) return undefined;
  const notes: string[] = [];
  let name = bare;
  if (name.endsWith('.') && name.length > 1) {
    name = name.slice(0, -1);
    notes.push(
      `the trailing dot of ${host} is not sent in SNI nor matched against the certificate (RFC 6066 §3)`,
    );
  }
  const ascii = domainToASCII(name);
  if (ascii === '') return undefined;
  // domainToASCII also lower-cases, which matching ignores anyway (RFC 9525 §6.3): only an IDN is noted.
  if (/[^\x00-\x7f]/.test(name)) notes.push(`${name} is sent and matched as ${ascii} (A-label, RFC 5890)`);
  return { name: ascii, notes };
}

/**
 * Why a name that came from the network (an MX exchange, an SRV target, a published document's host) cannot be
 * used as a host name, or undefined when it can: the same test a host given on the command line passes, so a
 * bad name is a finding on its record, never an error blamed on the user.
 */
export function hostNameProblem(name: string): string | undefined {
  const normalized = normalizeHostName(name);
  if (!normalized)
    return /(^|\.)xn--/i.test(name)
      ? 'IDNA refuses it: an xn-- label must be the Punycode of a valid U-label (RFC 5890 §2.3.2.1, RFC 5891 §5.4)'
      : 'IDNA refuses it (RFC 5891 §5.4; a control character or a character no host name may hold)';
  if (isIP(normalized.name) || isHostName(normalized.name)) return undefined;
  return 'not a host name: letters, digits and hyphens, labels of 1 to 63 octets, 253 in all (RFC 1123 §2.1, RFC 1035 §2.3.1)';
}

const ldhLabel = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i;

/** A DNS host name in A-label form (LDH labels, underscores tolerated as resolvers do), at most 253 octets. */
export function isHostName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => ldhLabel.test(label));
}

/**
 * The EHLO/HELO argument: an RFC 5321 §4.1.2 Domain (LDH labels) or address-literal (§4.1.3: `[IPv4]`,
 * `[IPv6:…]`, or a General-address-literal `[tag:dcontent]`). Anything else (spaces, CR, LF) is refused,
 * so a user value can never add a command to the dialogue.
 */
export function isEhloArgument(value: string): boolean {
  const literal = /^\[(.*)\]$/.exec(value);
  if (literal) {
    const inner = literal[1] ?? '';
    if (isIP(inner) === 4) return true;
    if (/^IPv6:/i.test(inner)) return isIP(inner.slice(5)) === 6;
    return /^[a-z0-9-]*[a-z0-9]:[\x21-\x5a\x5e-\x7e]+$/i.test(inner);
  }
  const domain = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
  return value.length <= 255 && value.split('.').every((label) => domain.test(label));
}

let nonPublicList: net.BlockList | undefined;

/** Addresses that are not reachable on the public Internet (RFC 1918, 6598, 3927, 4193, 4291 loopback and link-local). */
function nonPublicBlocks(): net.BlockList {
  if (nonPublicList) return nonPublicList;
  const nonPublic = new (process.getBuiltinModule('node:net').BlockList)();
  for (const [prefix, bits] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
  ] as const)
    nonPublic.addSubnet(prefix, bits, 'ipv4');
  for (const [prefix, bits] of [
    ['::1', 128],
    ['::', 128],
    ['fc00::', 7],
    ['fe80::', 10],
  ] as const)
    nonPublic.addSubnet(prefix, bits, 'ipv6');
  nonPublicList = nonPublic;
  return nonPublic;
}

/** The IPv4 ranges of nonPublicBlocks, as [first octet, second octet from, second octet to]. */
const v4Ranges: readonly (readonly [number, number, number])[] = [
  [0, 0, 255],
  [10, 0, 255],
  [100, 64, 127],
  [127, 0, 255],
  [169, 254, 254],
  [172, 16, 31],
  [192, 168, 168],
];

function nonPublicV4(address: string): boolean {
  const dot = address.indexOf('.');
  const first = Number(address.slice(0, dot));
  const second = Number(address.slice(dot + 1, address.indexOf('.', dot + 1)));
  return v4Ranges.some(([a, from, to]) => first === a && second >= from && second <= to);
}

const addressKinds = new Map<string, string | undefined>();

/**
 * What kind of non-public address this is, or undefined for a public one. Remembered per address (bounded):
 * BlockList.check builds a SocketAddress each call, and a batch asks once per port.
 */
export function nonPublicAddress(address: string): string | undefined {
  if (addressKinds.has(address)) return addressKinds.get(address);
  const kind = addressKind(address);
  if (addressKinds.size >= 4096) addressKinds.clear();
  addressKinds.set(address, kind);
  return kind;
}

function addressKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  // An IPv6 address that reaches an IPv4 host (NAT64, 6to4, ...) is as public as that host.
  if (family === 6) {
    const canonical = canonicalAddress(address);
    const inner =
      canonical && canonical.family === 6 ? embeddedIpv4(addressBits(canonical.address, 6)) : undefined;
    const kind = inner ? addressKind(inner.address) : undefined;
    if (kind) return kind;
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const [bare, type] = mapped
    ? [mapped, 'ipv4' as const]
    : [address, family === 4 ? ('ipv4' as const) : ('ipv6' as const)];
  // IPv4 by its number, the same blocks as nonPublicBlocks (BlockList.check builds a SocketAddress a call, and in
  // a fleet every address is new).
  const blocked = type === 'ipv4' ? nonPublicV4(bare) : nonPublicBlocks().check(bare, type);
  if (!blocked) return undefined;
  if (/^127\.|^::1$/.test(bare)) return 'loopback';
  if (/^169\.254\.|^fe[89ab]/i.test(bare)) return 'link-local';
  return 'private';
}

/** Parses `--dns-server`: 192.0.2.53, 192.0.2.53:5353, ::1, [::1]:5353. */
export function parseDnsServer(text: string): string {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const [host, port] = bracketed
    ? [bracketed[1] ?? '', bracketed[2]]
    : isIP(text) === 6
      ? [text, undefined]
      : [text.split(':')[0] ?? '', text.split(':')[1]];
  if (isIP(host) === 0)
    throw new UsageError(`--dns-server: '${echo(text)}' is not an IP address (ADDR or ADDR:PORT)`);
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new UsageError(`--dns-server: '${echo(port)}' is not a port number (1-65535)`);
  }
  return isIP(host) === 6 ? `[${host}]:${port ?? 53}` : `${host}:${port ?? 53}`;
}

/**
 * A name pattern matches a host name exactly, or `*.` stands for exactly one left-most label: an MTA-STS mx
 * pattern (RFC 8461 §4.1) and a certificate's DNS name (RFC 6125 §6.4.3) both match so. The host is compared
 * lower-case, without a final dot; the pattern as given.
 */
export function namePatternMatches(pattern: string, host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (pattern.startsWith('*.')) {
    const rest = pattern.slice(1);
    return name.endsWith(rest) && name.length > rest.length && !name.slice(0, -rest.length).includes('.');
  }
  return pattern === name;
}

/** An IP address in one canonical form: no brackets, no zone id, an IPv4-mapped IPv6 address as the IPv4 one. */
export function canonicalAddress(text: string): { address: string; family: 4 | 6 } | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return { address: bare, family };
  if (family !== 6) return undefined;
  const address = new (process.getBuiltinModule('node:net').SocketAddress)({ address: bare, family: 'ipv6' })
    .address;
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(address);
  if (mapped?.[1]) return { address: mapped[1], family: 4 };
  if (mapped?.[2] && mapped[3]) {
    const high = Number.parseInt(mapped[2], 16);
    const low = Number.parseInt(mapped[3], 16);
    return { address: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, family: 4 };
  }
  return { address, family: 6 };
}

/** The address as a number (32 or 128 bits), from canonicalAddress's form. */
export function addressBits(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  const [head = '', tail] = address.split('::');
  const groups = (text: string) =>
    text === ''
      ? []
      : text.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return all.reduce((n, group) => (n << 16n) | BigInt(group), 0n);
}

/**
 * The IPv4 address that an IPv6 address in a form that reaches an IPv4 host embeds, with the form's name, or
 * undefined. IPv4-mapped ::ffff:0:0/96 is already read as IPv4 by canonicalAddress. The forms:
 * - NAT64: the well-known prefix 64:ff9b::/96 (RFC 6052 §2.1), and the local-use 64:ff9b:1::/48 (RFC 8215) read
 *   in the /96 layout (RFC 6052 §2.2): the IPv4 address in the last 32 bits;
 * - IPv4-translated ::ffff:0:0/96 (RFC 2765 §2.1) and IPv4-compatible ::/96 (RFC 4291 §2.5.5.1, deprecated): the
 *   last 32 bits, except ::/104 (`::`, `::1` and their like are IPv6's own);
 * - 6to4 2002::/16 (RFC 3056 §2): bits 16-47;
 * - Teredo 2001::/32 (RFC 4380 §4): the server's address, bits 32-63 (the client's, obfuscated, is not read).
 */
export function embeddedIpv4(bits: bigint): { address: string; form: string } | undefined {
  const at = (shift: bigint) => {
    const v = Number((bits >> shift) & 0xffffffffn);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  };
  if (bits >> 32n === 0x64_ff9b_0000_0000_0000_0000n || bits >> 80n === 0x64_ff9b_0001n)
    return { address: at(0n), form: 'the NAT64 address (RFC 6052, RFC 8215) of' };
  if (bits >> 32n === 0xffff_0000n)
    return { address: at(0n), form: 'the IPv4-translated address (RFC 2765) of' };
  if (bits >> 32n === 0n && bits >> 24n !== 0n)
    return { address: at(0n), form: 'the IPv4-compatible address (RFC 4291) of' };
  if (bits >> 112n === 0x2002n) return { address: at(80n), form: 'a 6to4 address (RFC 3056) of' };
  if (bits >> 96n === 0x2001_0000n)
    return { address: at(64n), form: 'a Teredo address (RFC 4380) with the server' };
  return undefined;
}
