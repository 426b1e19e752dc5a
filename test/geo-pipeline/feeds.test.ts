import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  FeedError,
  parseAwsFeed,
  parseAzureFeed,
  parseGcpFeed,
  parseOracleFeed,
  type ParsedFeed,
  utcStamp,
} from '../../geo/feeds.js';
import { FEEDS, findAzureJsonUrl } from '../../geo/sources.js';
import { formatNetwork } from '../../src/net/cidr.js';
import { FIXTURES } from '../support/geo.js';

const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** Entries as "cidr region" lines, easy to compare. */
function summary(feed: ParsedFeed): string[] {
  return feed.entries.map((entry) => `${formatNetwork(entry.network.bytes, entry.network.prefixLength)} ${entry.region ?? '-'}`);
}

describe('AWS ip-ranges.json', () => {
  test('reads IPv4 and IPv6 prefixes; GLOBAL means no region', () => {
    const feed = parseAwsFeed(fixture('aws-ip-ranges.json'));
    expect(feed.provider).toBe('aws');
    expect(feed.published).toBe('2024-01-01-00-00-00');
    expect(feed.publishedAt?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(summary(feed)).toContain('64.252.64.0/18 -');
    expect(summary(feed)).toContain('64.252.81.0/24 sa-east-1');
    expect(summary(feed)).toContain('2a05:d012::/36 eu-west-3');
    expect(summary(feed)).toContain('2600:9000::/28 -');
    // Duplicates (one per service) are kept here and removed at compile time.
    expect(feed.entries).toHaveLength(10);
  });

  test.each([
    ['truncated JSON', '{"prefixes": [{"ip_prefix": "3.5.140.0/22",', /not valid JSON/],
    ['not an object', '[]', /not a JSON object/],
    ['missing prefixes', '{"ipv6_prefixes": []}', /"prefixes" is missing/],
    ['missing ipv6_prefixes', '{"prefixes": [{"ip_prefix": "3.5.140.0/22", "region": "x"}]}', /"ipv6_prefixes" is missing/],
    ['bad CIDR', '{"prefixes": [{"ip_prefix": "3.5.140.0/40", "region": "x"}], "ipv6_prefixes": []}', /prefixes\[0\]: bad CIDR "3.5.140.0\/40"/],
    ['bare address', '{"prefixes": [{"ip_prefix": "3.5.140.0", "region": "x"}], "ipv6_prefixes": []}', /prefixes\[0\]: bad CIDR "3.5.140.0"/],
    ['IPv6 in the IPv4 list', '{"prefixes": [{"ip_prefix": "2600::/16", "region": "x"}], "ipv6_prefixes": []}', /not an IPv4 CIDR/],
    ['missing region', '{"prefixes": [{"ip_prefix": "3.5.140.0/22"}], "ipv6_prefixes": []}', /missing region/],
    ['empty feed', '{"prefixes": [], "ipv6_prefixes": []}', /lists no prefixes/],
  ])('rejects %s', (_label, text, message) => {
    expect(() => parseAwsFeed(text)).toThrow(FeedError);
    expect(() => parseAwsFeed(text)).toThrow(message);
  });

  test('masks host bits with a warning instead of failing', () => {
    const feed = parseAwsFeed('{"prefixes": [{"ip_prefix": "3.5.140.1/22", "region": "x"}], "ipv6_prefixes": []}');
    expect(summary(feed)).toEqual(['3.5.140.0/22 x']);
    expect(feed.warnings).toEqual([expect.stringMatching(/1 CIDR\(s\) had host bits set.*3\.5\.140\.1\/22/)]);
  });
});

describe('Google Cloud cloud.json', () => {
  test('scope is the region; global means no region', () => {
    const feed = parseGcpFeed(fixture('gcp-cloud.json'));
    expect(feed.published).toBe('2024-01-01T00:00:00.000000');
    // creationTime is Pacific time without a zone; syncToken is the same moment in epoch ms.
    expect(feed.publishedAt?.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(summary(feed)).toEqual(['34.1.208.0/20 africa-south1', '34.155.0.0/16 europe-west9', '35.190.0.0/17 -', '2600:1900:4000::/44 us-central1']);
  });

  test.each([
    ['no prefix field', '{"prefixes": [{"scope": "us-east1"}]}', /neither ipv4Prefix nor ipv6Prefix/],
    ['no scope', '{"prefixes": [{"ipv4Prefix": "34.1.208.0/20"}]}', /missing scope/],
    ['bad CIDR', '{"prefixes": [{"ipv4Prefix": "34.1.208/20", "scope": "x"}]}', /bad CIDR/],
    ['empty', '{"prefixes": []}', /lists no prefixes/],
    ['truncated', fixture('gcp-cloud.json').slice(0, 200), /not valid JSON/],
  ])('rejects %s', (_label, text, message) => {
    expect(() => parseGcpFeed(text)).toThrow(message);
  });
});

describe('Azure Service Tags', () => {
  test('regional tags give the region, AzureCloud gives Azure without region, other global tags are ignored', () => {
    const feed = parseAzureFeed(fixture('azure-service-tags.json'));
    expect(feed.provider).toBe('azure');
    expect(feed.published).toBe('changeNumber 301');
    expect(feed.publishedAt).toBeUndefined();
    expect(summary(feed)).toEqual([
      '13.69.0.0/17 westeurope',
      '20.4.0.0/16 westeurope',
      '2603:1020:200::/46 westeurope',
      '20.38.98.0/24 eastus',
      '13.64.0.0/11 -',
      '20.0.0.0/11 -',
      '2603:1000::/24 -',
    ]);
    expect(summary(feed).some((line) => line.startsWith('13.107.246.0/24'))).toBe(false);
  });

  test('region names are lower-cased', () => {
    const text = JSON.stringify({ values: [{ name: 'AzureCloud.WestEurope', properties: { region: 'WestEurope', addressPrefixes: ['13.69.0.0/17'] } }] });
    expect(summary(parseAzureFeed(text))).toEqual(['13.69.0.0/17 westeurope']);
  });

  test.each([
    ['no values', '{"changeNumber": 1}', /"values" is missing/],
    ['no properties', '{"values": [{"name": "AzureCloud"}]}', /missing properties/],
    ['no addressPrefixes', '{"values": [{"name": "AzureCloud", "properties": {"region": ""}}]}', /addressPrefixes" is missing/],
    ['bad CIDR', '{"values": [{"name": "AzureCloud.x", "properties": {"region": "x", "addressPrefixes": ["13.69.0.0/17", "nonsense"]}}]}', /bad CIDR "nonsense"/],
    ['only unused tags', '{"values": [{"name": "AzureFrontDoor.Frontend", "properties": {"region": "", "addressPrefixes": ["13.107.246.0/24"]}}]}', /lists no prefixes/],
  ])('rejects %s', (_label, text, message) => {
    expect(() => parseAzureFeed(text)).toThrow(message);
  });

  test('finds the current JSON link on the download page', () => {
    const html =
      '<html><a href="https://download.microsoft.com/download/7/1/d/71d86715-5596-4529-9b13-da13a5de5b63/ServiceTags_Public_20260727.json" class="x">Download</a></html>';
    expect(findAzureJsonUrl(html)).toBe(
      'https://download.microsoft.com/download/7/1/d/71d86715-5596-4529-9b13-da13a5de5b63/ServiceTags_Public_20260727.json',
    );
    expect(findAzureJsonUrl('<html>moved</html>')).toBeUndefined();
  });
});

describe('Oracle public_ip_ranges.json', () => {
  test('every CIDR belongs to its region', () => {
    const feed = parseOracleFeed(fixture('oracle-public-ip-ranges.json'));
    expect(feed.published).toBe('2024-01-01T00:00:00.000000');
    expect(feed.publishedAt?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(summary(feed)).toEqual(['129.146.0.0/21 us-phoenix-1', '134.70.24.0/21 us-phoenix-1', '130.61.0.0/16 eu-frankfurt-1', '2603:c020::/40 eu-frankfurt-1']);
  });

  test.each([
    ['no regions', '{"last_updated_timestamp": "x"}', /"regions" is missing/],
    ['region without name', '{"regions": [{"cidrs": []}]}', /missing region/],
    ['region without cidrs', '{"regions": [{"region": "us-phoenix-1"}]}', /cidrs" is missing/],
    ['cidr entry not an object', '{"regions": [{"region": "us-phoenix-1", "cidrs": ["129.146.0.0/21"]}]}', /is not an object/],
    ['bad CIDR', '{"regions": [{"region": "us-phoenix-1", "cidrs": [{"cidr": "129.146.0.0/21x"}]}]}', /bad CIDR/],
    ['empty', '{"regions": []}', /lists no prefixes/],
  ])('rejects %s', (_label, text, message) => {
    expect(() => parseOracleFeed(text)).toThrow(message);
  });
});

test('feed file names and official URLs are documented in FEEDS', () => {
  expect(FEEDS.map((feed) => [feed.provider, feed.file])).toEqual([
    ['aws', 'aws-ip-ranges.json'],
    ['gcp', 'gcp-cloud.json'],
    ['azure', 'azure-service-tags.json'],
    ['oracle', 'oracle-public-ip-ranges.json'],
  ]);
  expect(FEEDS.every((feed) => feed.url.startsWith('https://') && /^REGISTRY_EDGE_GEO_[A-Z]+_URL$/.test(feed.urlEnv))).toBe(true);
});

describe('publication times', () => {
  test.each([
    ['2026-07-29-08-27-05', '2026-07-29T08:27:05.000Z'],
    ['2026-07-29T08:27:05.849365', '2026-07-29T08:27:05.000Z'],
    ['2026-07-29T08:27:05Z', '2026-07-29T08:27:05.000Z'],
    ['2026-02-30-00-00-00', undefined],
    ['2026-07-29-24-00-00', undefined],
    ['changeNumber 301', undefined],
    [undefined, undefined],
  ])('%j reads as %s (UTC)', (text, time) => {
    expect(utcStamp(text)?.toISOString()).toBe(time);
  });

  test('Google without a syncToken falls back to creationTime read as UTC (older, never younger)', () => {
    const feed = parseGcpFeed('{"creationTime": "2026-07-29T07:05:53.849365", "prefixes": [{"ipv4Prefix": "34.1.208.0/20", "scope": "x"}]}');
    expect(feed.publishedAt?.toISOString()).toBe('2026-07-29T07:05:53.000Z');
  });
});

