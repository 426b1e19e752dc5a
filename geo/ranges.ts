/**
 * The cloud ranges database: parsed feeds in, MMDB bytes out, read back before anything may
 * replace the file a server is using. No I/O except reading geo/regions.json for a warning.
 */
import { CLOUD_RANGES_TYPE, FEEDS_PUBLISHED_KEY } from '../src/geo/mmdb-format.js';
import { loadRegions } from '../src/geo/nearest.js';
import type { GeoLog } from '../src/geo/types.js';
import { formatNetwork } from '../src/net/cidr.js';
import type { ParsedFeed } from './feeds.js';
import { MmdbReader } from './mmdb/reader.js';
import { MmdbWriter, TypedNumber, type BuildStats, type WriterValue } from './mmdb/writer.js';

export interface CompiledRanges {
  file: Buffer;
  counts: Record<string, number>;
  stats: BuildStats;
  /** Distinct networks written. */
  networks: Array<{ cidr: string; provider: string; region?: string }>;
  /** The oldest publication time among the feeds, when any feed gives one. */
  feedsPublishedAt?: Date;
}

/** The oldest publication time the feeds state: the age of the data is that of its stalest part. */
export function oldestPublication(feeds: readonly ParsedFeed[]): Date | undefined {
  let oldest: Date | undefined;
  for (const feed of feeds) if (feed.publishedAt && (!oldest || feed.publishedAt < oldest)) oldest = feed.publishedAt;
  return oldest;
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
  const feedsPublishedAt = oldestPublication(feeds);
  const writer = new MmdbWriter({
    databaseType: CLOUD_RANGES_TYPE,
    description: { en: `registry-edge cloud provider IP ranges ({provider, region}) from: ${published}` },
    languages: [],
    buildEpoch,
    ...(feedsPublishedAt
      ? { extraMetadata: { [FEEDS_PUBLISHED_KEY]: new TypedNumber('uint64', BigInt(Math.floor(feedsPublishedAt.getTime() / 1000))) } }
      : {}),
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
  return { file, counts, stats, networks, ...(feedsPublishedAt ? { feedsPublishedAt } : {}) };
}

/**
 * Reads the compiled file back and checks that every network's first address resolves to
 * its provider: a last guard before the file replaces one a server is using.
 */
export function verifyRanges(compiled: CompiledRanges): void {
  const reader = new MmdbReader(compiled.file);
  for (const network of compiled.networks) {
    const record = reader.get(network.cidr.slice(0, network.cidr.indexOf('/')));
    const provider = record && typeof record === 'object' && !Array.isArray(record) ? (record as Record<string, unknown>)['provider'] : undefined;
    if (provider !== network.provider) {
      throw new Error(`compiled database answers ${String(provider)} for ${network.cidr} (${network.provider})`);
    }
  }
}

/** Regions without coordinates can still be routed by region, but not to a nearest bucket. */
export function warnAboutUnknownRegions(compiled: CompiledRanges, log: GeoLog): void {
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
