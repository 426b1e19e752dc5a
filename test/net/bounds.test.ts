import { describe, expect, it } from 'vitest';
import { BoundedMemo, detached, stringBytes } from '../../src/cache-figures.js';
import { ForwardedMemo, MAX_REMEMBERED_HEADER } from '../../src/net/forwarded.js';
import { resolveClientIp } from '../../src/net/client-ip.js';
import { AnswerCache, DIGEST_ENTRY_BYTES } from '../../src/blobs/answers.js';
import { CLIENT_ENTRY_BYTES, RateLimiter } from '../../src/ops/rate-limit.js';
import { EdgeMetrics } from '../../src/ops/metrics.js';
import { get, startEdge } from '../support/harness.js';
import { parseMetrics, value } from '../support/serve.js';

const sha256 = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
const sha512 = (i: number) => `sha512:${i.toString(16).padStart(128, '0')}`;

describe('BoundedMemo', () => {
  it('starts over when the next entry would pass its entry bound', () => {
    const memo = new BoundedMemo<number>(3, 1_000_000, () => 0);
    for (let i = 0; i < 4; i++) memo.set(`k${i}`, i);
    expect(memo.size).toBe(1);
    expect(memo.get('k3')).toBe(3);
    expect(memo.get('k0')).toBeUndefined();
  });

  it('starts over when the next entry would pass its byte bound, and never stores a value bigger than the budget', () => {
    const memo = new BoundedMemo<string>(1000, 1000, (text) => stringBytes(text));
    memo.set('big', 'x'.repeat(1000));
    expect(memo.figures()).toEqual({ entries: 0, bytes: 0, maxEntries: 1000, maxBytes: 1000 });
    for (let i = 0; i < 20; i++) memo.set(`k${i}`, 'v'.repeat(100));
    const figures = memo.figures();
    expect(figures.bytes).toBeLessThanOrEqual(1000);
    expect(figures.entries).toBeGreaterThan(0);
    expect(figures.entries).toBeLessThan(20);
    memo.clear();
    expect(memo.figures().bytes).toBe(0);
  });

  it('detached copies keep the text', () => {
    const header = `${'9'.repeat(5000)}, 203.0.113.200`;
    const cut = header.slice(header.length - 13);
    expect(detached(cut)).toBe('203.0.113.200');
    expect(detached('1.2.3.4')).toBe('1.2.3.4');
  });
});

describe('ForwardedMemo', () => {
  it(`remembers headers up to ${MAX_REMEMBERED_HEADER} characters and parses longer ones every time, from the right`, () => {
    const memo = new ForwardedMemo(1);
    expect(memo.resolve('198.51.100.7, 10.0.0.1')).toEqual({ ok: true, ip: '10.0.0.1', family: 'ipv4' });
    expect(memo.resolve('198.51.100.7, 10.0.0.1')).toEqual({ ok: true, ip: '10.0.0.1', family: 'ipv4' });
    expect(memo.figures().entries).toBe(1);
    const long = `${'1.1.1.1, '.repeat(1500)}203.0.113.200`;
    expect(memo.resolve(long)).toEqual({ ok: true, ip: '203.0.113.200', family: 'ipv4' });
    expect(memo.figures().entries).toBe(1);
    expect(memo.resolve(undefined)).toMatchObject({ ok: false });
  });

  it('answers a request without X-Forwarded-For as resolveClientIp does, whatever the peer, and remembers nothing for it', () => {
    for (const hops of [1, 2]) {
      const memo = new ForwardedMemo(hops);
      for (const peer of ['10.0.0.1', '::1', undefined]) {
        expect(memo.resolve(undefined)).toEqual(resolveClientIp(peer, undefined, hops));
      }
      expect(memo.figures().entries).toBe(0);
    }
  });
});

describe('AnswerCache', () => {
  it('holds at most max_entries sha256 digests, and fewer sha512 ones, within its byte bound', () => {
    const cache = new AnswerCache(100);
    for (let i = 0; i < 150; i++) cache.set('a', sha256(i), 'present', 10);
    expect(cache.figures()).toMatchObject({ entries: 100, maxEntries: 100, maxBytes: 100 * DIGEST_ENTRY_BYTES });
    expect(cache.figures().bytes).toBeLessThanOrEqual(100 * DIGEST_ENTRY_BYTES);
    cache.clear();
    for (let i = 0; i < 150; i++) cache.set('a', sha512(i), 'present', 10);
    expect(cache.figures().entries).toBeLessThan(100);
    expect(cache.figures().bytes).toBeLessThanOrEqual(100 * DIGEST_ENTRY_BYTES);
  });

  it('takes memory as answers arrive, not max_entries slots at the first one', () => {
    // Slots for a million entries would be 36 MB (24 of heap arrays, 12 of typed arrays).
    const before = process.memoryUsage();
    const cache = new AnswerCache(1_000_000);
    cache.set('a', sha256(1), 'present', 10);
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(grown).toBeLessThan(4 * 1024 * 1024);
    expect(cache.get('a', sha256(1), 0)).toBe('present');
  });

  it('charges a digest for each bucket that answered for it', () => {
    const cache = new AnswerCache(10);
    cache.set('a', sha256(1), 'present', 10);
    const one = cache.figures().bytes;
    cache.set('b', sha256(1), 'absent', 10);
    expect(cache.figures().bytes).toBeGreaterThan(one);
    expect(cache.get('a', sha256(1), 0)).toBe('present');
    expect(cache.get('b', sha256(1), 0)).toBe('absent');
  });
});

describe('RateLimiter table', () => {
  it('is bounded in bytes as in clients, the longest keys included', () => {
    const limiter = new RateLimiter({ per_ip_rps: 1, burst: 1, max_clients: 50 }, () => 0);
    for (let i = 0; i < 80; i++) limiter.wait(`2001:db8:${i.toString(16)}:ffff::1`);
    const figures = limiter.figures();
    expect(figures).toMatchObject({ entries: 50, maxEntries: 50, maxBytes: 50 * CLIENT_ENTRY_BYTES });
    expect(figures.bytes).toBeLessThanOrEqual(figures.maxBytes);
  });
});

describe('registry_edge_cache_* metrics', () => {
  it('export entries, bytes and both bounds of every request-path cache, read at scrape time', async () => {
    const metrics = new EdgeMetrics({ version: 'test', processMetrics: false });
    const edge = await startEdge({ origin: { url: 'https://o.example' }, client_ip: { trusted_hops: 1 }, limits: { per_ip_rps: 100, max_clients: 1000 } });
    metrics.follow(edge.holder);
    try {
      expect((await get(edge.url, '/v2/app/manifests/1', { headers: { 'X-Forwarded-For': '198.51.100.1' } })).status).toBe(307);
      const samples = parseMetrics(await metrics.registry.metrics());
      for (const cache of ['forwarded_for', 'recent_clients', 'candidates', 'network_groups', 'rate_limit', 'existence']) {
        expect(value(samples, 'registry_edge_cache_max_entries', { cache })).toBeGreaterThan(0);
        expect(value(samples, 'registry_edge_cache_max_bytes', { cache })).toBeGreaterThan(0);
        expect(value(samples, 'registry_edge_cache_bytes', { cache })).toBeLessThanOrEqual(value(samples, 'registry_edge_cache_max_bytes', { cache }));
      }
      expect(value(samples, 'registry_edge_cache_entries', { cache: 'forwarded_for' })).toBe(1);
      expect(value(samples, 'registry_edge_cache_entries', { cache: 'rate_limit' })).toBe(1);
      expect(value(samples, 'registry_edge_cache_max_entries', { cache: 'rate_limit' })).toBe(1000);
    } finally {
      await edge.close();
    }
  });
});
