import { guardStdout } from './stdout.js';

/**
 * `mailprobe ports` with nothing but its own flags (`--json`, `--color` or `--no-color`, each once) needs no option
 * parser: the same handler, without yargs. The package's bin runs this from a bundle of its own
 * (dist/cli/ports.cjs), so that line does not load the CLI bundle either; any other line goes on to the CLI.
 */
export async function portsFast(argv: string[]): Promise<boolean> {
  const rest = argv.slice(1);
  const colorFlags = rest.filter((arg) => arg === '--color' || arg === '--no-color');
  if (
    argv[0] !== 'ports' ||
    !rest.every((arg) => arg === '--json' || arg === '--color' || arg === '--no-color') ||
    new Set(rest).size !== rest.length ||
    colorFlags.length > 1
  )
    return false;
  guardStdout();
  const { handler } = await import('./ports-command.js');
  await handler({
    json: rest.includes('--json'),
    ...(colorFlags[0] ? { color: colorFlags[0] === '--color' } : {}),
  });
  return true;
}
