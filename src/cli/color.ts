/** How to print to a stream: whether to colour it, and the width to fit. */
/**
 * Whether to colour what goes to a stream: --color / --no-color first, then NO_COLOR (https://no-color.org), then:
 * only on a terminal, not in CI.
 */
export function useColor(flag: boolean | undefined, stream: NodeJS.WriteStream): boolean {
  // The command line wins over the environment (https://no-color.org: a flag overrides NO_COLOR).
  if (flag !== undefined) return flag;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return stream.isTTY === true && process.env.CI === undefined;
}

/**
 * The columns a report is fitted to: the terminal's; through a pipe, COLUMNS when it is set (as shells and CI
 * runners set it); else none.
 */
export function outputWidth(stream: NodeJS.WriteStream): number | undefined {
  const columns = stream.isTTY ? stream.columns : Number(process.env.COLUMNS);
  return Number.isFinite(columns) && columns > 0 ? columns : undefined;
}
