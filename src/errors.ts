/** Small named errors, each with a stable `code`. Probing never throws these to the caller of probeHost. */
import type { CapName, FilteredEvidence, Phase } from './types/index.js';

export type { CapName, Phase } from './types/index.js';

/** The `code` of a Node.js system error (ECONNREFUSED, ENOENT, …), when there is one. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** A phase did not finish within its deadline (or the port's absolute deadline ran out first). */
export class PhaseTimeoutError extends Error {
  readonly code = 'PHASE_TIMEOUT';
  constructor(
    readonly phase: Phase,
    readonly ms: number,
    /** true when the port's absolute deadline, not the phase's own, was the one that ran out. */
    readonly portDeadline: boolean,
  ) {
    super(
      portDeadline ? `Port deadline ran out awaiting '${phase}'` : `Timeout awaiting '${phase}' for ${ms} ms`,
    );
    this.name = 'PhaseTimeoutError';
  }
}

/** The port was called filtered before its connect deadline, with the evidence (src/fast-filtered.ts). */
export class FilteredEarlyError extends Error {
  readonly code = 'FILTERED_EARLY';
  constructor(readonly evidence: FilteredEvidence) {
    super(
      `no answer to ${evidence.synsSentAtMs.length + 1} SYNs (mailprobe's at ${evidence.synsSentAtMs.join(', ')} ms, and the kernel's retry) within ${evidence.decidedAfterMs} ms, while ${evidence.siblings.length} other ports of the host answered their first SYN in at most ${evidence.slowestSiblingMs} ms`,
    );
    this.name = 'FilteredEarlyError';
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends Error {
  readonly code = 'ABORTED';
  constructor(readonly phase: Phase) {
    super(`Aborted during '${phase}'`);
    this.name = 'AbortedError';
  }
}

/** The server closed the connection (FIN) while a reply was awaited. */
export class ConnectionClosedError extends Error {
  readonly code = 'CONNECTION_CLOSED';
  constructor() {
    super('Connection closed by the server');
    this.name = 'ConnectionClosedError';
  }
}

/**
 * The server said it is closing the service after the greeting: SMTP 421 at any step (RFC 5321 §3.8,
 * §4.2.5), an IMAP untagged BYE (RFC 9051 §7.1.5). The port is then not working now, whatever came before.
 */
export class ServiceClosingError extends Error {
  readonly code = 'SERVICE_CLOSING';
  /** Where each line of a reply joined from several (SMTP) stands in the message, for the scrubber (secret.ts). */
  readonly lines: (readonly [number, number])[];
  constructor(
    /** The server's words, as sent. */
    readonly reply: string,
    /** Where each line stands in `reply`, when it was joined from several. */
    lines: readonly (readonly [number, number])[] = [],
  ) {
    const prefix = 'the server is closing the service: ';
    const kept = reply.slice(0, 120);
    super(`${prefix}${kept}`);
    this.name = 'ServiceClosingError';
    this.lines = lines
      .filter(([start]) => start <= kept.length)
      .map(([start, end]) => [prefix.length + start, prefix.length + Math.min(end, kept.length)] as const);
  }
}

/**
 * The server refused the step every mail session needs (SMTP EHLO, and HELO after it): service refused, as in a
 * greeting, though the connection stays up.
 */
export class CommandRefusedError extends Error {
  readonly code = 'COMMAND_REFUSED';
  constructor(
    /** The command and the server's words, as sent. */
    readonly reply: string,
  ) {
    super(`the server refused ${reply.slice(0, 120)}`);
    this.name = 'CommandRefusedError';
  }
}

/** The server broke the protocol: a malformed or oversized reply, a wrong tag, a huge literal. */
export class ProtocolError extends Error {
  readonly code = 'PROTOCOL_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const capUnits: Readonly<Record<CapName, string>> = {
  lineBytes: 'bytes',
  replyBytes: 'bytes',
  replyLines: 'lines',
  literalBytes: 'bytes',
};

/**
 * What the server sent went past one of mailprobe's own caps, where the protocol allows it: a line longer than
 * `lineBytes` (any IMAP line: RFC 9051 sets no line length limit; an SMTP or POP3 line under a cap below their 512
 * octets), a reply of more lines or bytes than `replyLines` or `replyBytes` (no mail protocol limits them), an IMAP
 * literal larger than `literalBytes`. The dialogue stops there, and the cause is the cap, never the server's fault.
 */
export class CapError extends Error {
  readonly code = 'CAP_REACHED';
  constructor(
    /** The cap, by its --limit name. */
    readonly cap: CapName,
    /** Its value in this probe. */
    readonly value: number,
    /** What went past it, up to the cap's words: "a line longer than", "an IMAP literal of 70000 bytes, over". */
    what: string,
    /** What the protocol allows, with its reference. */
    allowed: string,
  ) {
    super(
      `${what} mailprobe's cap of ${value} ${capUnits[cap]} (${allowed}): mailprobe stopped the dialogue there; raise the cap with --limit ${cap}=N`,
    );
    this.name = 'CapError';
  }
}

/** Invalid input from the user (a bad port, service, option or file). The CLI exits 2 on it. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The host name could not be resolved. The CLI exits 3 on it. */
export class ResolveError extends Error {
  readonly code = 'RESOLVE';
  constructor(
    readonly host: string,
    readonly reason: string,
    /** True when DNS answered that there is no such name or record, false when the lookup itself failed. */
    readonly notFound = false,
    /** True when the host has addresses, only none of the family asked for (-4, -6): no lookup failed. */
    readonly otherFamily = false,
  ) {
    super(`cannot resolve ${host}: ${reason}`);
    this.name = 'ResolveError';
  }
}
