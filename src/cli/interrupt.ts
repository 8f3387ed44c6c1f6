/** Ctrl-C for the commands that probe: the first aborts, the second exits. */
import { exitCodes } from './exit.js';

/** The run's abort signal, whether Ctrl-C was pressed, and the release of the handler. */
export interface Interruption {
  signal: AbortSignal;
  interrupted: () => boolean;
  release: () => void;
}

/**
 * Ctrl-C: the first SIGINT aborts every probe through the library's AbortSignal, so the report of what was seen
 * so far is printed (marked interrupted) and the run exits 130 (or, for batch, the unfinished targets are left to
 * --resume); a second one exits at once. Released when the run ends.
 */
export function interruption(): Interruption {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(exitCodes.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  return {
    signal: controller.signal,
    interrupted: () => controller.signal.aborted,
    release: () => process.off('SIGINT', onSignal),
  };
}
