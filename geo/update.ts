/**
 * `registry-edge geo update`, the pipeline's entry: fetch (or read with `from`) the providers'
 * range feeds, validate them, compile the cloud ranges MMDB, and refresh the compact city
 * geolocation file. Nothing is replaced unless everything it is built from was read
 * correctly; both files are written in full before either replaces the old one (commit.ts),
 * so a server never sees a half-written database and a full disk changes nothing.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { GeoLog, GeoLogLevel } from '../src/geo/types.js';
import { compactLocationsPath } from '../src/paths.js';
import { CommitError, commitFiles, type PendingFile } from './commit.js';
import type { ProviderName } from './feeds.js';
import { prepareLocations, type LocationsUpdateOptions, type LocationsUpdateResult } from './locations.js';
import type { BuildStats } from './mmdb/writer.js';
import { compileRanges, verifyRanges, warnAboutUnknownRegions } from './ranges.js';
import { readFeeds } from './sources.js';

export { DEFAULT_FETCH_TIMEOUT_MS } from './sources.js';
export type { GeoLog, GeoLogLevel, LocationsUpdateOptions, LocationsUpdateResult };

export interface UpdateGeoOptions {
  /** Read feeds from this directory (file names in FEEDS) instead of downloading them. */
  from?: string;
  /** The ranges MMDB to write; its folder must exist. */
  out: string;
  fetchTimeoutMs?: number;
  log?: GeoLog;
  /** Per-provider URL overrides (also settable through the REGISTRY_EDGE_GEO_*_URL variables). */
  urls?: Partial<Record<ProviderName, string>>;
  /** Compact geolocation refresh; `false` skips it. */
  locations?: LocationsUpdateOptions | false;
  /** build_epoch to record (default now). */
  now?: Date;
}

export interface UpdateGeoResult {
  /** Whether the ranges file was replaced. */
  written: boolean;
  out: string;
  /** Networks compiled per provider, plus `total`. */
  counts: Record<string, number>;
  /**
   * What failed: feeds (provider names), `locations` when the compact file could not be
   * compiled, and `ranges` or `locations` when that file could not be written.
   */
  failed: string[];
  /** Reason per failed item. */
  errors: Record<string, string>;
  /** Providers with no file in `from` (not an error: any subset may be present). */
  skipped: string[];
  /** Time spent compiling the ranges database, in seconds. */
  compileSeconds: number;
  stats?: BuildStats;
  locations?: LocationsUpdateResult;
  /** The oldest publication time the feeds gave, as stored in the ranges file. */
  feedsPublishedAt?: Date;
}

/** An output folder that is missing: found before anything is downloaded or compiled. */
export class OutputFolderError extends Error {
  override name = 'OutputFolderError';
}

async function requireFolder(file: string): Promise<void> {
  const folder = dirname(file);
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) throw new OutputFolderError(`the folder of ${file} (${folder}) does not exist or is not a folder`);
}

const noLog: GeoLog = () => undefined;

/** Compiles and verifies the ranges from the feeds; undefined (and nothing pending) when a feed failed. */
async function prepareRanges(options: UpdateGeoOptions, result: UpdateGeoResult, log: GeoLog): Promise<PendingFile | undefined> {
  const feeds = await readFeeds({ ...options, log });
  result.failed.push(...feeds.failed);
  Object.assign(result.errors, feeds.errors);
  result.skipped = feeds.skipped;
  if (feeds.failed.length > 0) return undefined;
  const started = process.hrtime.bigint();
  const compiled = compileRanges(feeds.parsed, options.now ?? new Date());
  verifyRanges(compiled);
  result.compileSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  result.counts = compiled.counts;
  result.stats = compiled.stats;
  if (compiled.feedsPublishedAt) result.feedsPublishedAt = compiled.feedsPublishedAt;
  warnAboutUnknownRegions(compiled, log);
  return { path: options.out, data: compiled.file };
}

/** The compact file to commit with the ranges, if one is due; a failure is recorded, not thrown. */
async function prepareCompact(options: LocationsUpdateOptions, out: string, result: UpdateGeoResult, log: GeoLog): Promise<PendingFile | undefined> {
  try {
    const prepared = await prepareLocations(options, out, log);
    result.locations = prepared.result;
    return prepared.file ? { path: out, data: prepared.file } : undefined;
  } catch (error) {
    result.failed.push('locations');
    result.errors['locations'] = (error as Error).message;
    log('error', 'compact geolocation database failed; previous file kept', { error: result.errors['locations'] });
    return undefined;
  }
}

/** Writes what was prepared, all or (if a rename fails part way) exactly what the result says. */
async function commit(pending: PendingFile[], result: UpdateGeoResult, log: GeoLog): Promise<void> {
  const kind = (path: string) => (path === result.out ? 'ranges' : 'locations');
  let replaced: readonly string[];
  try {
    replaced = await commitFiles(pending);
  } catch (error) {
    if (!(error instanceof CommitError)) throw error;
    replaced = error.replaced;
    result.failed.push(kind(error.path));
    result.errors[kind(error.path)] = error.message;
    log('error', 'could not replace the geo data files', { error: error.message, replaced });
  }
  result.written = replaced.includes(result.out);
  if (result.locations && replaced.includes(result.locations.out)) result.locations.written = true;
  for (const path of replaced) {
    const details =
      kind(path) === 'ranges'
        ? { ...result.counts, nodeCount: result.stats?.nodeCount, bytes: result.stats?.fileBytes, seconds: Number(result.compileSeconds.toFixed(3)) }
        : result.locations;
    log('info', `wrote ${kind(path) === 'ranges' ? 'cloud ranges' : 'compact geolocation'} database`, { out: path, ...details });
  }
}

export async function updateGeo(options: UpdateGeoOptions): Promise<UpdateGeoResult> {
  const log = options.log ?? noLog;
  const locationsOut = options.locations === false ? undefined : (options.locations?.out ?? compactLocationsPath(options.out));
  // A missing folder must not cost a download and a compile before it is noticed.
  for (const file of [options.out, locationsOut]) if (file !== undefined) await requireFolder(file);
  const result: UpdateGeoResult = { written: false, out: options.out, counts: {}, failed: [], errors: {}, skipped: [], compileSeconds: 0 };
  const pending: PendingFile[] = [];
  const ranges = await prepareRanges(options, result, log);
  if (ranges) pending.push(ranges);
  if (options.locations !== false && locationsOut !== undefined) {
    const compact = await prepareCompact(options.locations ?? {}, locationsOut, result, log);
    if (compact) pending.push(compact);
  }
  await commit(pending, result, log);
  return result;
}
