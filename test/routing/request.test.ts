import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { MmdbWriter } from '../../geo/mmdb/writer.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import type { Answer } from '../../src/routing/decide.js';
import { decideRequest, givenClient, newTrace, type ClientAddress } from '../../src/routing/request.js';
import { buildRuntime } from '../../src/server/build.js';
import { DataFiles, type Lease, type Loaded } from '../../src/server/data-files.js';
import type { Runtime } from '../../src/server/runtime.js';
import { tempDir } from '../support/geo.js';
import { DIGEST_A, DIGEST_B } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';

// The one decision function, in-process over a real runtime and real local buckets: what the
// public handler, `explain` and `/debug/route` all answer.

const DIGEST_C = `sha256:${'c'.repeat(64)}`;
const DIGEST_D = `sha256:${'e'.repeat(64)}`;
const object = (digest: string): string => `/containers/images/${digest}`;
const quiet = new Writable({ write: (_chunk, _enc, done) => done() });

async function runtime(doc: Record<string, unknown>): Promise<Runtime> {
  const config = validateConfig({ origin: { url: 'https://origin.example' }, geo: { ranges: '/nonexistent/ranges.mmdb' }, ...doc }, 'test');
  return buildRuntime({ config, source: 'test' }, createLogger('error', quiet));
}

describe('decideRequest', () => {
  let lab: BucketServer;
  let cdn: BucketServer;
  let deadUrl: string;
  let rt: Runtime;
  let bare: Runtime;

  beforeAll(async () => {
    lab = await startBucket([object(DIGEST_A)]);
    cdn = await startBucket([object(DIGEST_A), object(DIGEST_B)]);
    const dead = await startBucket([]);
    deadUrl = dead.url;
    await dead.close();
    rt = await runtime({
      buckets: [
        { name: 'lab', url: lab.url, networks: ['10.1.0.0/16'] },
        { name: 'dead', url: deadUrl, networks: ['10.9.0.0/16'] },
        { name: 'cdn', url: cdn.url },
      ],
      default_bucket: 'cdn',
      blobs: { check: { failure_threshold: 3, cooldown_ms: 600_000 } },
    });
    bare = await runtime({ buckets: [{ name: 'lab', url: lab.url, networks: ['10.1.0.0/16'] }] });
  });
  afterAll(async () => {
    await rt?.close();
    await bare?.close();
    await lab?.close();
    await cdn?.close();
  });

  /** A client address source that counts how often the decision asked for it. */
  function counting(ip: string): ClientAddress & { asked: number } {
    const given = givenClient(ip);
    return {
      asked: 0,
      clientIp() {
        this.asked++;
        return given.result;
      },
    };
  }

  it('needs the client address only for blobs', async () => {
    for (const target of ['/v2/', '/v2/pause/manifests/3.9', '/v2/pause/tags/list', '/v2/_catalog', '/nope', '/v2/A/blobs/x']) {
      const client = counting('10.1.2.3');
      await decideRequest(rt, 'GET', target, client);
      expect(client.asked, target).toBe(0);
    }
    const client = counting('10.1.2.3');
    await decideRequest(rt, 'HEAD', `/v2/pause/blobs/${DIGEST_A}`, client);
    expect(client.asked).toBe(1);
  });

  it('refuses every method but GET and HEAD before reading the target', async () => {
    const trace = newTrace();
    const answer = await decideRequest(rt, 'DELETE', '/not even a path', counting('10.1.2.3'), trace);
    expect(answer).toMatchObject({ type: 'error', kind: 'method_not_allowed', status: 405, code: 'UNSUPPORTED' });
    expect(trace.route).toBe('method_not_allowed');
  });

  it('refuses a blob whose client address cannot be known, naming the repository', async () => {
    const answer = await decideRequest(rt, 'GET', `/v2/app/blobs/${DIGEST_A}`, givenClient('fe80::1%eth0'));
    expect(answer).toMatchObject({ type: 'error', kind: 'blob', status: 400, code: 'UNSUPPORTED', repo: 'app' });
    expect((answer as Extract<Answer, { type: 'error' }>).message).toBe('cannot determine the client address: X-Forwarded-For entry "fe80::1%eth0" has a zone id');
  });

  it.each<[string, string, string, string, string | undefined]>([
    ['a network bucket that has it', '10.1.2.3', DIGEST_A, 'lab', undefined],
    ['the default bucket after an absent network bucket', '10.1.2.3', DIGEST_B, 'cdn', undefined],
    ['the origin when every candidate lacks it', '10.1.2.3', DIGEST_C, 'origin', 'absent in every candidate'],
    ['the default bucket after a check that failed', '10.9.1.1', DIGEST_A, 'cdn', undefined],
    ['the origin, saying which check failed and why', '10.9.1.1', DIGEST_C, 'origin', 'check failed: dead: ECONNREFUSED'],
    ['the origin for a client in no network, when the default bucket lacks it', '203.0.113.7', DIGEST_C, 'origin', 'absent in every candidate'],
  ])('sends a blob to %s', async (_label, ip, digest, target, reason) => {
    const answer = await decideRequest(rt, 'GET', `/v2/app/blobs/${digest}`, givenClient(ip));
    const location = target === 'origin' ? `https://origin.example/v2/app/blobs/${digest}` : `${target === 'lab' ? lab.url : cdn.url}${object(digest)}`;
    const origin = target === 'origin' ? 'origin.example' : undefined;
    expect(answer).toEqual({ type: 'redirect', kind: 'blob', location, target, repo: 'app', client: {}, reason, origin });
  });

  it('says when no bucket was a candidate at all', async () => {
    const answer = await decideRequest(bare, 'GET', `/v2/app/blobs/${DIGEST_A}`, givenClient('203.0.113.7'));
    expect(answer).toMatchObject({ target: 'origin', reason: 'no candidate bucket' });
  });

  it('records every candidate and check in a trace, with the cause of a failed one', async () => {
    const trace = newTrace();
    const answer = await decideRequest(rt, 'GET', `/v2/app/blobs/${DIGEST_D}`, givenClient('::ffff:10.9.0.7'), trace);
    expect(answer).toMatchObject({ target: 'origin', reason: 'check failed: dead: ECONNREFUSED' });
    expect(trace).toMatchObject({ route: 'blob', ip: '10.9.0.7', digest: DIGEST_D, located: {} });
    expect(trace.candidates.map((c) => `${c.bucket.name}:${c.reason}`)).toEqual(['dead:network', 'cdn:default']);
    expect(trace.checks).toEqual([
      { bucket: 'dead', reason: 'network', presence: 'unknown', cached: false, cause: 'ECONNREFUSED' },
      { bucket: 'cdn', reason: 'default', presence: 'absent', cached: false, cause: undefined },
    ]);
  });

  it('skips a bucket whose breaker is open, and says so', async () => {
    // The three failed checks above opened the dead bucket's breaker (failure_threshold 3).
    const trace = newTrace();
    const answer = await decideRequest(rt, 'GET', `/v2/app/blobs/${DIGEST_D}`, givenClient('10.9.0.8'), trace);
    expect(answer).toMatchObject({ target: 'origin', reason: 'bucket unhealthy' });
    expect(trace.checks).toEqual([
      { bucket: 'dead', reason: 'network', presence: 'skipped', cached: false, cause: 'breaker open' },
      { bucket: 'cdn', reason: 'default', presence: 'absent', cached: true, cause: undefined },
    ]);
  });

  it('answers a warm blob synchronously, traced or not', async () => {
    await decideRequest(rt, 'GET', `/v2/app/blobs/${DIGEST_A}`, givenClient('10.1.2.3'));
    const warm = decideRequest(rt, 'GET', `/v2/app/blobs/${DIGEST_A}`, givenClient('10.1.2.3'));
    expect(warm).not.toBeInstanceOf(Promise);
    const trace = newTrace();
    expect(decideRequest(rt, 'GET', `/v2/app/blobs/${DIGEST_A}`, givenClient('10.1.2.3'), trace)).toMatchObject({ target: 'lab' });
    expect(trace.checks).toEqual([{ bucket: 'lab', reason: 'network', presence: 'present', cached: true, cause: undefined }]);
  });
});

describe('givenClient', () => {
  it.each<[string, string | undefined]>([
    ['10.1.2.3', '10.1.2.3'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8::1', '2001:db8::1'],
    ['fe80::1%eth0', undefined],
    ['fe80::1%25eth0', undefined],
    ['garbage', undefined],
    ['', undefined],
  ])('holds %j to the rule the server applies to a forwarded address', (text, ip) => {
    const { result } = givenClient(text);
    expect(result.ok ? result.ip : undefined).toBe(ip);
  });
});

describe('decideRequest while the city data of a first start-up is still loading', () => {
  const dir = tempDir();
  let release = (): void => undefined;
  let rt: Runtime;
  let bucket: BucketServer;

  /** Holds the city file back until `release`, as a slow read of tens of megabytes would. */
  class HeldFiles extends DataFiles {
    private readonly gate = new Promise<void>((resolve) => (release = resolve));
    override async open<T>(kind: string, path: string, load: (path: string) => Promise<Loaded<T>>): Promise<Lease<T>> {
      if (kind === 'locations') await this.gate;
      return super.open(kind, path, load);
    }
  }

  beforeAll(async () => {
    const writer = new MmdbWriter({ databaseType: 'city', buildEpoch: new Date('2026-07-29T08:00:00Z') });
    writer.insertCidr('81.2.69.0/24', { country_code: 'GB', latitude: 51.5143, longitude: -0.0912 });
    writer.insertCidr('133.0.0.0/16', { country_code: 'JP', latitude: 35.69, longitude: 139.69 });
    const city = join(dir.path, 'city.mmdb');
    writeFileSync(city, writer.build().file);
    bucket = await startBucket([object(DIGEST_A)]);
    const config = validateConfig(
      {
        origin: {
          url: 'https://origin.example',
          mirrors: [
            { url: 'https://london.example', provider: 'gcp', regions: ['europe-west2'] },
            { url: 'https://tokyo.example', provider: 'gcp', regions: ['asia-northeast1'] },
          ],
          probe: { interval_ms: 600_000, failures: 100 },
        },
        routing: { origins: 'nearest', others: 'nearest' },
        geo: { ranges: '/nonexistent/ranges.mmdb', locations: [city] },
        buckets: [
          { name: 'eu', url: bucket.url, provider: 'aws', regions: ['eu-west-2'] },
          { name: 'jp', url: 'http://127.0.0.1:9', provider: 'aws', regions: ['ap-northeast-1'] },
        ],
      },
      'test',
    );
    rt = await buildRuntime({ config, source: 'test' }, createLogger('error', quiet), { files: new HeldFiles(), deferGeography: true });
  });
  afterAll(async () => {
    await rt?.close();
    await bucket?.close();
    dir.cleanup();
  });

  it('answers the ping at once, and a request that needs the client placed only once the data is in use', async () => {
    expect(decideRequest(rt, 'GET', '/v2/', givenClient('81.2.69.160'))).toMatchObject({ type: 'ping' });
    let settled = false;
    const manifest = Promise.resolve(decideRequest(rt, 'GET', '/v2/pause/manifests/3.9', givenClient('133.0.1.1'))).finally(() => (settled = true));
    const blob = decideRequest(rt, 'GET', `/v2/pause/blobs/${DIGEST_A}`, givenClient('81.2.69.160'));
    expect(blob).toBeInstanceOf(Promise);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(rt.geo.locationsLoading).toBe(true);
    release();
    expect(await manifest).toMatchObject({ type: 'redirect', location: 'https://tokyo.example/v2/pause/manifests/3.9' });
    expect(await blob).toMatchObject({ type: 'redirect', target: 'eu' });
    expect(rt.geo).toMatchObject({ locationsLoading: false, locationsLoaded: true });
  });
});
