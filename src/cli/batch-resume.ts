/** --resume for one run of `mailprobe batch`: which of its lines are done (src/cli/batch-files.ts reads the file). */
import { type ResumeIndex, resumeDone, type TargetsInput } from './batch-files.js';

/**
 * --resume for one run: the lines of `lines` that this run probes (`mine`: its shard's) and that have a document in
 * `file` are marked done; another shard's documents are not counted. When the file holds documents and none
 * answers a line of the list (the output of another list?), one line on stderr says so; every target is probed.
 */
export function resumeRun(
  file: string,
  lines: ResumeIndex & { has(input: string): boolean },
  mine: (input: string) => boolean,
  identity: TargetsInput['identity'],
  listName: string,
): void {
  let documents = 0;
  let ours = 0;
  const index: ResumeIndex = {
    markDone: (input) => {
      documents++;
      if (!lines.has(input)) return;
      ours++;
      if (mine(input)) lines.markDone(input);
    },
  };
  resumeDone(file, index, identity);
  if (documents > 0 && ours === 0)
    process.stderr.write(
      `mailprobe batch: --resume: none of the ${documents} documents in ${file} answers a line of ${listName} (the output of another list?); every target is probed\n`,
    );
}
