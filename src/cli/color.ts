/** Whether to colour what goes to a stream: the one rule every command follows. */
/** --color / --no-color first, then NO_COLOR (https://no-color.org), then: only on a terminal, not in CI. */
export function useColor(flag: boolean | undefined, stream: NodeJS.WriteStream): boolean {
  // The command line wins over the environment (https://no-color.org: a flag overrides NO_COLOR).
  if (flag !== undefined) return flag;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return stream.isTTY === true && process.env.CI === undefined;
}
