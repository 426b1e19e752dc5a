import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { blobCandidates } from '../../src/routing/candidates.js';
import { bucketBlobUrl, buildPlan, type BucketRanker } from '../../src/routing/plan.js';
import type { ClientLocation } from '../../src/geo/types.js';

const S256 = `sha256:${'d'.repeat(64)}`;

const config = validateConfig(
  {
    origin: { url: 'https://origin.example', path: 'prod/images' },
    providers: { gcp: 'origin' },
    blobs: { key: '/containers/images/{digest}', candidates: 3 },
    buckets: [
      { name: 'lab', url: 'http://lab.example', networks: ['10.0.0.0/8'] },
      { name: 'eu3', url: 'https://eu3.example', provider: 'aws', regions: ['eu-west-3'] },
      { name: 'eu1', url: 'https://eu1.example', provider: 'aws', regions: ['eu-west-1', 'eu-north-1'] },
      { name: 'us1', url: 'https://us1.example', provider: 'aws', regions: ['us-east-1'] },
      { name: 'az', url: 'https://az.example', provider: 'azure', regions: ['westeurope'] },
      { name: 'cdn', url: 'https://cdn.example' },
    ],
    default_bucket: 'cdn',
  },
  'test',
);
const plan = buildPlan(config);

describe('blobCandidates', () => {
  const names = (ip: string, client: ClientLocation, p = plan) =>
    blobCandidates(p, ip, ip.includes(':') ? 'ipv6' : 'ipv4', client).map((c) => `${c.bucket.name}:${c.reason}`);

  it.each<[string, string, ClientLocation, string[]]>([
    ['network bucket first, then region, then default', '10.1.1.1', { provider: 'aws', region: 'eu-west-3' }, ['lab:network', 'eu3:region', 'cdn:default']],
    ['provider rule origin keeps only network buckets', '10.1.1.1', { provider: 'gcp', region: 'us-central1' }, ['lab:network']],
    ['provider rule origin with no network match: straight to origin', '8.8.8.8', { provider: 'gcp' }, []],
    ['region bucket, then default', '3.3.3.3', { provider: 'aws', region: 'eu-west-3' }, ['eu3:region', 'cdn:default']],
    ['a bucket serving several regions', '3.3.3.3', { provider: 'aws', region: 'eu-north-1' }, ['eu1:region', 'cdn:default']],
    ['region without bucket and no ranker: default', '3.3.3.3', { provider: 'aws', region: 'ap-south-7' }, ['cdn:default']],
    ['global provider range: default', '3.3.3.3', { provider: 'aws' }, ['cdn:default']],
    ['another provider', '4.4.4.4', { provider: 'azure', region: 'westeurope' }, ['az:region', 'cdn:default']],
    ['a client in no cloud', '5.5.5.5', { country: 'FR', lat: 48, lon: 2 }, ['cdn:default']],
  ])('%s', (_name, ip, client, expected) => {
    expect(names(ip, client)).toEqual(expected);
  });

  it('stops at blobs.candidates', () => {
    const one = buildPlan({ ...config, blobs: { ...config.blobs, candidates: 1 } });
    expect(names('10.1.1.1', { provider: 'aws', region: 'eu-west-3' }, one)).toEqual(['lab:network']);
  });

  it('asks the ranker for the same provider nearest buckets, and for everyone with routing.others nearest', () => {
    const calls: string[] = [];
    const rank: BucketRanker = (client, buckets) => {
      calls.push(`${client.provider ?? 'none'}:${buckets.length}`);
      return [...buckets].reverse();
    };
    const ranked = buildPlan(config, rank);
    expect(names('3.3.3.3', { provider: 'aws', region: 'ap-south-7' }, ranked)).toEqual(['us1:provider-nearest', 'eu1:provider-nearest', 'eu3:provider-nearest']);
    expect(names('3.3.3.3', { provider: 'aws', region: 'eu-west-3' }, ranked)).toEqual(['eu3:region', 'us1:provider-nearest', 'eu1:provider-nearest']);
    const nearest = buildPlan({ ...config, routing: { others: 'nearest', origins: 'primary' } }, rank);
    expect(names('5.5.5.5', { lat: 48.2, lon: 2.1 }, nearest)).toEqual(['cdn:nearest', 'az:nearest', 'us1:nearest']);
    // Memoised by location: the same provider/region or one-degree cell asks once.
    const before = calls.length;
    names('5.5.5.6', { lat: 48.17, lon: 2.08 }, nearest);
    names('3.3.3.4', { provider: 'aws', region: 'ap-south-7' }, ranked);
    expect(calls.length).toBe(before);
  });

  describe('network buckets: longest matching prefix first, then configuration order', () => {
    const nested = buildPlan(
      validateConfig(
        {
          origin: { url: 'https://o.example' },
          blobs: { candidates: 4 },
          buckets: [
            { name: 'wide', url: 'http://wide.example', networks: ['10.0.0.0/8', '2001:db8::/32'] },
            { name: 'site', url: 'http://site.example', networks: ['10.1.0.0/16', '2001:db8:1::/48'] },
            { name: 'twin', url: 'http://twin.example', networks: ['10.1.0.0/16'] },
            { name: 'host', url: 'http://host.example', networks: ['10.1.2.3/32', '10.0.0.0/8', '2001:db8:1::1/128'] },
            { name: 'all', url: 'http://all.example', networks: ['::/0'] },
            { name: 'cdn', url: 'http://cdn.example' },
          ],
          default_bucket: 'cdn',
        },
        'test',
      ),
    );
    it.each<[string, string[]]>([
      ['10.200.0.1', ['wide:network', 'host:network', 'all:network', 'cdn:default']],
      ['10.1.9.9', ['site:network', 'twin:network', 'wide:network', 'host:network']],
      ['10.1.2.3', ['host:network', 'site:network', 'twin:network', 'wide:network']],
      ['192.0.2.1', ['all:network', 'cdn:default']],
      ['2001:db8:1::1', ['host:network', 'site:network', 'wide:network', 'all:network']],
      ['2001:db8:1::2', ['site:network', 'wide:network', 'all:network', 'cdn:default']],
      ['2001:db9::1', ['all:network', 'cdn:default']],
      ['::ffff:10.1.2.3', ['host:network', 'site:network', 'twin:network', 'wide:network']],
    ])('%s → %j', (ip, expected) => {
      expect(names(ip, {}, nested)).toEqual(expected);
      // Asked again (the memoised answer), the same list.
      expect(names(ip, {}, nested)).toEqual(expected);
    });

    it('a provider rule origin keeps the network buckets only, cut at blobs.candidates', () => {
      expect(names('10.1.2.3', { provider: 'gcp' }, buildPlan({ ...nested.config, providers: { gcp: 'origin' } }))).toEqual([
        'host:network',
        'site:network',
        'twin:network',
        'wide:network',
      ]);
    });

    it('remembers addresses in a memo bounded in entries and bytes', () => {
      const memo = buildPlan(nested.config);
      for (let i = 0; i < 10_000; i++) blobCandidates(memo, `2001:db8:1:${(i & 0xffff).toString(16)}::${i.toString(16)}`, 'ipv6', {});
      const figures = memo.networks.groupByAddress.figures();
      expect(figures.entries).toBeLessThanOrEqual(figures.maxEntries);
      expect(figures.bytes).toBeLessThanOrEqual(figures.maxBytes);
      expect(figures.entries).toBeGreaterThan(0);
    });

    it('a client whose location changes gets the merge for its new location', () => {
      const ranked = buildPlan({ ...nested.config, buckets: [...nested.config.buckets, { name: 'eu', url: 'http://eu.example', provider: 'aws', regions: ['eu-west-1'], networks: [] }] });
      expect(names('192.0.2.1', {}, ranked)).toEqual(['all:network', 'cdn:default']);
      expect(names('192.0.2.1', { provider: 'aws', region: 'eu-west-1' }, ranked)).toEqual(['all:network', 'eu:region', 'cdn:default']);
    });
  });

  it('a default bucket given as a URL becomes a bucket of its own', () => {
    const p = buildPlan(validateConfig({ origin: { url: 'https://o.example' }, default_bucket: 'https://cdn2.example/' }, 'test'));
    const [first] = blobCandidates(p, '1.1.1.1', 'ipv4', {});
    expect(first && bucketBlobUrl(first.bucket, S256)).toBe(`https://cdn2.example/containers/images/${S256}`);
  });
});
