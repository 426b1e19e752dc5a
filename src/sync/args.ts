/**
 * Command lines of `sync` and `verify`, parsed into plain options (the lead's
 * `src/commands/sync.ts` calls these and maps `SyncUsageError` to exit 64).
 */
import { parseArgs } from 'node:util';

export interface SyncArgs {
  config: string | undefined;
  dryRun: boolean;
  /** Only these repositories (configured or not); empty = `sync.repositories`. */
  repositories: string[];
  /** Only these buckets; empty = every bucket with a `store:`. */
  buckets: string[];
  /** JSON lines even on a terminal. */
  json: boolean;
}

export interface VerifyArgs {
  config: string | undefined;
  buckets: string[];
  /** Re-hash every object, not only check its size. */
  deep: boolean;
  json: boolean;
}

export class SyncUsageError extends Error {
  override name = 'SyncUsageError';
}

export const SYNC_USAGE = 'usage: registry-edge sync [--config FILE] [--dry-run] [--repo NAME…] [--bucket NAME…] [--json]';
export const VERIFY_USAGE = 'usage: registry-edge verify [--config FILE] [--bucket NAME…] [--deep] [--json]';

/** `--repo a --repo b`, `--repo a,b` and `--repo a b` all name two repositories. */
function names(values: string[] | undefined, positionals: string[]): string[] {
  return [...(values ?? []), ...positionals].flatMap((value) => value.split(',')).map((name) => name.trim()).filter((name) => name !== '');
}

function parse(args: readonly string[], options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>, usage: string) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new SyncUsageError(`${(error as Error).message}\n${usage}`);
  }
}

/**
 * Values after `--repo`/`--bucket` that are not options belong to the last of the two named:
 * node's parser hands them over as positionals, in order.
 */
function splitPositionals(args: readonly string[]): { repo: string[]; bucket: string[] } {
  const result = { repo: [] as string[], bucket: [] as string[] };
  let owner: 'repo' | 'bucket' | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (arg === '--repo' || arg === '--bucket') {
      owner = arg === '--repo' ? 'repo' : 'bucket';
      index++;
    } else if (arg.startsWith('-')) {
      owner = undefined;
      if (arg === '--config') index++;
    } else if (owner === undefined) throw new SyncUsageError(`unexpected argument ${JSON.stringify(arg)}`);
    else result[owner].push(arg);
  }
  return result;
}

export function parseSyncArgs(args: readonly string[]): SyncArgs {
  const { values } = parse(args, {
    config: { type: 'string' },
    'dry-run': { type: 'boolean' },
    repo: { type: 'string', multiple: true },
    bucket: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  }, SYNC_USAGE);
  const extra = splitPositionals(args);
  return {
    config: values.config as string | undefined,
    dryRun: values['dry-run'] === true,
    repositories: names(values.repo as string[] | undefined, extra.repo),
    buckets: names(values.bucket as string[] | undefined, extra.bucket),
    json: values.json === true,
  };
}

export function parseVerifyArgs(args: readonly string[]): VerifyArgs {
  const { values } = parse(args, {
    config: { type: 'string' },
    bucket: { type: 'string', multiple: true },
    deep: { type: 'boolean' },
    json: { type: 'boolean' },
  }, VERIFY_USAGE);
  const extra = splitPositionals(args);
  return {
    config: values.config as string | undefined,
    buckets: names(values.bucket as string[] | undefined, extra.bucket),
    deep: values.deep === true,
    json: values.json === true,
  };
}
