/**
 * The targets of a batch: the list's distinct lines read lazily (TargetList: a million targets in constant
 * memory, issue 28), each parsed into a host and its ports as it is reached (parseTarget).
 */

import { echo, echoBytes } from '../limits.js';
import { isHostName, isIP, normalizeHostName, numericForm } from '../net/names.js';
import { defaultPorts, type PortSpec } from '../probe/host.js';
import { isService, referenceTable } from '../reference/table.js';
import { TargetList } from './batch-list.js';

export { type TargetFile, TargetList } from './batch-list.js';

/** One target of the batch: a host and the ports to probe there. */
export interface BatchTarget {
  /** The input line, as given (trimmed). */
  input: string;
  host: string;
  ports: PortSpec[];
}

/**
 * The `input` of a target's document: the line as given, or for a line longer than 1 KiB (no target is: it can
 * only be an error) its first KiB and its length. --resume matches documents to lines by this.
 */
export function documentInput(input: string): string {
  return echo(input);
}

/**
 * Reads targets: a host or address a line (the seven ports, or `ports`: the CLI's --ports/--port), or
 * `host,port,service`, or ZGrab2's CSV (`ip,domain,tag` or `ip,domain,tag,port`: the domain when there is one,
 * the port with its reference service). A line that names its port keeps it, whatever `ports` says.
 * Blank lines, `#` comments and repeated lines are skipped; a line that names no target is a target that fails with the reason.
 */
export function parseTargets(
  text: string,
  ports: readonly PortSpec[] = defaultPorts,
): {
  targets: BatchTarget[];
  errors: { input: string; reason: string }[];
} {
  const targets: BatchTarget[] = [];
  const errors: { input: string; reason: string }[] = [];
  for (const input of new TargetList(text)) {
    const parsed = parseTarget(input, ports);
    if ('reason' in parsed) errors.push(parsed);
    else targets.push(parsed);
  }
  return { targets, errors };
}

/** One target line (trimmed, not blank, not a comment): the target, or why it names none. */
export function parseTarget(
  input: string,
  ports: readonly PortSpec[] = defaultPorts,
): BatchTarget | { input: string; reason: string } {
  // Its document could not say which line it answers (documentInput keeps the first KiB): no target is so long.
  if (input.length > echoBytes / 4 && Buffer.byteLength(input, 'utf8') > echoBytes)
    return { input, reason: `the line is longer than ${echoBytes} bytes; no target line is` };
  const fields = input.split(',').map((field) => field.trim());
  let host = fields[0] ?? '';
  let linePorts: PortSpec[] = ports as PortSpec[];
  if (fields.length === 3 && /^\d+$/.test(fields[1] ?? '')) {
    // HOST,PORT,SERVICE: a number in the middle is a port, never a ZGrab2 domain (resolved, "12510" is the
    // address 0.0.48.222: a misspelt service must not send the probe to an address nobody named).
    const service = (fields[2] ?? '').toLowerCase();
    if (!isService(service))
      return {
        input,
        reason: `'${echo(fields[2] ?? '', 40)}' is not a service (one of ${referenceTable.map((row) => row.service).join(', ')})`,
      };
    linePorts = [{ port: Number(fields[1]), service }];
  } else if (fields.length === 3 || fields.length === 4) {
    // ZGrab2: ip, domain, tag[, port]. A domain that is only numbers is an address in disguise, not a domain.
    if (numericForm.test(fields[1] ?? '') && !isIP(fields[1] ?? ''))
      return {
        input,
        reason: `the ZGrab2 domain field '${echo(fields[1] ?? '', 40)}' is a number, not a domain`,
      };
    host = fields[1] || fields[0] || '';
    if (fields[3] && !/^\d+$/.test(fields[3]))
      return { input, reason: `the ZGrab2 port field '${echo(fields[3], 40)}' is not a port number` };
    const port = fields[3] ? Number(fields[3]) : undefined;
    if (port !== undefined) {
      const row = referenceTable.find((entry) => entry.port === port);
      if (!row)
        return {
          input,
          reason: `port ${echo(fields[3] ?? '', 80)} has no reference service (use host,port,service)`,
        };
      linePorts = [{ port, service: row.service }];
    }
  } else if (fields.length !== 1) {
    return { input, reason: 'expected HOST, HOST,PORT,SERVICE or ZGrab2 CSV (ip,domain,tag[,port])' };
  }
  // Digits and dots (or hex parts) that are not an IPv4 address as written: a resolver reads 127.1, 0x7f.1,
  // 2130706433 or 127.0.0.010 (octal) as another address than the one typed, as `mailprobe HOST` refuses them.
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (numericForm.test(bare) && !isIP(bare))
    return { input, reason: `'${echo(host, 80)}' is not a valid IPv4 address` };
  const named = normalizeHostName(host);
  if (!named || (!isIP(named.name) && !isHostName(named.name)))
    return { input, reason: `'${host.slice(0, 80)}' is not a host name or IP address` };
  if (linePorts.some((spec) => spec.port < 1 || spec.port > 65535))
    return { input, reason: 'a port out of range (1-65535)' };
  return { input, host: named.name, ports: linePorts };
}
