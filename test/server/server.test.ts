import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { DIGEST_512, DIGEST_A, DIGEST_B, get, startEdge, type EdgeUnderTest } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';

const KEY = '/containers/images/';
const COSIGN = `sha256-${'f'.repeat(64)}.att`;

describe('public listener, end to end over HTTP', () => {
  let bucket: BucketServer;
  let broken: BucketServer;
  let edge: EdgeUnderTest;

  beforeAll(async () => {
    bucket = await startBucket([`${KEY}${DIGEST_A}`, `${KEY}${DIGEST_512}`]);
    broken = await startBucket([], (_req, res) => {
      res.writeHead(500, { 'Content-Length': '0' });
      res.end();
      return true;
    });
    edge = await startEdge({
      origin: { url: 'https://origin.example', path: 'k8s/images' },
      signatures: { url: 'https://sigs.example' },
      info_url: 'https://info.example/',
      privacy_url: 'https://privacy.example/',
      buckets: [
        { name: 'lab', url: bucket.url, networks: ['127.0.0.0/8', '::1/128'] },
        { name: 'broken', url: broken.url, networks: ['127.0.0.2/32'] },
      ],
      blobs: { candidates: 1, check: { timeout_ms: 500 } },
    });
  });
  afterAll(async () => {
    await edge?.close();
    await bucket?.close();
    await broken?.close();
  });

  it.each<[string, number, string | undefined]>([
    ['/', 307, 'https://info.example/'],
    ['/privacy', 307, 'https://privacy.example/'],
    ['/v2/pause/manifests/3.9', 307, 'https://origin.example/v2/k8s/images/pause/manifests/3.9'],
    ['/v2/library/app/manifests/latest', 307, 'https://origin.example/v2/k8s/images/library/app/manifests/latest'],
    [`/v2/library/app/manifests/${DIGEST_B}`, 307, `https://origin.example/v2/k8s/images/library/app/manifests/${DIGEST_B}`],
    [`/v2/pause/manifests/${COSIGN}`, 307, `https://sigs.example/v2/k8s/images/pause/manifests/${COSIGN}`],
    ['/v2/pause/tags/list?n=1&last=3.8', 307, 'https://origin.example/v2/k8s/images/pause/tags/list?n=1&last=3.8'],
    [`/v2/pause/referrers/${DIGEST_B}?artifactType=application%2Fspdx%2Bjson`, 307, `https://origin.example/v2/k8s/images/pause/referrers/${DIGEST_B}?artifactType=application%2Fspdx%2Bjson`],
    [`/v2/library/app/blobs/${DIGEST_A}`, 307, `BUCKET${KEY}${DIGEST_A}`],
    ['/v2/a/../b/manifests/x', 400, undefined],
    ['/v2/%2e%2e/x/manifests/y', 400, undefined],
    ['/nothing-here', 404, undefined],
  ])('GET %s -> %i', async (path, status, location) => {
    const res = await get(edge.url, path);
    expect(res.status).toBe(status);
    // The bucket's URL is only known once it has started.
    expect(res.headers.location).toBe(location?.replace('BUCKET', bucket.url));
    if (status === 307) expect(res.body).toBe('');
  });

  it('answers the ping with 200, the API version header, no auth challenge and no body; HEAD too', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const path of ['/v2/', '/v2']) {
        const res = await get(edge.url, path, { method });
        expect(res.status).toBe(200);
        expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
        expect(res.headers['www-authenticate']).toBeUndefined();
        expect(res.body).toBe('');
      }
    }
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await get(edge.url, '/v2/pause/manifests/3.9', { method: 'HEAD' });
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe('https://origin.example/v2/k8s/images/pause/manifests/3.9');
    const bad = await get(edge.url, '/v2/_catalog', { method: 'HEAD' });
    expect(bad.status).toBe(404);
    expect(bad.body).toBe('');
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])('refuses %s with 405, Allow and an OCI error', async (method) => {
    const res = await get(edge.url, '/v2/pause/manifests/3.9', { method });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(res.body).errors[0].code).toBe('UNSUPPORTED');
  });

  it.each<[string, number, string]>([
    ['/v2/_catalog', 404, 'UNSUPPORTED'],
    ['/v2/pause/blobs/uploads/', 404, 'UNSUPPORTED'],
    ['/v2/pause/unknown/thing', 404, 'UNSUPPORTED'],
    ['/v2/Pause/manifests/3.9', 400, 'NAME_INVALID'],
    ['/v2/pause/manifests/-bad', 400, 'MANIFEST_INVALID'],
    ['/v2/pause/blobs/sha256:1234', 400, 'DIGEST_INVALID'],
    [`/v2/pause/blobs/md5:${'a'.repeat(32)}`, 400, 'DIGEST_INVALID'],
  ])('%s -> %i with an OCI error body %s', async (path, status, code) => {
    const res = await get(edge.url, path);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const body = JSON.parse(res.body);
    expect(body.errors[0].code).toBe(code);
    expect(body.errors[0].message.length).toBeGreaterThan(10);
  });

  it('checks a blob once, then answers from the cache; sha512 works too', async () => {
    const before = bucket.heads(`${KEY}${DIGEST_512}`);
    for (let i = 0; i < 3; i++) {
      const res = await get(edge.url, `/v2/pause/blobs/${DIGEST_512}`);
      expect(res.status).toBe(307);
      expect(res.headers.location).toBe(`${bucket.url}${KEY}${DIGEST_512}`);
    }
    expect(bucket.heads(`${KEY}${DIGEST_512}`) - before).toBe(1);
  });

  it('sends a blob the bucket lacks to the origin, and logs why', async () => {
    const res = await get(edge.url, `/v2/library/app/blobs/${DIGEST_B}`);
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`https://origin.example/v2/k8s/images/library/app/blobs/${DIGEST_B}`);
    expect(bucket.heads(`${KEY}${DIGEST_B}`)).toBe(1);
    expect(edge.logs.messages('request').findLast((l) => l.route === 'blob')).toMatchObject({ target: 'origin', reason: 'absent in every candidate' });
  });

  it('falls back to the origin when the bucket answers 500', async () => {
    // 127.0.0.2 matches only the broken bucket's network (a /32 listed after lab's /8, so lab is tried first
    // with candidates 1): use a dedicated edge whose only network bucket is the broken one.
    const only = await startEdge({ origin: { url: 'https://origin.example' }, buckets: [{ name: 'broken', url: broken.url, networks: ['127.0.0.0/8'] }] });
    try {
      const res = await get(only.url, `/v2/x/blobs/${DIGEST_A}`);
      expect(res.headers.location).toBe(`https://origin.example/v2/x/blobs/${DIGEST_A}`);
      expect(broken.heads()).toBeGreaterThan(0);
      expect(only.logs.messages('request')[0]).toMatchObject({ route: 'blob', target: 'origin', reason: 'check failed: broken: status 500' });
    } finally {
      await only.close();
    }
  });

  // The line is written before the response is sent, so it is there once the client has the answer.
  it('logs one line per request with route, status, target and a truncated client address', async () => {
    await get(edge.url, `/v2/library/app/blobs/${DIGEST_A}`);
    const line = edge.logs.messages('request').findLast((l) => l.route === 'blob');
    expect(line).toMatchObject({ level: 'info', method: 'GET', status: 307, target: 'lab', bucket: 'lab', client_ip: '127.0.0.0' });
    expect(typeof line?.ms).toBe('number');
    // A blob served by a bucket needs no reason; only a fall back to the origin has one.
    expect(line).not.toHaveProperty('reason');
  });

  it('keeps connections alive and never sends a body with a redirect', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(edge.port, '127.0.0.1');
      let data = '';
      socket.on('data', (d) => {
        data += d.toString();
        if ((data.match(/HTTP\/1\.1 307/g) ?? []).length === 2) {
          socket.end();
          resolve(data);
        }
      });
      socket.on('error', reject);
      socket.write('GET /v2/a/manifests/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/b/manifests/2 HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(raw.toLowerCase()).toContain('location: https://origin.example/v2/k8s/images/a/manifests/1');
    expect(raw.toLowerCase()).toContain('location: https://origin.example/v2/k8s/images/b/manifests/2');
    expect(raw).toMatch(/Content-Length: 0/i);
  });
});

describe('client address behind proxies (client_ip.trusted_hops)', () => {
  let bucket: BucketServer;
  let edge: EdgeUnderTest;
  beforeAll(async () => {
    bucket = await startBucket([`${KEY}${DIGEST_A}`]);
    edge = await startEdge({
      origin: { url: 'https://origin.example' },
      client_ip: { trusted_hops: 2 },
      log: { client_ip: 'full' },
      buckets: [{ name: 'office', url: bucket.url, networks: ['192.0.2.0/24', '2001:db8::/32'] }],
    });
  });
  afterAll(async () => {
    await edge?.close();
    await bucket?.close();
  });

  it.each<[string, string]>([
    ['198.51.100.1, 192.0.2.9, 10.0.0.1', `BUCKET${KEY}${DIGEST_A}`],
    ['192.0.2.9, 198.51.100.1, 10.0.0.1', `https://origin.example/v2/x/blobs/${DIGEST_A}`],
    ['[2001:db8::5]:443, 10.0.0.1', `BUCKET${KEY}${DIGEST_A}`],
    ['::ffff:192.0.2.1, 10.0.0.1', `BUCKET${KEY}${DIGEST_A}`],
  ])('X-Forwarded-For %s', async (xff, location) => {
    const res = await get(edge.url, `/v2/x/blobs/${DIGEST_A}`, { headers: { 'X-Forwarded-For': xff } });
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(location.replace('BUCKET', bucket.url));
  });

  it.each<[string | undefined, RegExp]>([
    [undefined, /X-Forwarded-For is required/],
    ['192.0.2.9', /fewer than client_ip.trusted_hops/],
    ['garbage, 10.0.0.1', /invalid X-Forwarded-For entry "garbage"/],
    ['fe80::1%eth0, 10.0.0.1', /zone id/],
  ])('refuses a blob request with X-Forwarded-For %j with 400 and a clear message', async (xff, message) => {
    const res = await get(edge.url, `/v2/x/blobs/${DIGEST_A}`, { headers: xff === undefined ? {} : { 'X-Forwarded-For': xff } });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).errors[0].message).toMatch(message);
  });

  it('does not need the client address for manifests', async () => {
    const res = await get(edge.url, '/v2/x/manifests/1');
    expect(res.status).toBe(307);
  });

  it('logs the full address when asked to', async () => {
    await get(edge.url, `/v2/x/blobs/${DIGEST_A}`, { headers: { 'X-Forwarded-For': '2001:db8::5, 10.0.0.1' } });
    expect(edge.logs.messages('request').findLast((l) => l.route === 'blob')?.client_ip).toBe('2001:db8::5');
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight request finish and refuses new connections', async () => {
    const slow = await startBucket([], (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'Content-Length': '0' });
        res.end();
      }, 300);
      return true;
    });
    const edge = await startEdge({ origin: { url: 'https://o.example' }, buckets: [{ name: 'slow', url: slow.url, networks: ['127.0.0.0/8'] }] });
    try {
      const inflight = get(edge.url, `/v2/x/blobs/${DIGEST_A}`);
      await new Promise((r) => setTimeout(r, 100));
      const stopped = edge.running.shutdown();
      expect(edge.running.draining).toBe(true);
      const res = await inflight;
      expect(res.status).toBe(307);
      expect(res.headers.location).toBe(`${slow.url}${KEY}${DIGEST_A}`);
      expect(res.headers.connection).toBe('close');
      await stopped;
      await expect(get(edge.url, '/v2/')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await edge.close();
      await slow.close();
    }
  });
});

describe('forwardedFor', () => {
  it('joins every X-Forwarded-For line, whatever its case, like node does', async () => {
    const { forwardedFor } = await import('../../src/net/forwarded.js');
    expect(forwardedFor(['Host', 'x', 'X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2', 'X-Forwarded-Forx', '3.3.3.3', 'X-FORWARDED-for', '4.4.4.4'])).toBe('1.1.1.1, 2.2.2.2, 4.4.4.4');
    expect(forwardedFor(['Host', 'x'])).toBeUndefined();
  });
});

describe('remembered X-Forwarded-For values', () => {
  it('answer repeat clients the same, and follow a reload that changes trusted_hops', async () => {
    const { validateConfig } = await import('../../src/config/load.js');
    const { buildRuntime } = await import('../../src/server/build.js');
    const bucket = await startBucket([`/containers/images/${DIGEST_A}`]);
    const doc = {
      origin: { url: 'https://origin.example' },
      geo: { ranges: '/nonexistent/ranges.mmdb' },
      buckets: [{ name: 'office', url: bucket.url, networks: ['192.0.2.0/24'] }],
    };
    const edge = await startEdge({ ...doc, client_ip: { trusted_hops: 1 } });
    try {
      const header = { 'X-Forwarded-For': '192.0.2.5, 198.51.100.9' };
      for (let i = 0; i < 2; i++) {
        // One hop: the client is 198.51.100.9, outside the office network.
        expect((await get(edge.url, `/v2/x/blobs/${DIGEST_A}`, { headers: header })).headers.location).toBe(`https://origin.example/v2/x/blobs/${DIGEST_A}`);
      }
      const config = validateConfig({ ...doc, listen: { host: '127.0.0.1', port: 0 }, client_ip: { trusted_hops: 2 } }, 'reload');
      const previous = edge.holder.swap(await buildRuntime({ config, source: 'reload' }, edge.logger));
      await previous.close();
      // Two hops: the same header now names 192.0.2.5, inside it.
      expect((await get(edge.url, `/v2/x/blobs/${DIGEST_A}`, { headers: header })).headers.location).toBe(`${bucket.url}/containers/images/${DIGEST_A}`);
    } finally {
      await edge.close();
      await bucket.close();
    }
  });
});
