import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { classify } from '../../src/routing/classify.js';
import { decide, ociErrorBody } from '../../src/routing/decide.js';
import { blobCandidates, bucketBlobUrl, buildPlan, redirectHosts, type BucketRanker } from '../../src/routing/plan.js';
import type { ClientLocation } from '../../src/geo/types.js';

const S256 = `sha256:${'d'.repeat(64)}`;
const COSIGN = `sha256-${'e'.repeat(64)}.sig`;

const config = validateConfig(
  {
    origin: { url: 'https://origin.example', path: 'prod/images' },
    signatures: { url: 'https://sigs.example' },
    info_url: 'https://info.example/',
    privacy_url: 'https://privacy.example/p',
    providers: { gcp: 'origin' },
    blobs: { key: '/containers/images/{digest}', candidates: 3 },
    buckets: [
      { name: 'lab', url: 'http://lab.example', networks: ['10.0.0.0/8'] },
      { name: 'eu3', url: 'https://eu3.example', provider: 'aws', regions: ['eu-west-3'] },
      { name: 'eu1', url: 'https://eu1.example', provider: 'aws', regions: ['eu-west-1', 'eu-west-9'] },
      { name: 'us1', url: 'https://us1.example', provider: 'aws', regions: ['us-east-1'] },
      { name: 'az', url: 'https://az.example', provider: 'azure', regions: ['westeurope'] },
      { name: 'cdn', url: 'https://cdn.example' },
    ],
    default_bucket: 'cdn',
  },
  'test',
);
const plan = buildPlan(config);

describe('decide', () => {
  it.each<[string, number, string | undefined, string]>([
    ['/', 307, 'https://info.example/', 'info'],
    ['/privacy', 307, 'https://privacy.example/p', 'privacy'],
    ['/v2/pause/manifests/3.9', 307, 'https://origin.example/v2/prod/images/pause/manifests/3.9', 'origin'],
    ['/v2/library/app/manifests/latest', 307, 'https://origin.example/v2/prod/images/library/app/manifests/latest', 'origin'],
    [`/v2/pause/manifests/${S256}`, 307, `https://origin.example/v2/prod/images/pause/manifests/${S256}`, 'origin'],
    [`/v2/pause/manifests/${COSIGN}`, 307, `https://sigs.example/v2/prod/images/pause/manifests/${COSIGN}`, 'signatures'],
    ['/v2/pause/tags/list?n=2&last=1.0', 307, 'https://origin.example/v2/prod/images/pause/tags/list?n=2&last=1.0', 'origin'],
    [`/v2/pause/referrers/${S256}?artifactType=x`, 307, `https://origin.example/v2/prod/images/pause/referrers/${S256}?artifactType=x`, 'origin'],
  ])('%s -> %i %s', (target, status, location, kind) => {
    const decision = decide(classify(target), plan);
    expect(decision).toEqual({ type: 'redirect', location, target: kind });
    expect(status).toBe(307);
  });

  it.each<[string, number, string | undefined]>([
    ['/v2/_catalog', 404, 'UNSUPPORTED'],
    ['/v2/x/y/z', 404, 'UNSUPPORTED'],
    ['/nope', 404, undefined],
    ['/v2/A/manifests/x', 400, 'NAME_INVALID'],
    ['/v2/a/blobs/sha256:1', 400, 'DIGEST_INVALID'],
    [`/${'x'.repeat(5000)}`, 414, 'UNSUPPORTED'],
  ])('%.60s -> %i %s', (target, status, code) => {
    expect(decide(classify(target), plan)).toMatchObject({ type: 'error', status, code });
  });

  it('answers the ping and hands blobs to blob routing', () => {
    expect(decide(classify('/v2/'), plan)).toEqual({ type: 'ping' });
    expect(decide(classify(`/v2/a/blobs/${S256}`), plan)).toEqual({ type: 'blob', name: 'a', digest: S256 });
  });

  it('sends cosign tags to the origin when no signature upstream is set, and 404s unset info URLs', () => {
    const bare = buildPlan(validateConfig({ origin: { url: 'https://o.example' } }, 'test'));
    expect(decide(classify(`/v2/p/manifests/${COSIGN}`), bare)).toEqual({
      type: 'redirect',
      location: `https://o.example/v2/p/manifests/${COSIGN}`,
      target: 'origin',
    });
    expect(decide(classify('/'), bare)).toMatchObject({ type: 'error', status: 404 });
    expect(decide(classify('/privacy'), bare)).toMatchObject({ type: 'error', status: 404 });
  });

  it('writes OCI error documents', () => {
    expect(JSON.parse(ociErrorBody('NAME_INVALID', 'bad'))).toEqual({ errors: [{ code: 'NAME_INVALID', message: 'bad', detail: null }] });
  });
});

describe('blobCandidates', () => {
  const names = (ip: string, client: ClientLocation, p = plan) =>
    blobCandidates(p, ip, ip.includes(':') ? 'ipv6' : 'ipv4', client).map((c) => `${c.bucket.name}:${c.reason}`);

  it.each<[string, string, ClientLocation, string[]]>([
    ['network bucket first, then region, then default', '10.1.1.1', { provider: 'aws', region: 'eu-west-3' }, ['lab:network', 'eu3:region', 'cdn:default']],
    ['provider rule origin keeps only network buckets', '10.1.1.1', { provider: 'gcp', region: 'us-central1' }, ['lab:network']],
    ['provider rule origin with no network match: straight to origin', '8.8.8.8', { provider: 'gcp' }, []],
    ['region bucket, then default', '3.3.3.3', { provider: 'aws', region: 'eu-west-3' }, ['eu3:region', 'cdn:default']],
    ['a bucket serving several regions', '3.3.3.3', { provider: 'aws', region: 'eu-west-9' }, ['eu1:region', 'cdn:default']],
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
    const nearest = buildPlan({ ...config, routing: { others: 'nearest' } }, rank);
    expect(names('5.5.5.5', { lat: 48.2, lon: 2.1 }, nearest)).toEqual(['cdn:nearest', 'az:nearest', 'us1:nearest']);
    // Memoised by location: the same provider/region or one-degree cell asks once.
    const before = calls.length;
    names('5.5.5.6', { lat: 48.17, lon: 2.08 }, nearest);
    names('3.3.3.4', { provider: 'aws', region: 'ap-south-7' }, ranked);
    expect(calls.length).toBe(before);
  });

  it('a default bucket given as a URL becomes a bucket of its own', () => {
    const p = buildPlan(validateConfig({ origin: { url: 'https://o.example' }, default_bucket: 'https://cdn2.example/' }, 'test'));
    const [first] = blobCandidates(p, '1.1.1.1', 'ipv4', {});
    expect(first && bucketBlobUrl(first.bucket, S256)).toBe(`https://cdn2.example/containers/images/${S256}`);
  });
});

describe('redirectHosts', () => {
  it('lists every host a Location may point at', () => {
    expect(redirectHosts(plan)).toEqual([
      'az.example', 'cdn.example', 'eu1.example', 'eu3.example', 'lab.example', 'origin.example', 'sigs.example', 'us1.example',
    ]);
  });
});
