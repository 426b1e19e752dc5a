/**
 * Parsers for the cloud providers' published IP range feeds. Each turns the feed's text into
 * `{network, region?}` entries and rejects the whole feed when it is not what the provider
 * publishes (bad JSON, missing lists, a malformed CIDR, no prefixes at all): a partial or
 * corrupted feed must never replace a good database, so `geo update` keeps the previous file.
 *
 * File names under `geo update --from DIR` and official URLs are in `FEEDS` (sources.ts).
 */
import { parseCidr, type Cidr } from '../src/net/cidr.js';

export type ProviderName = 'aws' | 'gcp' | 'azure' | 'oracle';

export interface RangeEntry {
  network: Cidr;
  /** Provider region; absent for global/edge ranges. */
  region?: string;
}

export interface ParsedFeed {
  provider: ProviderName;
  entries: RangeEntry[];
  /** Publication stamp from the feed itself (createDate, creationTime, ...), when present. */
  published?: string;
  /** The same stamp as a time, when the feed gives one that can be read as such. */
  publishedAt?: Date;
  /** Non-fatal oddities, e.g. CIDRs with host bits set (they are masked). */
  warnings: string[];
}

export class FeedError extends Error {
  override name = 'FeedError';
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(provider: ProviderName, text: string): JsonObject {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new FeedError(`${provider}: not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(document)) throw new FeedError(`${provider}: top level is not a JSON object`);
  return document;
}

function requireArray(provider: ProviderName, document: JsonObject, key: string, where = key): unknown[] {
  const value = document[key];
  if (!Array.isArray(value)) throw new FeedError(`${provider}: "${where}" is missing or not a list`);
  return value;
}

/** Collects entries, failing on malformed CIDRs and counting masked host bits. */
class EntryCollector {
  readonly entries: RangeEntry[] = [];
  private masked = 0;
  private firstMasked = '';

  constructor(private readonly provider: ProviderName) {}

  add(cidr: unknown, region: string | undefined, where: string, family?: 'ipv4' | 'ipv6'): void {
    if (typeof cidr !== 'string') throw new FeedError(`${this.provider}: ${where}: prefix is not a string`);
    const text = cidr.trim();
    // Feeds always publish a length: a bare address means the format changed under us.
    const network = text.includes('/') ? parseCidr(text) : undefined;
    if (!network) throw new FeedError(`${this.provider}: ${where}: bad CIDR ${JSON.stringify(cidr)}`);
    if (family && network.family !== family) {
      throw new FeedError(`${this.provider}: ${where}: ${cidr} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} CIDR`);
    }
    if (network.hostBitsSet) {
      this.masked++;
      if (!this.firstMasked) this.firstMasked = cidr;
    }
    this.entries.push(region ? { network, region } : { network });
  }

  finish(published: string | undefined, publishedAt?: Date): ParsedFeed {
    if (this.entries.length === 0) throw new FeedError(`${this.provider}: feed lists no prefixes`);
    const warnings =
      this.masked > 0 ? [`${this.masked} CIDR(s) had host bits set and were masked (first: ${this.firstMasked})`] : [];
    return {
      provider: this.provider,
      entries: this.entries,
      ...(published ? { published } : {}),
      ...(publishedAt ? { publishedAt } : {}),
      warnings,
    };
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * A UTC time written as digits in the order year, month, day, hour, minute, second with any
 * separators (AWS `2024-01-01-00-00-00`, Oracle `2024-01-01T00:00:00.000000`); undefined
 * when the text is not one.
 */
export function utcStamp(text: string | undefined): Date | undefined {
  const parts = /^(\d{4})\D(\d{2})\D(\d{2})\D(\d{2})\D(\d{2})\D(\d{2})(?:\.\d+)?Z?$/.exec(text ?? '');
  if (!parts) return undefined;
  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [number, number, number, number, number, number];
  const time = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return time.getUTCMonth() === month - 1 && time.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 ? time : undefined;
}

/**
 * Google's `creationTime` has no zone and is written in Pacific time, while `syncToken` is the
 * same moment in milliseconds since the epoch: prefer the token, else read the text as UTC,
 * which can only make the feed look older than it is.
 */
function gcpPublishedAt(document: JsonObject): Date | undefined {
  const token = document['syncToken'];
  if (typeof token === 'string' && /^\d{13}$/.test(token)) return new Date(Number(token));
  return utcStamp(optionalString(document['creationTime']));
}

/**
 * AWS `ip-ranges.json`: `prefixes[]` {ip_prefix, region, service, network_border_group} and
 * `ipv6_prefixes[]` {ipv6_prefix, ...}. Region `GLOBAL` (CloudFront and other edge networks)
 * belongs to AWS with no region. The same prefix appears once per service; duplicates are
 * removed when the database is compiled.
 */
export function parseAwsFeed(text: string): ParsedFeed {
  const provider = 'aws';
  const document = parseJson(provider, text);
  const collector = new EntryCollector(provider);
  const families: Array<[string, string, 'ipv4' | 'ipv6']> = [
    ['prefixes', 'ip_prefix', 'ipv4'],
    ['ipv6_prefixes', 'ipv6_prefix', 'ipv6'],
  ];
  for (const [listKey, prefixKey, family] of families) {
    requireArray(provider, document, listKey).forEach((item, index) => {
      const where = `${listKey}[${index}]`;
      if (!isObject(item)) throw new FeedError(`${provider}: ${where} is not an object`);
      const region = item['region'];
      if (typeof region !== 'string' || region === '') throw new FeedError(`${provider}: ${where}: missing region`);
      collector.add(item[prefixKey], region === 'GLOBAL' ? undefined : region, where, family);
    });
  }
  const createDate = optionalString(document['createDate']);
  return collector.finish(createDate, utcStamp(createDate));
}

/**
 * Google Cloud `cloud.json`: `prefixes[]` {ipv4Prefix | ipv6Prefix, service, scope}; the
 * scope is the region (`us-central1`) or `global`, which gives Google Cloud with no region.
 */
export function parseGcpFeed(text: string): ParsedFeed {
  const provider = 'gcp';
  const document = parseJson(provider, text);
  const collector = new EntryCollector(provider);
  requireArray(provider, document, 'prefixes').forEach((item, index) => {
    const where = `prefixes[${index}]`;
    if (!isObject(item)) throw new FeedError(`${provider}: ${where} is not an object`);
    const scope = item['scope'];
    if (typeof scope !== 'string' || scope === '') throw new FeedError(`${provider}: ${where}: missing scope`);
    const region = scope === 'global' ? undefined : scope;
    if ('ipv4Prefix' in item) collector.add(item['ipv4Prefix'], region, where, 'ipv4');
    else if ('ipv6Prefix' in item) collector.add(item['ipv6Prefix'], region, where, 'ipv6');
    else throw new FeedError(`${provider}: ${where}: neither ipv4Prefix nor ipv6Prefix`);
  });
  return collector.finish(optionalString(document['creationTime']), gcpPublishedAt(document));
}

/**
 * Azure Service Tags (`ServiceTags_Public_<date>.json`): `values[]` {name, id, properties:
 * {region, regionId, platform, systemService, addressPrefixes[]}}. Every tag with a
 * non-empty `properties.region` gives that region (e.g. `AzureCloud.westeurope`,
 * `Storage.WestEurope`); the global `AzureCloud` tag (all of Azure) gives Azure with no
 * region. Other global service tags are subsets of `AzureCloud` and are not needed.
 * Regional `AzureCloud.*` tags are read first so they win over service tags on conflicts.
 */
export function parseAzureFeed(text: string): ParsedFeed {
  const provider = 'azure';
  const document = parseJson(provider, text);
  const collector = new EntryCollector(provider);
  const values = requireArray(provider, document, 'values');
  const rank = (item: unknown): number => {
    const name = isObject(item) ? String(item['name'] ?? '') : '';
    if (name.startsWith('AzureCloud.')) return 0;
    if (name === 'AzureCloud') return 2;
    return 1;
  };
  const ordered = values.map((item, index) => ({ item, index })).sort((a, b) => rank(a.item) - rank(b.item));
  for (const { item, index } of ordered) {
    const where = `values[${index}]`;
    if (!isObject(item)) throw new FeedError(`${provider}: ${where} is not an object`);
    const properties = item['properties'];
    if (!isObject(properties)) throw new FeedError(`${provider}: ${where}: missing properties`);
    const region = optionalString(properties['region'])?.toLowerCase();
    if (!region && item['name'] !== 'AzureCloud') continue;
    const prefixes = requireArray(provider, properties, 'addressPrefixes', `${where}.properties.addressPrefixes`);
    prefixes.forEach((cidr, prefixIndex) => collector.add(cidr, region, `${where} (${String(item['name'])})[${prefixIndex}]`));
  }
  const changeNumber = document['changeNumber'];
  return collector.finish(typeof changeNumber === 'number' ? `changeNumber ${changeNumber}` : undefined);
}

/**
 * Oracle Cloud `public_ip_ranges.json`: `{last_updated_timestamp, regions: [{region,
 * cidrs: [{cidr, tags[]}]}]}`; every CIDR belongs to its region whatever its tags.
 */
export function parseOracleFeed(text: string): ParsedFeed {
  const provider = 'oracle';
  const document = parseJson(provider, text);
  const collector = new EntryCollector(provider);
  requireArray(provider, document, 'regions').forEach((item, index) => {
    const where = `regions[${index}]`;
    if (!isObject(item)) throw new FeedError(`${provider}: ${where} is not an object`);
    const region = item['region'];
    if (typeof region !== 'string' || region === '') throw new FeedError(`${provider}: ${where}: missing region`);
    requireArray(provider, item, 'cidrs', `${where}.cidrs`).forEach((cidr, cidrIndex) => {
      const at = `${where}.cidrs[${cidrIndex}]`;
      if (!isObject(cidr)) throw new FeedError(`${provider}: ${at} is not an object`);
      collector.add(cidr['cidr'], region, at);
    });
  });
  const updated = optionalString(document['last_updated_timestamp']);
  return collector.finish(updated, utcStamp(updated));
}
