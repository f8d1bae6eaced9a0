// Entry for running the CLI from source (`node --import tsx src/cli/run.ts ...`), used by tests that need a
// real process (signals). The published entry is bin/mqtt-conform.mjs.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
