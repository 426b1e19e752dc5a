/**
 * The `sync` and `verify` commands from argv to exit code: what `src/commands/sync.ts` calls
 * once the lead wires them into the CLI. Until the main config schema holds the `sync:` and
 * `store:` fragments, the settings come from `loadSyncSettings`.
 */
import { parseSyncArgs, parseVerifyArgs } from './args.js';
import { loadSyncSettings } from './config.js';
import { reportFatal, runSync, type SyncIo } from './run.js';
import { runVerify } from './verify.js';

export async function syncCommand(argv: readonly string[], io: SyncIo): Promise<number> {
  try {
    const args = parseSyncArgs(argv);
    return await runSync({ settings: loadSyncSettings(args.config, io.env), args }, io);
  } catch (error) {
    return reportFatal(error, undefined, io, 'sync');
  }
}

export async function verifyCommand(argv: readonly string[], io: SyncIo): Promise<number> {
  try {
    const args = parseVerifyArgs(argv);
    return await runVerify({ settings: loadSyncSettings(args.config, io.env), args }, io);
  } catch (error) {
    return reportFatal(error, undefined, io, 'verify');
  }
}
