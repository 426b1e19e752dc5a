import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateGeo } from '../../geo/update.js';
import { EdgeMetrics } from '../../src/ops/metrics.js';
import { get, startEdge, type EdgeUnderTest } from '../support/harness.js';
import { sharedRangesFile, tempDir } from '../support/geo.js';
import { ManualProbeTimers, startLocalOrigin, type LocalOrigin } from '../support/origins.js';
import { parseMetrics } from '../support/serve.js';

// Issue 15 end to end in one process: the real public server, a cloud ranges database compiled
// from the shared Google Cloud and AWS feeds, and four local origins (a primary and three
// replicas) on ephemeral ports. Probes run on a clock the test drives.

const TOKYO_GCP = '34.84.0.5'; // gcp asia-northeast1 (served)
const FRANKFURT_GCP = '34.0.224.5'; // gcp europe-west3 (not served: Belgium is nearest)
const IOWA_GCP = '8.34.210.5'; // gcp us-central1 (served)
const PARIS_AWS = '35.180.0.5'; // aws eu-west-3
const MANIFEST = '/v2/pause/manifests/3.10';

describe('origin replicas (shared: ../shared/ranges gcp-cloud.json, aws-ip-ranges.json)', () => {
  const scratch = tempDir();
  const timers = new ManualProbeTimers();
  const metrics = new EdgeMetrics({ version: 'test', processMetrics: false });
  let primary: LocalOrigin;
  let replicas: Record<'us' | 'eu' | 'asia', LocalOrigin>;
  let edge: EdgeUnderTest;

  beforeAll(async () => {
    const feeds = join(scratch.path, 'feeds');
    await mkdir(feeds);
    await copyFile(sharedRangesFile('gcp-cloud.json'), join(feeds, 'gcp-cloud.json'));
    await copyFile(sharedRangesFile('aws-ip-ranges.json'), join(feeds, 'aws-ip-ranges.json'));
    const ranges = join(scratch.path, 'cloud-ranges.mmdb');
    const compiled = await updateGeo({ from: feeds, out: ranges, locations: false });
    expect(compiled.written).toBe(true);
    primary = await startLocalOrigin('primary');
    replicas = { us: await startLocalOrigin('us-central1'), eu: await startLocalOrigin('europe-west1'), asia: await startLocalOrigin('asia-northeast1') };
    const mirror = (origin: LocalOrigin) => ({ url: origin.url, provider: 'gcp', regions: [origin.name] });
    edge = await startEdge(
      {
        origin: { url: primary.url, path: 'images', mirrors: [mirror(replicas.us), mirror(replicas.eu), mirror(replicas.asia)], probe: { failures: 2 } },
        routing: { origins: 'nearest' },
        client_ip: { trusted_hops: 1 },
        geo: { ranges, locations: [] },
      },
      { probeTimers: timers, onProbe: metrics.onProbe, hooks: { onRequest: (record, rt) => metrics.onRequest(record, rt) } },
    );
    metrics.follow(edge.holder);
  }, 60_000);

  afterAll(async () => {
    await edge?.close();
    for (const origin of [primary, ...Object.values(replicas ?? {})]) await origin?.stop();
    scratch.cleanup();
  });

  const from = (ip: string | undefined, path = MANIFEST) => get(edge.url, path, { headers: ip === undefined ? {} : { 'X-Forwarded-For': ip } });
  const hostOf = (location: unknown): string => new URL(String(location)).host;

  it.each<[string, string, 'us' | 'eu' | 'asia']>([
    ['a Google Cloud address in a served region (Tokyo) → that replica', TOKYO_GCP, 'asia'],
    ['... in another served region (Iowa) → that replica', IOWA_GCP, 'us'],
    ['a Google Cloud address in an unserved region (Frankfurt) → the nearest (Belgium)', FRANKFURT_GCP, 'eu'],
    ['an AWS address (Paris) → the replica nearest its AWS region (Belgium)', PARIS_AWS, 'eu'],
  ])('%s', async (_name, ip, replica) => {
    const res = await from(ip);
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`${replicas[replica].url}/v2/images/pause/manifests/3.10`);
    const line = edge.logs.messages('request').at(-1);
    expect(line).toMatchObject({ route: 'manifest', target: 'origin', origin: replicas[replica].host });
  });

  it('sends tags, referrers and origin-bound blobs to the chosen replica too', async () => {
    for (const path of ['/v2/pause/tags/list', `/v2/pause/referrers/sha256:${'d'.repeat(64)}`, `/v2/pause/blobs/sha256:${'d'.repeat(64)}`]) {
      const res = await from(TOKYO_GCP, path);
      expect(res.status, path).toBe(307);
      expect(hostOf(res.headers.location), path).toBe(replicas.asia.host);
    }
  });

  it.each<[string, string | undefined]>([
    ['no X-Forwarded-For (a load balancer health check)', undefined],
    ['an unparsable X-Forwarded-For', 'not-an-address'],
    ['an address in no cloud, without geolocation', '192.0.2.7'],
  ])('sends a client with %s to the primary, never a 400', async (_name, ip) => {
    const res = await from(ip);
    expect(res.status).toBe(307);
    expect(hostOf(res.headers.location)).toBe(primary.host);
    expect((await from(ip, '/v2/')).status).toBe(200);
  });

  it('fails over within the probe window with zero failed requests, and comes back once the replica returns', async () => {
    let answered = 0;
    const failures: string[] = [];
    let running = true;
    const allowed = new Set([primary.host, replicas.us.host, replicas.eu.host, replicas.asia.host]);
    const loop = (async () => {
      while (running) {
        const res = await from(TOKYO_GCP).catch((error: Error) => ({ status: 0, headers: { location: error.message } }));
        answered++;
        if (res.status !== 307 || !allowed.has(hostOf(res.headers.location))) failures.push(`${res.status} ${String(res.headers.location)}`);
      }
    })();
    const until = async (host: string): Promise<void> => {
      const seen = answered;
      while (answered < seen + 3) await new Promise((resolve) => setImmediate(resolve));
      expect(hostOf((await from(TOKYO_GCP)).headers.location)).toBe(host);
    };
    await timers.round();
    await until(replicas.asia.host);

    await replicas.asia.stop();
    await timers.round();
    // One failed probe is not enough (probe.failures: 2): still the Tokyo replica.
    await until(replicas.asia.host);
    await timers.round();
    await until(replicas.eu.host);
    // Every Location handed out now works.
    const followed = await get(replicas.eu.url, '/v2/images/pause/manifests/3.10');
    expect(followed.status).toBe(200);
    expect(edge.logs.messages('origin replica down')).toEqual([expect.objectContaining({ origin: replicas.asia.host, failures: 2, level: 'warn' })]);

    const scraped = parseMetrics((await metrics.render()).body);
    const up = (host: string) => scraped.find((s) => s.name === 'registry_edge_origin_up' && s.labels.origin === host)?.value;
    expect([up(replicas.asia.host), up(replicas.eu.host), up(replicas.us.host)]).toEqual([0, 1, 1]);
    expect(scraped.some((s) => s.name === 'registry_edge_origin_probe_duration_seconds_count' && s.labels.result === 'down' && s.value === 2)).toBe(true);
    expect(scraped.find((s) => s.name === 'registry_edge_origin_choices_total' && s.labels.origin === replicas.eu.host)?.value).toBeGreaterThan(0);

    await replicas.asia.start();
    await timers.round();
    await until(replicas.asia.host);
    expect(edge.logs.messages('origin replica up')).toEqual([expect.objectContaining({ origin: replicas.asia.host, level: 'info' })]);
    running = false;
    await loop;
    expect(answered).toBeGreaterThan(10);
    expect(failures).toEqual([]);
  }, 30_000);

  it('stops probing when the generation is retired', async () => {
    expect(timers.scheduled).toBe(3);
    await edge.holder.current.close();
    expect(timers.scheduled).toBe(0);
  });
});
