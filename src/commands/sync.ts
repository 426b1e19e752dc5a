import { parseSyncArgs, SyncUsageError } from '../sync/args.js';
import { runSync } from '../sync/run.js';
import { syncSettings, type SyncSettings } from '../sync/settings.js';
import { printUsage, readConfigFile, UsageError, wantsHelp, type Io } from './common.js';

export const usage = `  registry-edge sync [--config FILE] [--dry-run] [--repo NAME...] [--bucket NAME...] [--json]
      Copy every blob the configured images need (sync:) from the origin into each bucket's
      store:, skipping what is there, and write blobs.inventory. A live progress bar on a
      terminal, JSON lines otherwise; --dry-run prints the plan. Exit 0 only when every blob
      is in every selected bucket (docs/sync.md).
`;

/**
 * The shape of `sync` and `verify`: their own options, then the one configuration loader
 * (a bad file is exit 78 like every command's), then the run, whose failures are exit codes.
 */
export async function syncLikeCommand<A extends { config: string | undefined }>(
  args: string[],
  io: Io,
  commandUsage: string,
  parse: (args: readonly string[]) => A,
  run: (options: { settings: SyncSettings; args: A }, io: Io) => Promise<number>,
): Promise<number> {
  if (wantsHelp(args)) return printUsage(io, commandUsage);
  let parsed: A;
  try {
    parsed = parse(args);
  } catch (error) {
    if (error instanceof SyncUsageError) throw new UsageError(error.message);
    throw error;
  }
  const loaded = await readConfigFile(parsed.config, io);
  return run({ settings: syncSettings(loaded.config), args: parsed }, io);
}

export function syncCommand(args: string[], io: Io): Promise<number> {
  return syncLikeCommand(args, io, usage, parseSyncArgs, runSync);
}
