// Preloaded with `node --require` under `valgrind --tool=callgrind`: ends the process at its first client socket,
// so the instructions counted are those spent before it (repeatable on a loaded machine, where times are not).
// Subtract what callgrind_annotate gives for `detail::sprp` (V8's search for a random hash seed: a different
// length in every process). See docs/bench-log.md (2026-12-07, the rules and renderers after the first socket).
require('node:diagnostics_channel').subscribe('net.client.socket', () => process.reallyExit(0));
