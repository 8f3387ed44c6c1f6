/**
 * The spinner on stderr while a host or a domain is probed: what each unfinished port waits for, and for how
 * long. Only for people: a terminal, human output, not in CI. ora loads only once probing has lasted 150 ms.
 */
import { defaultLimits, type Limits } from '../limits.js';
import { monotonicMs } from '../net/clock.js';
import type { Phase } from '../types/index.js';
import { useColor } from './color.js';

/** How long a probe runs before the spinner shows: a quick run never loads ora, and no socket waits for it. */
const spinnerDelayMs = 150;

/** What the report shows while probing. */
export interface Progress {
  /** A port on an address entered a phase (its first phase when it starts). */
  phase: (port: number, address: string, phase: Phase, service?: string) => void;
  /** A port on an address is done. */
  done: (port: number, address: string) => void;
  stop: () => void;
}

/** What a port in each phase is waiting for, in the spinner's words, given `143 (imap)`. */
const waitingFor: Readonly<Record<Phase, (port: string) => string>> = {
  dns: (port) => `resolving for ${port}`,
  connect: (port) => `connecting to ${port}`,
  tls: (port) => `TLS handshake on ${port}`,
  greeting: (port) => `waiting for ${port} greeting`,
  capabilities: (port) => `waiting for ${port} capabilities`,
  starttls: (port) => `waiting for ${port} STARTTLS reply`,
  check: (port) => `waiting for ${port} check reply`,
  quit: (port) => `closing ${port}`,
};

/** Which deadline of the limits bounds each phase (each reply after the greeting has replyMs). */
const phaseLimit: Readonly<Record<Phase, keyof Limits | undefined>> = {
  dns: undefined,
  connect: 'connectMs',
  tls: 'tlsMs',
  greeting: 'greetingMs',
  capabilities: 'replyMs',
  starttls: 'replyMs',
  check: 'replyMs',
  quit: 'replyMs',
};

/** A port waiting in a phase: since when, and how long it may (deadlineMs, when known). */
export interface Wait {
  port: number;
  service?: string | undefined;
  phase: Phase;
  since: number;
  deadlineMs?: number | undefined;
}

/**
 * The deadline of a phase entered at `now` by a port that started at `portStart`: the phase's own deadline from
 * the limits, or what is left of the port's (portMs) when that ends first.
 */
export function phaseDeadline(
  phase: Phase,
  limits: Readonly<Limits>,
  portStart: number,
  now: number,
): number | undefined {
  const name = phaseLimit[phase];
  if (name === undefined) return undefined;
  return Math.max(0, Math.min(limits[name], limits.portMs - (now - portStart)));
}

const seconds = (ms: number) => {
  const s = ms / 1000;
  return s >= 10 || Number.isInteger(s) ? String(Math.round(s)) : String(Math.round(s * 10) / 10);
};

/** The hint on a line that has room for it: Ctrl-C stops the run with what was seen so far. */
export const interruptHint = '^C for a partial report';

/**
 * The spinner's line, within `room` columns (never wrapped): how many ports are done, then what each unfinished
 * port waits for and for how long out of its phase's deadline, the longest first, then how to stop
 * (`probing: 6/7 done · waiting for 143 (imap) greeting: 12 s of 30 s — ^C for a partial report`). A port probed
 * on several addresses shows once, with its longest wait. At most three ports are named. When narrow, parts are
 * dropped in turn: the second and third ports, the count of ports done, the hint, the service and deadline; then
 * only the count is left, and at last it is cut.
 */
export function progressLine(
  done: number,
  total: number,
  waits: Iterable<Wait>,
  now: number,
  room = Number.POSITIVE_INFINITY,
): string {
  const longest = new Map<number, Wait>();
  for (const wait of waits) {
    const seen = longest.get(wait.port);
    if (!seen || wait.since < seen.since) longest.set(wait.port, wait);
  }
  const ordered = [...longest.values()].sort((a, b) => a.since - b.since || a.port - b.port);
  const describe = (wait: Wait, full: boolean) => {
    const port = full && wait.service ? `${wait.port} (${wait.service})` : String(wait.port);
    const waited = `${Math.max(0, Math.floor((now - wait.since) / 1000))} s`;
    const of = full && wait.deadlineMs !== undefined ? ` of ${seconds(wait.deadlineMs)} s` : '';
    return `${waitingFor[wait.phase](port)}: ${waited}${of}`;
  };
  const head =
    done === 0 ? `probing ${total} port${total === 1 ? '' : 's'}` : `probing: ${done}/${total} done`;
  const line = (named: number, full: boolean, hint: boolean, counted = true) => {
    const parts = ordered.slice(0, named).map((wait) => describe(wait, full));
    if (ordered.length > named && named > 0) parts.push(`+${ordered.length - named} more`);
    const shown = counted || parts.length === 0 ? [head, ...parts] : parts;
    return `${shown.join(' · ')}${hint ? ` — ${interruptHint}` : ''}`;
  };
  const tries = [
    line(3, true, true),
    line(2, true, true),
    line(1, true, true),
    line(1, true, true, false),
    line(1, true, false, false),
    line(1, false, false, false),
    line(0, false, true),
    line(0, false, false),
  ];
  return fitted(tries, room);
}

/** The first of `tries` (most to least detailed) that fits `room` columns, or the last one cut to fit. */
function fitted(tries: string[], room: number): string {
  const fits = tries.find((text) => [...text].length <= room);
  if (fits !== undefined) return fits;
  const last = [...(tries.at(-1) ?? '')];
  return room < 1 ? '' : `${last.slice(0, room - 1).join('')}…`;
}

/** An address `egress` is trying: both ports at once (`connect`), or the SMTP dialogue on 25 (`smtp`). */
export interface EgressTry {
  host: string;
  address: string;
  step: 'connect' | 'smtp';
  since: number;
}

/**
 * The `egress` spinner's line, within `room` columns (never wrapped): how many addresses are done, then which
 * host each unfinished one is, what is tried there and for how long out of its deadline, the longest first
 * (`egress: 1/4 done · trying 25 and 443 on mx1.example (192.0.2.1): 3 s of 5 s`). Before the names are looked
 * up, `looking up N mail hosts`. At most two are named; when narrow, parts are dropped in turn (the second, the
 * address, the ports and deadline), then only the count is left, and at last it is cut.
 */
export function egressLine(
  progress: {
    hosts: number;
    total: number | undefined;
    done: number;
    trying: Iterable<EgressTry>;
    timeoutMs: number;
    controlPort: number;
  },
  now: number,
  room = Number.POSITIVE_INFINITY,
): string {
  if (progress.total === undefined)
    return fitted([`egress: looking up ${progress.hosts} mail host${progress.hosts === 1 ? '' : 's'}`], room);
  const ordered = [...progress.trying].sort(
    (a, b) => a.since - b.since || a.host.localeCompare(b.host) || a.address.localeCompare(b.address),
  );
  const head = `egress: ${progress.done}/${progress.total} done`;
  const describe = (item: EgressTry, detail: 0 | 1 | 2) => {
    const where = detail === 2 ? `${item.host} (${item.address})` : item.host;
    const waited = `${Math.max(0, Math.floor((now - item.since) / 1000))} s`;
    // The SMTP dialogue on 25 has the port deadline dialogueOn25 gives it: 4 times the timeout.
    const of = seconds(item.step === 'connect' ? progress.timeoutMs : progress.timeoutMs * 4);
    if (detail === 0) return `${item.step === 'connect' ? 'trying' : 'SMTP on'} ${where}: ${waited}`;
    return item.step === 'connect'
      ? `trying 25 and ${progress.controlPort} on ${where}: ${waited} of ${of} s`
      : `SMTP dialogue on 25 of ${where}: ${waited} of ${of} s`;
  };
  const line = (named: number, detail: 0 | 1 | 2) => {
    const parts = ordered.slice(0, named).map((item) => describe(item, detail));
    if (ordered.length > named && named > 0) parts.push(`+${ordered.length - named} more`);
    return [head, ...parts].join(' · ');
  };
  return fitted([line(2, 2), line(1, 2), line(1, 1), line(1, 0), line(0, 0)], room);
}

/** A line kept up to date on stderr: `refresh` redraws it at once (it is redrawn every second anyway). */
export interface LiveLine {
  refresh: () => void;
  stop: () => void;
}

/**
 * A spinner on stderr, only for people: an interactive terminal of some width, human output, not in CI, colour
 * as the report's (NO_COLOR, --no-color, --color). ora is loaded only once the run has lasted 150 ms, and is told
 * to leave stdin alone: in raw mode Ctrl-C would never reach the process. ora 9.4 loops forever on a terminal
 * that reports 0 columns, so there is no spinner there. `text` is given the columns its line may take (the
 * spinner and a space take 2, and the last column is left free so that no terminal wraps); the line is redrawn
 * every second, so that the seconds it shows move on.
 */
export function liveLine(
  report: { format: string; color: boolean | undefined },
  text: (room: number) => string,
): LiveLine | undefined {
  if (report.format !== 'human' || process.env.CI !== undefined) return undefined;
  let stopped = false;
  let spin: { text: string; stop: () => unknown } | undefined;
  let redraw: NodeJS.Timeout | undefined;
  const line = () => text((process.stderr.columns ?? 80) - 3);
  const show = () => {
    // process.stderr is made on first use (a tty.WriteStream on a terminal, about 2 ms): only now, once the
    // sockets are open, is it looked at.
    if (process.stderr.isTTY !== true || !((process.stderr.columns ?? 0) > 0)) return;
    const color = useColor(report.color, process.stderr);
    import('ora').then(
      ({ default: ora }) => {
        if (stopped) return;
        spin = ora({
          text: line(),
          stream: process.stderr,
          discardStdin: false,
          color: color ? 'cyan' : false,
          isEnabled: true,
        }).start();
        redraw = setInterval(() => {
          if (spin) spin.text = line();
        }, 1000);
        redraw.unref();
      },
      () => {}, // no spinner is no loss
    );
  };
  // Armed once the sockets are being opened: the first timer a process sets costs about 0.3 ms.
  let timer: NodeJS.Timeout | undefined;
  const arming = setImmediate(() => {
    timer = setTimeout(show, spinnerDelayMs);
    timer.unref();
  });
  arming.unref();
  return {
    refresh: () => {
      if (spin) spin.text = line();
    },
    stop: () => {
      stopped = true;
      clearImmediate(arming);
      if (timer !== undefined) clearTimeout(timer);
      if (redraw !== undefined) clearInterval(redraw);
      spin?.stop();
    },
  };
}

/**
 * The spinner while a host or a domain is probed (liveLine): what each unfinished port waits for, out of which
 * deadline of `given` (over the defaults), within the terminal's width.
 */
export function spinner(
  report: { format: string; color: boolean | undefined },
  total: number,
  given: Partial<Limits> = {},
): Progress | undefined {
  let done = 0;
  const limits: Limits = { ...defaultLimits, ...given };
  const waits = new Map<string, Wait>();
  const started = new Map<string, number>();
  const live = liveLine(report, (room) => progressLine(done, total, waits.values(), monotonicMs(), room));
  if (!live) return undefined;
  return {
    phase: (port, address, phase, service) => {
      const key = `${port} ${address}`;
      // Not performance.now(): the first port's first phase comes before its socket, and the `performance` global
      // loads perf_hooks and seven internal modules on first use (about 1 ms).
      const now = monotonicMs();
      const start = started.get(key) ?? now;
      started.set(key, start);
      const deadlineMs = phaseDeadline(phase, limits, start, now);
      waits.set(key, { port, service, phase, since: now, deadlineMs });
      live.refresh();
    },
    done: (port, address) => {
      done++;
      waits.delete(`${port} ${address}`);
      started.delete(`${port} ${address}`);
      live.refresh();
    },
    stop: live.stop,
  };
}
