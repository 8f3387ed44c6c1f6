/**
 * The spinner on stderr while a host or a domain is probed: what each unfinished port waits for, and for how
 * long. Only for people: a terminal, human output, not in CI. ora loads only once probing has lasted 150 ms.
 */
import { defaultLimits, type Limits } from '../limits.js';
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
  const fits = tries.find((text) => [...text].length <= room);
  if (fits !== undefined) return fits;
  const last = [...(tries.at(-1) ?? '')];
  return room < 1 ? '' : `${last.slice(0, room - 1).join('')}…`;
}

/**
 * A spinner on stderr, only for people: an interactive terminal of some width, human output, not in CI, colour
 * as the report's (NO_COLOR, --no-color, --color). ora is loaded only once probing has lasted 150 ms, and is told
 * to leave stdin alone: in raw mode Ctrl-C would never reach the process. ora 9.4 loops forever on a terminal
 * that reports 0 columns, so there is no spinner there. Its line says what each unfinished port waits for, out of
 * which deadline of `given` (over the defaults), fits the terminal's width, and is redrawn every second.
 */
export function spinner(
  report: { format: string; color: boolean | undefined },
  total: number,
  given: Partial<Limits> = {},
): Progress | undefined {
  if (report.format !== 'human' || process.env.CI !== undefined) return undefined;
  let done = 0;
  let stopped = false;
  let spin: { text: string; stop: () => unknown } | undefined;
  let redraw: NodeJS.Timeout | undefined;
  const limits: Limits = { ...defaultLimits, ...given };
  const waits = new Map<string, Wait>();
  const started = new Map<string, number>();
  // One line: ora redraws in place only what fits (the spinner and a space take 2 columns, and the last column
  // is left free so that no terminal wraps).
  const text = () =>
    progressLine(done, total, waits.values(), performance.now(), (process.stderr.columns ?? 80) - 3);
  const show = () => {
    // process.stderr is made on first use (a tty.WriteStream on a terminal, about 2 ms): only now, once the
    // sockets are open, is it looked at.
    if (process.stderr.isTTY !== true || !((process.stderr.columns ?? 0) > 0)) return;
    const color = useColor(report.color, process.stderr);
    import('ora').then(
      ({ default: ora }) => {
        if (stopped) return;
        spin = ora({
          text: text(),
          stream: process.stderr,
          discardStdin: false,
          color: color ? 'cyan' : false,
          isEnabled: true,
        }).start();
        // The seconds of each wait move on even when no port changes phase.
        redraw = setInterval(() => {
          if (spin) spin.text = text();
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
    phase: (port, address, phase, service) => {
      const key = `${port} ${address}`;
      const now = performance.now();
      const start = started.get(key) ?? now;
      started.set(key, start);
      const deadlineMs = phaseDeadline(phase, limits, start, now);
      waits.set(key, { port, service, phase, since: now, deadlineMs });
      if (spin) spin.text = text();
    },
    done: (port, address) => {
      done++;
      waits.delete(`${port} ${address}`);
      started.delete(`${port} ${address}`);
      if (spin) spin.text = text();
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
