#!/usr/bin/env node
/**
 * A process entry for `sync` and `verify` until they are wired into `src/cli.ts`
 * (`node dist/src/sync/bin.js sync --config FILE`). Exit codes as the CLI's.
 */
import { syncCommand, verifyCommand } from './command.js';

const [command, ...rest] = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
if (command === 'sync') process.exitCode = await syncCommand(rest, io);
else if (command === 'verify') process.exitCode = await verifyCommand(rest, io);
else {
  process.stderr.write('usage: bin.js sync|verify [options]\n');
  process.exitCode = 64;
}
