/**
 * Where the feeds come from: the providers' URLs (or files under `geo update --from DIR`),
 * downloaded with a timeout and parsed as a whole. Reading never writes anything.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GeoLog } from '../src/geo/types.js';
import { FeedError, parseAwsFeed, parseAzureFeed, parseGcpFeed, parseOracleFeed, type ParsedFeed, type ProviderName } from './feeds.js';

export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

export interface FeedSource {
  provider: ProviderName;
  /** File name looked for under `geo update --from DIR`. */
  file: string;
  /** Official download URL (Azure: the download page the JSON link is taken from). */
  url: string;
  /** Environment variable that overrides `url`. */
  urlEnv: string;
  parse: (text: string) => ParsedFeed;
}

/**
 * The feeds, in precedence order: when two providers publish exactly the same network
 * (they should not), the earlier one wins.
 */
export const FEEDS: readonly FeedSource[] = [
  {
    provider: 'aws',
    file: 'aws-ip-ranges.json',
    url: 'https://ip-ranges.amazonaws.com/ip-ranges.json',
    urlEnv: 'REGISTRY_EDGE_GEO_AWS_URL',
    parse: parseAwsFeed,
  },
  {
    provider: 'gcp',
    file: 'gcp-cloud.json',
    url: 'https://www.gstatic.com/ipranges/cloud.json',
    urlEnv: 'REGISTRY_EDGE_GEO_GCP_URL',
    parse: parseGcpFeed,
  },
  {
    provider: 'azure',
    file: 'azure-service-tags.json',
    // The JSON's own URL changes every week; this page links the current one.
    url: 'https://www.microsoft.com/en-us/download/details.aspx?id=56519',
    urlEnv: 'REGISTRY_EDGE_GEO_AZURE_URL',
    parse: parseAzureFeed,
  },
  {
    provider: 'oracle',
    file: 'oracle-public-ip-ranges.json',
    url: 'https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json',
    urlEnv: 'REGISTRY_EDGE_GEO_ORACLE_URL',
    parse: parseOracleFeed,
  },
];

/**
 * Finds the current Service Tags JSON link in the Azure download page's HTML. Returns
 * undefined when the page has none (Microsoft changed the page; set the JSON URL directly).
 */
export function findAzureJsonUrl(html: string): string | undefined {
  // Any host: the page (fetched from microsoft.com) decides where the file lives.
  const match = /https?:\/\/[^"'\s<>]+?\/ServiceTags_Public_\d+\.json/.exec(html);
  return match?.[0];
}

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

export interface ReadFeedsOptions {
  /** Read feeds from this directory (file names in FEEDS) instead of downloading them. */
  from?: string;
  fetchTimeoutMs?: number;
  /** Per-provider URL overrides (also settable through the REGISTRY_EDGE_GEO_*_URL variables). */
  urls?: Partial<Record<ProviderName, string>>;
  log: GeoLog;
}

export interface FeedsRead {
  parsed: ParsedFeed[];
  /** Feeds (provider names) that could not be downloaded or parsed. */
  failed: string[];
  /** Reason per failed feed. */
  errors: Record<string, string>;
  /** Providers with no file in `from` (not an error: any subset may be present). */
  skipped: string[];
}

type FeedOutcome = { feed: FeedSource; parsed?: ParsedFeed; missing?: boolean; error?: string };

async function readFeed(feed: FeedSource, options: ReadFeedsOptions): Promise<FeedOutcome> {
  try {
    let text: string;
    if (options.from !== undefined) {
      const path = join(options.from, feed.file);
      if (!(await exists(path))) return { feed, missing: true };
      text = await readFile(path, 'utf8');
    } else {
      const url = options.urls?.[feed.provider] ?? process.env[feed.urlEnv] ?? feed.url;
      text = await fetchFeedText(feed, url, options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS);
    }
    return { feed, parsed: feed.parse(text) };
  } catch (error) {
    return { feed, error: (error as Error).message };
  }
}

/** Every feed, read in parallel; a feed that fails fails alone, and says why in the log. */
export async function readFeeds(options: ReadFeedsOptions): Promise<FeedsRead> {
  const { log } = options;
  const read: FeedsRead = { parsed: [], failed: [], errors: {}, skipped: [] };
  for (const result of await Promise.all(FEEDS.map((feed) => readFeed(feed, options)))) {
    const provider = result.feed.provider;
    if (result.missing) {
      read.skipped.push(provider);
      log('info', 'feed not present, skipped', { feed: provider, file: join(options.from ?? '', result.feed.file) });
    } else if (result.error !== undefined || !result.parsed) {
      read.failed.push(provider);
      read.errors[provider] = result.error ?? 'unknown error';
      log('error', 'feed failed; previous ranges database kept', { feed: provider, error: read.errors[provider] });
    } else {
      read.parsed.push(result.parsed);
      for (const warning of result.parsed.warnings) log('warn', warning, { feed: provider });
      log('info', 'feed read', { feed: provider, prefixes: result.parsed.entries.length, published: result.parsed.published });
    }
  }
  if (read.parsed.length === 0 && read.failed.length === 0) {
    // A --from folder without any feed is a mistake, not "nothing to do".
    for (const provider of read.skipped) {
      read.failed.push(provider);
      read.errors[provider] = `no ${FEEDS.find((feed) => feed.provider === provider)?.file} in ${options.from}`;
    }
    read.skipped = [];
    log('error', 'no feed files found; previous ranges database kept', { from: options.from });
  }
  return read;
}
