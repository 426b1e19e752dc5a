import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateGeo } from '../../geo/update.js';
import { validateConfig } from '../../src/config/load.js';
import { GeoRefresher, type RangesUpdater } from '../../src/ops/geo-refresh.js';
import { DIGEST_A, get } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { awsFeed, scrape, scratch, startServe, value, writeConfig, type Served } from '../support/serve.js';

const KEY = '/containers/images/';
const seconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
const FIRST_BUILD = seconds(Date.now() - 7 * 86_400_000);
const SECOND_BUILD = seconds(Date.now() - 60_000);

/** A feed where 203.0.113.0/24 is AWS ap-northeast-2 (the first feed does not list it). */
function feedWithExtraPrefix(): string {
  // Published a minute before the second build: the age metric counts from the feed's own time.
  const feed = JSON.parse(awsFeed(SECOND_BUILD.toISOString().slice(0, 19).replace(/[T:]/g, '-')));
  feed.prefixes.push({ ip_prefix: '203.0.113.0/24', region: 'ap-northeast-2', service: 'EC2', network_border_group: 'ap-northeast-2' });
  return JSON.stringify(feed);
}

describe('geo.refresh: background feed refresh then reload', () => {
  const dir = scratch();
  const feeds = scratch();
  let ranges: string;
  let bucket: BucketServer;
  let edge: Served;
  /** What the serving process's own refresher downloads, swapped by each test. */
  let update: RangesUpdater = async () => false;

  beforeAll(async () => {
    bucket = await startBucket([`${KEY}${DIGEST_A}`]);
    dir.file('aws-ip-ranges.json', awsFeed());
    ranges = `${dir.path}/cloud-ranges.mmdb`;
    await updateGeo({ from: dir.path, out: ranges, locations: false, now: FIRST_BUILD });
    edge = await startServe(
      writeConfig(`${dir.path}/edge.yaml`, {
        origin: { url: 'https://o.example' },
        client_ip: { trusted_hops: 1 },
        geo: { ranges },
        buckets: [{ name: 'seoul', url: bucket.url, provider: 'aws', regions: ['ap-northeast-2'] }],
      }),
      'info',
      { update: (out, logger) => update(out, logger) },
    );
  });
  afterAll(async () => {
    await edge?.stop();
    await bucket?.close();
    dir.cleanup();
    feeds.cleanup();
  });

  /** The refresher `serve` runs, downloading with `next`. */
  const refresher = (next: RangesUpdater): GeoRefresher => {
    update = next;
    if (edge.handle.refresher === undefined) throw new Error('serve runs no refresher');
    return edge.handle.refresher;
  };
  const blobFrom = (ip: string) => get(edge.url, `/v2/app/blobs/${DIGEST_A}`, { headers: { 'X-Forwarded-For': ip } });

  it('swaps in new ranges once they are written, and the geo age metric follows', async () => {
    expect((await blobFrom('203.0.113.5')).headers.location).toBe(`https://o.example/v2/app/blobs/${DIGEST_A}`);
    expect(edge.handle.holder.current.geo.rangesBuiltAt).toEqual(FIRST_BUILD);

    feeds.file('aws-ip-ranges.json', feedWithExtraPrefix());
    const ok = await refresher(async (out) => (await updateGeo({ from: feeds.path, out, locations: false, now: SECOND_BUILD })).written).refreshNow();

    expect(ok).toBe(true);
    expect(edge.handle.holder.current.geo.rangesBuiltAt).toEqual(SECOND_BUILD);
    expect((await blobFrom('203.0.113.5')).headers.location).toBe(`${bucket.url}${KEY}${DIGEST_A}`);
    const samples = await scrape(edge.admin);
    expect(value(samples, 'registry_edge_geo_refreshes_total', { result: 'success' })).toBe(1);
    expect(value(samples, 'registry_edge_geo_ranges_age_seconds')).toBeLessThan(3600);
  });

  it('keeps the last good ranges when the download fails or the new file does not load', async () => {
    const before = edge.handle.holder.current;
    expect(await refresher(async () => Promise.reject(new Error('feed unreachable'))).refreshNow()).toBe(false);
    expect(edge.handle.holder.current).toBe(before);

    // A file that is written but cannot be read: the reload refuses it and the loaded data stays.
    expect(
      await refresher(async (out) => {
        writeFileSync(out, 'not an mmdb');
        return true;
      }).refreshNow(),
    ).toBe(false);
    expect(edge.handle.holder.current).toBe(before);
    expect((await blobFrom('203.0.113.5')).headers.location).toBe(`${bucket.url}${KEY}${DIGEST_A}`);

    const samples = await scrape(edge.admin);
    expect(value(samples, 'registry_edge_geo_refreshes_total', { result: 'failure' })).toBe(2);
    expect(value(samples, 'registry_edge_reloads_total', { result: 'failure' })).toBe(1);
    expect(edge.logs.messages('geo refresh failed; the last good ranges stay')).toHaveLength(2);
  });

  it('arms an unref()ed timer from geo.refresh and disarms it when the setting is cleared', () => {
    const timers = new GeoRefresher({ logger: edge.handle.logger, update: async () => false, reload: async () => true });
    const doc = (refresh: string) => validateConfig({ origin: { url: 'https://o.example' }, geo: { ranges, refresh } }, 't');
    const before = Date.now();
    timers.configure(doc('12h'), 't');
    expect(timers.nextAt).toBeGreaterThanOrEqual(before + 12 * 3_600_000);
    expect(timers.nextAt).toBeLessThan(before + 12 * 3_600_000 + 5_000);
    const armed = timers.nextAt;
    timers.configure(doc('12h'), 't');
    expect(timers.nextAt).toBe(armed);
    timers.configure(doc(''), 't');
    expect(timers.nextAt).toBeUndefined();
    timers.stop();
  });
});
