/**
 * Every command of the CLI, declared once. cli/run.ts takes from here what it registers, the words that tell a
 * command line from a host, the commands its messages name, and the options "did you mean" knows; the package's
 * bin (bin/mailprobe.cjs, `kind`) knows the same words, held equal by test/cli.test.ts. No engine here: only the
 * command modules, which load the engine (cli/engine.ts) when they run.
 */
import type { Argv } from 'yargs';
import * as batch from './batch-command.js';
import * as demo from './demo-command.js';
import * as egress from './egress-command.js';
import * as ports from './ports-command.js';
import * as probe from './probe-command.js';
import * as publish from './publish-command.js';
import * as serve from './serve-command.js';

/** The commands besides the probe, in the order the messages name them. */
export const commands = [demo, ports, egress, serve, batch, publish] as const;

/** The default command, `mailprobe <host>`. */
export { probe };

/** A command's word: the first of its `command` (`batch [file]` → batch). */
export function commandWord(command: { command: string }): string {
  return command.command.split(' ')[0] ?? '';
}

/** The words that name the commands besides the probe. */
export const commandWords: readonly string[] = commands.map(commandWord);

/** How the messages name the probe: the command line with no command word. */
export const probeName = 'mailprobe <host>';

/**
 * Every option each command takes, from the commands' own builders run on an empty command line, mapped to the
 * commands that take it (their words, or probeName), each long one with the negation yargs takes for it
 * (`--no-web`, `--no-ispdb`): for "did you mean" and "an option of another command", on the error path only
 * (running the builders costs a few milliseconds).
 */
export function optionOwners(fresh: () => Argv): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  const table: { command: string; builder: unknown }[] = [...commands, { ...probe, builder: probe.options }];
  for (const { command, builder } of table) {
    const parsed = (builder as (yargs: Argv) => Argv)(fresh()) as unknown as {
      getOptions: () => { key: Record<string, unknown>; alias: Record<string, string[]> };
    };
    const { key, alias } = parsed.getOptions();
    const owner = command === probe.command ? probeName : commandWord({ command });
    // A positional (`batch [file]`) is a word of the command, not an option.
    const positional = (name: string) => command.includes(`<${name}>`) || command.includes(`[${name}]`);
    const add = (name: string) => {
      const list = owners.get(name) ?? [];
      if (!list.includes(owner)) owners.set(name, [...list, owner]);
    };
    for (const name of Object.keys(key))
      if (!positional(name)) {
        for (const each of [name, ...(alias[name] ?? [])]) add(each);
        if (name.length > 1 && name !== 'help' && name !== 'version') add(`no-${name}`);
      }
  }
  return owners;
}

/** Every option any command takes (see optionOwners). */
export function optionNames(fresh: () => Argv): string[] {
  return [...optionOwners(fresh).keys()];
}
