/**
 * The `sync` and `verify` commands from argv to exit code: what `src/commands/sync.ts` calls
 * once the lead wires them into the CLI. Until the main config schema holds the `sync:` and
 * `store:` fragments, the settings come from `loadSyncSettings`.
 */
import { parseSyncArgs, parseVerifyArgs } from './args.js';
import { loadSyncSettings } from './config.js';
import { reportFatal, runSync, type SyncIo } from './run.js';
import type { SyncSettings } from './schema.js';
import { runVerify } from './verify.js';

async function command<A extends { config: string | undefined }>(
  name: string,
  argv: readonly string[],
  io: SyncIo,
  parse: (argv: readonly string[]) => A,
  run: (options: { settings: SyncSettings; args: A }, io: SyncIo) => Promise<number>,
): Promise<number> {
  try {
    const args = parse(argv);
    return await run({ settings: loadSyncSettings(args.config, io.env), args }, io);
  } catch (error) {
    return reportFatal(error, undefined, io, name);
  }
}

export function syncCommand(argv: readonly string[], io: SyncIo): Promise<number> {
  return command('sync', argv, io, parseSyncArgs, runSync);
}

export function verifyCommand(argv: readonly string[], io: SyncIo): Promise<number> {
  return command('verify', argv, io, parseVerifyArgs, runVerify);
}
