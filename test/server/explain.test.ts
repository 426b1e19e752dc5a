import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain, type Explanation } from '../../src/server/explain.js';
import { runCli } from '../support/cli.js';
import { DIGEST_A, DIGEST_B, get, startEdge, type EdgeUnderTest } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { scratch, startServe, writeConfig, type Served } from '../support/serve.js';

const KEY = '/containers/images/';

describe('explain and the server give the same answer', () => {
  let bucket: BucketServer;
  let edge: EdgeUnderTest;

  beforeAll(async () => {
    bucket = await startBucket([`${KEY}${DIGEST_A}`]);
    edge = await startEdge({
      origin: { url: 'https://origin.example', path: 'k8s/images' },
      info_url: 'https://info.example/',
      client_ip: { trusted_hops: 1 },
      buckets: [{ name: 'office', url: bucket.url, networks: ['10.0.0.0/8', '2001:db8::/32'] }],
    });
  });
  afterAll(async () => {
    await edge?.close();
    await bucket?.close();
  });

  // [method, path, client address]: the server gets the address from its one trusted proxy.
  it.each<[string, string, string]>([
    ['GET', '/', '10.1.2.3'],
    ['GET', '/privacy', '10.1.2.3'],
    ['GET', '/v2/', '10.1.2.3'],
    ['POST', '/v2/', '10.1.2.3'],
    ['GET', '/v2/pause/manifests/3.9', '10.1.2.3'],
    ['GET', '/v2/pause/manifests/3.9', 'garbage'],
    ['HEAD', '/v2/pause/tags/list?n=1', '10.1.2.3'],
    ['GET', '/v2/_catalog', '10.1.2.3'],
    ['GET', '/v2/Pause/manifests/3.9', '10.1.2.3'],
    ['GET', `/v2/pause/blobs/${DIGEST_A}`, '10.1.2.3'],
    ['GET', `/v2/pause/blobs/${DIGEST_A}`, '::ffff:10.1.2.3'],
    ['GET', `/v2/pause/blobs/${DIGEST_A}`, '[2001:db8::7]:443'],
    ['GET', `/v2/pause/blobs/${DIGEST_B}`, '10.1.2.3'],
    ['GET', `/v2/pause/blobs/${DIGEST_A}`, '203.0.113.7'],
    ['GET', `/v2/pause/blobs/${DIGEST_A}`, 'fe80::1%eth0'],
    ['GET', `/v2/pause/blobs/${DIGEST_A}`, 'garbage'],
  ])('%s %s from %s', async (method, path, ip) => {
    const res = await get(edge.url, path, { method, headers: { 'X-Forwarded-For': ip } });
    const told = await explain(edge.holder.current, { ip, path, method });
    expect(told.status).toBe(res.status);
    expect(told.location).toBe(res.headers.location);
    if (res.status >= 400 && method !== 'HEAD' && String(res.headers['content-type']).startsWith('application/json')) {
      const { code, message } = JSON.parse(res.body).errors[0];
      expect(told.error).toBe(`${code}: ${message}`);
    }
  });
});

describe('explain shows why a blob goes where it goes', () => {
  let held: BucketServer;
  let deadUrl: string;
  let edge: EdgeUnderTest;

  beforeAll(async () => {
    held = await startBucket([`${KEY}${DIGEST_A}`]);
    const dead = await startBucket([]);
    deadUrl = dead.url;
    await dead.close();
    edge = await startEdge({
      origin: { url: 'https://origin.example' },
      buckets: [
        { name: 'dead', url: deadUrl, networks: ['10.0.0.0/8'] },
        { name: 'held', url: held.url },
      ],
      default_bucket: 'held',
      blobs: { check: { failure_threshold: 2, cooldown_ms: 600_000 } },
    });
  });
  afterAll(async () => {
    await edge?.close();
    await held?.close();
  });

  const ask = (digest: string): Promise<Explanation> => explain(edge.holder.current, { ip: '10.1.2.3', path: `/v2/app/blobs/${digest}`, method: 'GET' });

  it('gives the cause of a failed check, then that the breaker is open', async () => {
    const first = await ask(DIGEST_A);
    expect(first).toMatchObject({
      route: 'blob',
      status: 307,
      target: 'held',
      client: { ip: '10.1.2.3' },
      candidates: [
        { bucket: 'dead', reason: 'network', url: `${deadUrl}${KEY}${DIGEST_A}` },
        { bucket: 'held', reason: 'default', url: `${held.url}${KEY}${DIGEST_A}` },
      ],
      checks: [
        { bucket: 'dead', presence: 'unknown', cached: false, cause: 'ECONNREFUSED' },
        { bucket: 'held', presence: 'present', cached: false },
      ],
    });
    const second = await ask(DIGEST_B);
    expect(second).toMatchObject({ target: 'origin', reason: 'check failed: dead: ECONNREFUSED' });
    // Two failures: the breaker is open and the bucket is passed over without a HEAD.
    const third = await ask(DIGEST_B);
    expect(third).toMatchObject({ target: 'origin', reason: 'bucket unhealthy' });
    expect(third.checks).toEqual([
      { bucket: 'dead', reason: 'network', presence: 'skipped', cached: false, cause: 'breaker open' },
      { bucket: 'held', reason: 'default', presence: 'absent', cached: true },
    ]);
  });
});

describe('/debug/route', () => {
  const dir = scratch();
  let edge: Served;
  let deadUrl: string;

  beforeAll(async () => {
    const dead = await startBucket([]);
    deadUrl = dead.url;
    await dead.close();
    edge = await startServe(
      writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://origin.example' }, buckets: [{ name: 'dead', url: deadUrl, networks: ['10.0.0.0/8'] }] }),
    );
  });
  afterAll(async () => {
    await edge?.stop();
    dir.cleanup();
  });

  it('shows the cause of a failed check, like explain', async () => {
    const res = await get(edge.admin, `/debug/route?ip=10.1.2.3&path=/v2/app/blobs/${DIGEST_A}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      status: 307,
      target: 'origin',
      reason: 'check failed: dead: ECONNREFUSED',
      checks: [{ bucket: 'dead', presence: 'unknown', cause: 'ECONNREFUSED' }],
    });
  });

  it('answers with the server\'s 400 for a client address the server refuses', async () => {
    const res = await get(edge.admin, `/debug/route?ip=${encodeURIComponent('fe80::1%eth0')}&path=/v2/app/blobs/${DIGEST_A}`);
    expect(JSON.parse(res.body)).toMatchObject({ status: 400, target: 'none', error: expect.stringContaining('has a zone id') });
  });
});

describe('registry-edge explain', () => {
  const dir = scratch();
  const config = writeConfig(`${dir.path}/explain.yaml`, { origin: { url: 'https://origin.example' } });
  afterAll(() => dir.cleanup());

  it.each<[string, RegExp]>([
    ['garbage', /--ip "garbage" is not a client address the server accepts: invalid X-Forwarded-For entry "garbage"/],
    ['fe80::1%eth0', /--ip "fe80::1%eth0" is not a client address the server accepts: .* has a zone id/],
    ['', /--ip "" is not a client address the server accepts/],
  ])('exits 64 with a clear message for --ip %j', async (ip, message) => {
    const { code, stdout, stderr } = await runCli(['explain', '--config', config, '--ip', ip, '--path', `/v2/a/blobs/${DIGEST_A}`]);
    expect(code).toBe(64);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });

  it('exits 0 with the explanation for an address the server accepts, whatever the answer', async () => {
    for (const path of [`/v2/a/blobs/${DIGEST_A}`, '/v2/_catalog']) {
      const { code, stdout } = await runCli(['explain', '--config', config, '--ip', '203.0.113.7', '--path', path]);
      expect(code).toBe(0);
      expect(JSON.parse(stdout).request).toEqual({ ip: '203.0.113.7', path, method: 'GET' });
    }
  });
});
