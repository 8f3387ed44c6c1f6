/** `mailprobe ports`: the reference table, as text (fitted to the terminal, or COLUMNS through a pipe) or JSON. */
import type { Argv } from 'yargs';
import { referenceTable, referenceVersion } from '../reference/table.js';
import { outputWidth, useColor } from './color.js';

export const command = 'ports';
export const describe = 'print the reference table: how each mail port should behave, and why';

export function builder(yargs: Argv) {
  return yargs
    .option('json', { type: 'boolean', default: false, describe: 'print the table as JSON' })
    .option('color', { type: 'boolean', describe: 'colour the table' });
}

export async function handler(args: { json: boolean; color?: boolean | undefined }): Promise<void> {
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ reference: referenceVersion, services: referenceTable }, null, 2)}\n`,
    );
    return;
  }
  const { renderReference } = await import('../render/reference.js');
  process.stdout.write(
    renderReference({ color: useColor(args.color, process.stdout), width: outputWidth(process.stdout) }),
  );
}
