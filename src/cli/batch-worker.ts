/**
 * One worker process of `mailprobe batch --workers N` (src/batch-workers.ts): started by the batch command with an
 * IPC channel, it probes the share of targets the parent sends it. Bundled as dist/cli/batch-worker.cjs.
 */
import { serveBatchWorker } from './modes.js';

serveBatchWorker();
