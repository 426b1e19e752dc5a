import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateGeo } from '../../geo/update.js';
import { DIGEST_A, DIGEST_B, get } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { awsFeed, has, scrape, scratch, startServe, value, writeConfig, type Served } from '../support/serve.js';

const KEY = '/containers/images/';
// Whole seconds: the MMDB metadata stores its build epoch in seconds.
const BUILT_AT = new Date(Math.floor(Date.now() / 1000) * 1000 - 3 * 86_400_000);
/** The feed was published two days before it was compiled: the data's age counts from then. */
const PUBLISHED = new Date(BUILT_AT.getTime() - 2 * 86_400_000);
const awsStamp = (time: Date) => time.toISOString().slice(0, 19).replace(/[T:]/g, '-');

describe('admin listener and metrics', () => {
  const dir = scratch();
  let bucket: BucketServer;
  let edge: Served;

  beforeAll(async () => {
    bucket = await startBucket([`${KEY}${DIGEST_A}`]);
    dir.file('aws-ip-ranges.json', awsFeed(awsStamp(PUBLISHED)));
    const ranges = `${dir.path}/cloud-ranges.mmdb`;
    const compiled = await updateGeo({ from: dir.path, out: ranges, locations: false, now: BUILT_AT });
    expect(compiled.written).toBe(true);
    const config = writeConfig(`${dir.path}/edge.yaml`, {
      origin: { url: 'https://origin.example' },
      signatures: { url: 'https://sigs.example' },
      // The client address comes from X-Forwarded-For, so a test can be "in" AWS eu-west-3.
      client_ip: { trusted_hops: 1 },
      geo: { ranges },
      buckets: [{ name: 'paris', url: bucket.url, provider: 'aws', regions: ['eu-west-3'] }],
      default_bucket: 'paris',
      blobs: { candidates: 1, check: { timeout_ms: 1000 } },
    });
    edge = await startServe(config);
  });
  afterAll(async () => {
    await edge?.stop();
    await bucket?.close();
    dir.cleanup();
  });

  const fromParis = { 'X-Forwarded-For': '15.188.1.2' };
  const fromNowhere = { 'X-Forwarded-For': '192.0.2.7' };

  it('/healthz answers 200, /readyz 200 with the config and geo data it loaded', async () => {
    expect(await get(edge.admin, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    const ready = await get(edge.admin, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, geo: { ranges_loaded: true, ranges_built_at: BUILT_AT.toISOString() } });
  });

  it('admin paths are not on the public port, whose strict 404s stay', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz', '/debug/route', '/reload']) expect((await get(edge.url, path)).status).toBe(404);
    expect((await get(edge.admin, '/nothing')).status).toBe(404);
    expect((await get(edge.admin, '/reload')).status).toBe(405);
    expect((await get(edge.admin, '/metrics', { method: 'POST' })).status).toBe(405);
  });

  it('/debug/route explains a decision with the running configuration', async () => {
    const res = await get(edge.admin, `/debug/route?ip=15.188.9.9&path=/v2/app/blobs/${DIGEST_A}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      route: 'blob',
      status: 307,
      target: 'paris',
      client: { ip: '15.188.9.9', provider: 'aws', region: 'eu-west-3' },
      location: `${bucket.url}${KEY}${DIGEST_A}`,
    });
    expect((await get(edge.admin, '/debug/route?ip=1.2.3.4')).status).toBe(400);
  });

  it('counts requests by kind, method, status and target, and blob redirects by provider and region', async () => {
    const before = await scrape(edge.admin);
    await get(edge.url, '/v2/app/manifests/1.0', { headers: fromNowhere });
    await get(edge.url, '/v2/app/manifests/1.0', { method: 'HEAD', headers: fromNowhere });
    await get(edge.url, `/v2/app/manifests/sha256-${'f'.repeat(64)}.sig`, { headers: fromNowhere });
    await get(edge.url, '/v2/_catalog', { headers: fromNowhere });
    await get(edge.url, `/v2/app/blobs/${DIGEST_A}`, { headers: fromParis });
    await get(edge.url, `/v2/app/blobs/${DIGEST_A}`, { headers: fromParis });
    await get(edge.url, `/v2/app/blobs/${DIGEST_B}`, { headers: fromNowhere });
    const after = await scrape(edge.admin);
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);

    expect(delta('registry_edge_requests_total', { kind: 'manifest', method: 'GET', status: '307', target: 'origin' })).toBe(1);
    expect(delta('registry_edge_requests_total', { kind: 'manifest', method: 'HEAD', status: '307', target: 'origin' })).toBe(1);
    expect(delta('registry_edge_requests_total', { kind: 'manifest', status: '307', target: 'signatures' })).toBe(1);
    expect(delta('registry_edge_requests_total', { kind: 'catalog', status: '404', target: 'none' })).toBe(1);
    expect(delta('registry_edge_requests_total', { kind: 'blob', status: '307', target: 'paris' })).toBe(2);
    // B is not in the bucket: the default bucket answers 404 to the HEAD and the origin serves it.
    expect(delta('registry_edge_requests_total', { kind: 'blob', status: '307', target: 'origin' })).toBe(1);
    expect(delta('registry_edge_blob_redirects_total', { provider: 'aws', region: 'eu-west-3', target: 'paris' })).toBe(2);
    expect(delta('registry_edge_blob_redirects_total', { provider: 'none', region: 'none', target: 'origin' })).toBe(1);
    expect(delta('registry_edge_request_duration_seconds_count', { kind: 'blob' })).toBe(3);
    expect(delta('registry_edge_request_duration_seconds_bucket', { kind: 'manifest', le: '+Inf' })).toBe(3);
  });

  it('exports existence checks, their latency and the cache figures at scrape time', async () => {
    const before = await scrape(edge.admin);
    const digest = `sha256:${'9'.repeat(64)}`;
    await get(edge.url, `/v2/app/blobs/${digest}`, { headers: fromParis });
    await get(edge.url, `/v2/app/blobs/${digest}`, { headers: fromParis });
    const after = await scrape(edge.admin);
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(delta('registry_edge_existence_checks_total', { bucket: 'paris', result: 'absent' })).toBe(1);
    expect(delta('registry_edge_existence_check_duration_seconds_count', { bucket: 'paris' })).toBe(1);
    expect(delta('registry_edge_existence_cache_misses_total')).toBe(1);
    expect(delta('registry_edge_existence_cache_hits_total')).toBe(1);
    expect(value(after, 'registry_edge_existence_cache_entries')).toBeGreaterThanOrEqual(2);
    expect(value(after, 'registry_edge_bucket_state', { bucket: 'paris', state: 'closed' })).toBe(1);
    expect(value(after, 'registry_edge_bucket_state', { bucket: 'paris', state: 'open' })).toBe(0);
  });

  it('exports the geo data age (from the feed publication, not the compile), build info and process metrics', async () => {
    const samples = await scrape(edge.admin);
    expect(value(samples, 'registry_edge_geo_ranges_loaded')).toBe(1);
    const age = value(samples, 'registry_edge_geo_ranges_age_seconds');
    expect(age).toBeGreaterThan(5 * 86_400 - 60);
    expect(age).toBeLessThan(5 * 86_400 + 600);
    expect(has(samples, 'registry_edge_build_info')).toBe(true);
    expect(has(samples, 'process_cpu_seconds_total')).toBe(true);
    expect(value(samples, 'registry_edge_reloads_total', { result: 'failure' })).toBe(0);
  });

  it('keeps labels bounded: no digests, no client addresses, no repository names by default', async () => {
    await get(edge.url, '/v2/some/secret-repo/manifests/latest', { headers: fromParis });
    const text = (await get(edge.admin, '/metrics')).body;
    expect(text).not.toMatch(/sha256:|sha512:/);
    expect(text).not.toContain('15.188.');
    expect(text).not.toContain('secret-repo');
    expect(text).not.toContain('registry_edge_repo_requests_total{');
    for (const line of text.split('\n').filter((l) => l.startsWith('registry_edge_'))) expect(line).toMatch(/^registry_edge_[a-z_]+(\{[^}]*\})? \S+$/);
  });
});

describe('metrics.repos: true', () => {
  const dir = scratch();
  let edge: Served;
  beforeAll(async () => {
    edge = await startServe(writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://origin.example' }, metrics: { repos: true } }));
  });
  afterAll(async () => {
    await edge?.stop();
    dir.cleanup();
  });

  it('adds a per-repository series, and nothing for routes without a repository', async () => {
    await get(edge.url, '/v2/library/app/manifests/latest');
    await get(edge.url, '/v2/library/app/tags/list');
    await get(edge.url, '/v2/');
    const samples = await scrape(edge.admin);
    expect(value(samples, 'registry_edge_repo_requests_total', { repo: 'library/app', kind: 'manifest' })).toBe(1);
    expect(value(samples, 'registry_edge_repo_requests_total', { repo: 'library/app', kind: 'tags' })).toBe(1);
    expect(value(samples, 'registry_edge_repo_requests_total')).toBe(2);
  });
});

describe('geo metrics without cloud ranges', () => {
  const dir = scratch();
  let edge: Served;
  beforeAll(async () => {
    edge = await startServe(writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://origin.example' } }));
  });
  afterAll(async () => {
    await edge?.stop();
    dir.cleanup();
  });

  it('reports ranges_loaded 0 and no age sample at all (an age of 0 would look fresh)', async () => {
    const samples = await scrape(edge.admin);
    expect(value(samples, 'registry_edge_geo_ranges_loaded')).toBe(0);
    expect(has(samples, 'registry_edge_geo_ranges_age_seconds')).toBe(false);
  });
});
