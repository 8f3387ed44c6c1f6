#!/usr/bin/env node
/** The unbundled entry (development and tests); the package's bin runs the same main() from dist/cli/cli.cjs. */
import { main } from './entry.js';

await main(process.argv.slice(2));
