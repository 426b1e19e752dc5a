/**
 * `registry-edge geo update`: fetch (or read with `from`) the providers' range feeds,
 * validate them, compile the cloud ranges MMDB, and refresh the compact city geolocation
 * file. Nothing is replaced unless everything it is built from was read correctly, and
 * files are replaced atomically (see atomic.ts), so a running server never sees a
 * half-written database.
 */
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatNetwork } from '../src/net/cidr.js';
import { CLOUD_RANGES_TYPE } from '../src/geo/mmdb-format.js';
import { loadRegions } from '../src/geo/nearest.js';
import type { GeoLog, GeoLogLevel } from '../src/geo/types.js';
import { compactLocationsPath } from '../src/paths.js';
import { MmdbReader } from './mmdb/reader.js';
import { writeFileAtomic } from './atomic.js';
import { FEEDS, FeedError, findAzureJsonUrl, type FeedSource, type ParsedFeed, type ProviderName } from './feeds.js';
import { bundledCitySources, compileLocations, DEFAULT_MAX_ERROR_KM } from './locations.js';
import { MmdbWriter, type BuildStats, type WriterValue } from './mmdb/writer.js';

export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
export type { GeoLog, GeoLogLevel };

export interface LocationsUpdateOptions {
  /** Compact file to write; default `locations.mmdb` next to the ranges file. */
  out?: string;
  /** City MMDB files to compact; default the bundled DB-IP City Lite files. */
  sources?: string[];
  /** Rebuild even when the compact file is newer than every source. */
  force?: boolean;
  /** See compileLocations. */
  maxErrorKm?: number;
}

export interface UpdateGeoOptions {
  /** Read feeds from this directory (file names in FEEDS) instead of downloading them. */
  from?: string;
  /** The ranges MMDB to write. */
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

export interface LocationsUpdateResult {
  out: string;
  written: boolean;
  /** Why nothing was written when that was not a failure. */
  upToDate?: boolean;
  networks?: number;
  nodeCount?: number;
  bytes?: number;
  seconds?: number;
}

export interface UpdateGeoResult {
  /** Whether the ranges file was replaced. */
  written: boolean;
  out: string;
  /** Networks compiled per provider, plus `total`. */
  counts: Record<string, number>;
  /** Feeds (provider names) that could not be downloaded or parsed, and `locations` if that failed. */
  failed: string[];
  /** Reason per failed item. */
  errors: Record<string, string>;
  /** Providers with no file in `from` (not an error: any subset may be present). */
  skipped: string[];
  /** Time spent compiling the ranges database, in seconds. */
  compileSeconds: number;
  stats?: BuildStats;
  locations?: LocationsUpdateResult;
}

const noLog: GeoLog = () => undefined;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function download(url: string, timeoutMs: number): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'user-agent': 'registry-edge-geo-update' },
      redirect: 'follow',
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    throw new FeedError(`download of ${url} failed: ${(error as Error).message}${cause ? ` (${cause})` : ''}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new FeedError(`download of ${url} failed: HTTP ${response.status}`);
  }
  try {
    return await response.text();
  } catch (error) {
    throw new FeedError(`download of ${url} failed while reading the body: ${(error as Error).message}`);
  }
}

async function fetchFeedText(feed: FeedSource, url: string, timeoutMs: number): Promise<string> {
  if (feed.provider !== 'azure' || /\.json(\?|$)/.test(url)) return download(url, timeoutMs);
  const page = await download(url, timeoutMs);
  const jsonUrl = findAzureJsonUrl(page);
  if (!jsonUrl) {
    throw new FeedError(`no ServiceTags_Public_*.json link on ${url}; set ${feed.urlEnv} to the JSON file's URL`);
  }
  return download(jsonUrl, timeoutMs);
}

export interface CompiledRanges {
  file: Buffer;
  counts: Record<string, number>;
  stats: BuildStats;
  /** Distinct networks written. */
  networks: Array<{ cidr: string; provider: string; region?: string }>;
}

/**
 * Builds the ranges database from parsed feeds (pure: no I/O). The same network listed
 * several times (AWS lists a prefix once per service) is kept once: the first listing wins,
 * except that a listing with a region replaces one without. Nested networks are all kept;
 * the database answers with the longest prefix.
 */
export function compileRanges(feeds: readonly ParsedFeed[], buildEpoch: Date = new Date()): CompiledRanges {
  const kept = new Map<string, { provider: string; region?: string; bytes: Uint8Array; prefixLength: number }>();
  for (const feed of feeds) {
    for (const entry of feed.entries) {
      const key = `${Buffer.from(entry.network.bytes).toString('hex')}/${entry.network.prefixLength}`;
      const earlier = kept.get(key);
      if (earlier && (earlier.region !== undefined || entry.region === undefined || earlier.provider !== feed.provider)) {
        continue;
      }
      kept.set(key, {
        provider: feed.provider,
        ...(entry.region !== undefined ? { region: entry.region } : {}),
        bytes: entry.network.bytes,
        prefixLength: entry.network.prefixLength,
      });
    }
  }
  const published = feeds
    .map((feed) => `${feed.provider}${feed.published ? ` (${feed.published})` : ''}`)
    .join(', ');
  const writer = new MmdbWriter({
    databaseType: CLOUD_RANGES_TYPE,
    description: { en: `registry-edge cloud provider IP ranges ({provider, region}) from: ${published}` },
    languages: [],
    buildEpoch,
  });
  const counts: Record<string, number> = {};
  const networks: CompiledRanges['networks'] = [];
  for (const network of kept.values()) {
    const record: { [key: string]: WriterValue } = { provider: network.provider };
    if (network.region !== undefined) record['region'] = network.region;
    writer.insert(network.bytes, network.prefixLength, record);
    counts[network.provider] = (counts[network.provider] ?? 0) + 1;
    networks.push({
      cidr: formatNetwork(network.bytes, network.prefixLength),
      provider: network.provider,
      ...(network.region !== undefined ? { region: network.region } : {}),
    });
  }
  counts['total'] = kept.size;
  const { file, stats } = writer.build();
  return { file, counts, stats, networks };
}

/**
 * Reads the compiled file back and checks that every network's first address resolves to
 * its provider: a last guard before the file replaces one a server is using.
 */
function verifyRanges(compiled: CompiledRanges): void {
  const reader = new MmdbReader(compiled.file);
  for (const network of compiled.networks) {
    const record = reader.get(network.cidr.slice(0, network.cidr.indexOf('/')));
    const provider = record && typeof record === 'object' && !Array.isArray(record) ? (record as Record<string, unknown>)['provider'] : undefined;
    if (provider !== network.provider) {
      throw new Error(`compiled database answers ${String(provider)} for ${network.cidr} (${network.provider})`);
    }
  }
}

async function isUpToDate(out: string, sources: readonly string[]): Promise<boolean> {
  try {
    const built = (await stat(out)).mtimeMs;
    for (const source of sources) if ((await stat(source)).mtimeMs > built) return false;
    return true;
  } catch {
    return false;
  }
}

async function updateLocations(
  options: LocationsUpdateOptions,
  rangesOut: string,
  log: GeoLog,
): Promise<LocationsUpdateResult> {
  const out = options.out ?? compactLocationsPath(rangesOut);
  const usingBundled = options.sources === undefined;
  const sources = options.sources ?? bundledCitySources();
  if (!options.force && (await isUpToDate(out, sources))) {
    log('info', 'compact geolocation database is up to date', { out });
    return { out, written: false, upToDate: true };
  }
  log('info', 'compiling compact geolocation database', { out, sources });
  const result = await compileLocations({
    sources,
    out,
    maxErrorKm: options.maxErrorKm ?? DEFAULT_MAX_ERROR_KM,
    ...(usingBundled ? { attribution: 'Source: DB-IP City Lite (https://db-ip.com), CC BY 4.0.' } : {}),
  });
  log('info', 'wrote compact geolocation database', {
    out,
    networks: result.networks,
    nodeCount: result.stats.nodeCount,
    bytes: result.stats.fileBytes,
    seconds: Number(result.seconds.toFixed(2)),
  });
  return {
    out,
    written: true,
    networks: result.networks,
    nodeCount: result.stats.nodeCount,
    bytes: result.stats.fileBytes,
    seconds: result.seconds,
  };
}

export async function updateGeo(options: UpdateGeoOptions): Promise<UpdateGeoResult> {
  const log = options.log ?? noLog;
  const timeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const failed: string[] = [];
  const errors: Record<string, string> = {};
  const skipped: string[] = [];
  const parsed: ParsedFeed[] = [];

  const results = await Promise.all(
    FEEDS.map(async (feed): Promise<{ feed: FeedSource; parsed?: ParsedFeed; missing?: boolean; error?: string }> => {
      try {
        let text: string;
        if (options.from !== undefined) {
          const path = join(options.from, feed.file);
          if (!(await exists(path))) return { feed, missing: true };
          text = await readFile(path, 'utf8');
        } else {
          const url = options.urls?.[feed.provider] ?? process.env[feed.urlEnv] ?? feed.url;
          text = await fetchFeedText(feed, url, timeoutMs);
        }
        return { feed, parsed: feed.parse(text) };
      } catch (error) {
        return { feed, error: (error as Error).message };
      }
    }),
  );
  for (const result of results) {
    const provider = result.feed.provider;
    if (result.missing) {
      skipped.push(provider);
      log('info', 'feed not present, skipped', { feed: provider, file: join(options.from ?? '', result.feed.file) });
    } else if (result.error !== undefined || !result.parsed) {
      failed.push(provider);
      errors[provider] = result.error ?? 'unknown error';
      log('error', 'feed failed; previous ranges database kept', { feed: provider, error: errors[provider] });
    } else {
      parsed.push(result.parsed);
      for (const warning of result.parsed.warnings) log('warn', warning, { feed: provider });
      log('info', 'feed read', { feed: provider, prefixes: result.parsed.entries.length, published: result.parsed.published });
    }
  }
  if (parsed.length === 0 && failed.length === 0) {
    for (const provider of skipped) {
      failed.push(provider);
      errors[provider] = `no ${FEEDS.find((feed) => feed.provider === provider)?.file} in ${options.from}`;
    }
    skipped.length = 0;
    log('error', 'no feed files found; previous ranges database kept', { from: options.from });
  }

  const result: UpdateGeoResult = { written: false, out: options.out, counts: {}, failed, errors, skipped, compileSeconds: 0 };
  if (failed.length === 0) {
    const started = process.hrtime.bigint();
    const compiled = compileRanges(parsed, options.now ?? new Date());
    verifyRanges(compiled);
    result.compileSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await writeFileAtomic(options.out, compiled.file);
    result.written = true;
    result.counts = compiled.counts;
    result.stats = compiled.stats;
    log('info', 'wrote cloud ranges database', {
      out: options.out,
      ...compiled.counts,
      nodeCount: compiled.stats.nodeCount,
      bytes: compiled.stats.fileBytes,
      seconds: Number(result.compileSeconds.toFixed(3)),
    });
    warnAboutUnknownRegions(compiled, log);
  }

  if (options.locations !== false) {
    try {
      result.locations = await updateLocations(options.locations ?? {}, options.out, log);
    } catch (error) {
      failed.push('locations');
      errors['locations'] = (error as Error).message;
      log('error', 'compact geolocation database failed; previous file kept', { error: errors['locations'] });
    }
  }
  return result;
}

/** Regions without coordinates can still be routed by region, but not to a nearest bucket. */
function warnAboutUnknownRegions(compiled: CompiledRanges, log: GeoLog): void {
  let regions;
  try {
    regions = loadRegions();
  } catch (error) {
    log('warn', 'cannot check region coordinates', { error: (error as Error).message });
    return;
  }
  const unknown = new Set<string>();
  for (const network of compiled.networks) {
    if (network.region !== undefined && !regions.get(network.provider)?.has(network.region)) {
      unknown.add(`${network.provider}/${network.region}`);
    }
  }
  if (unknown.size > 0) {
    log('warn', 'regions without coordinates in geo/regions.json (nearest-bucket choice cannot use them)', {
      regions: [...unknown].sort(),
    });
  }
}
