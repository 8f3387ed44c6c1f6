/**
 * The spinner on stderr while a host or a domain is probed: what each unfinished port waits for, and for how
 * long. Only for people: a terminal, human output, not in CI. ora loads only once probing has lasted 150 ms.
 */
import type { Phase } from '../types/index.js';
import { useColor } from './color.js';

/** How long a probe runs before the spinner shows: a quick run never loads ora, and no socket waits for it. */
const spinnerDelayMs = 150;

/** What the report shows while probing. */
export interface Progress {
  /** A port on an address entered a phase (its first phase when it starts). */
  phase: (port: number, address: string, phase: Phase) => void;
  /** A port on an address is done. */
  done: (port: number, address: string) => void;
  stop: () => void;
}

/** What a port in each phase is waiting for, in the spinner's words. */
const waitingFor: Readonly<Record<Phase, string>> = {
  dns: 'resolving',
  connect: 'connecting',
  tls: 'in TLS handshake',
  greeting: 'waiting for greeting',
  capabilities: 'waiting for capabilities',
  starttls: 'in STARTTLS',
  check: 'running checks',
  quit: 'closing',
};

/**
 * The spinner's line: how many ports are done, then what each unfinished port waits for and for how long, the
 * longest first (`probing: 6/7 done · 143 waiting for greeting 4 s`); a port probed on several addresses shows
 * once, with its longest wait. At most three ports are named.
 */
export function progressLine(
  done: number,
  total: number,
  waits: Iterable<{ port: number; phase: Phase; since: number }>,
  now: number,
): string {
  const longest = new Map<number, { port: number; phase: Phase; since: number }>();
  for (const wait of waits) {
    const seen = longest.get(wait.port);
    if (!seen || wait.since < seen.since) longest.set(wait.port, wait);
  }
  const ordered = [...longest.values()].sort((a, b) => a.since - b.since || a.port - b.port);
  const named = ordered
    .slice(0, 3)
    .map(
      (wait) =>
        `${wait.port} ${waitingFor[wait.phase]} ${Math.max(0, Math.floor((now - wait.since) / 1000))} s`,
    );
  if (ordered.length > 3) named.push(`+${ordered.length - 3} more`);
  const head =
    done === 0 ? `probing ${total} port${total === 1 ? '' : 's'}` : `probing: ${done}/${total} done`;
  return [head, ...named].join(' · ');
}

/**
 * A spinner on stderr, only for people: an interactive terminal of some width, human output, not in CI, colour
 * as the report's (NO_COLOR, --no-color, --color). ora is loaded only once probing has lasted 150 ms, and is told
 * to leave stdin alone: in raw mode Ctrl-C would never reach the process. ora 9.4 loops forever on a terminal
 * that reports 0 columns, so there is no spinner there. Its line says what each unfinished port waits for, and is
 * redrawn every second.
 */
export function spinner(
  report: { format: string; color: boolean | undefined },
  total: number,
): Progress | undefined {
  if (report.format !== 'human' || process.env.CI !== undefined) return undefined;
  let done = 0;
  let stopped = false;
  let spin: { text: string; stop: () => unknown } | undefined;
  let redraw: NodeJS.Timeout | undefined;
  const waits = new Map<string, { port: number; phase: Phase; since: number }>();
  const text = () => {
    const line = progressLine(done, total, waits.values(), performance.now());
    // One line: ora redraws in place only what fits (the spinner and a space take 2 columns).
    const room = (process.stderr.columns ?? 80) - 3;
    return line.length > room ? `${line.slice(0, Math.max(0, room - 1))}…` : line;
  };
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
    phase: (port, address, phase) => {
      waits.set(`${port} ${address}`, { port, phase, since: performance.now() });
      if (spin) spin.text = text();
    },
    done: (port, address) => {
      done++;
      waits.delete(`${port} ${address}`);
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
