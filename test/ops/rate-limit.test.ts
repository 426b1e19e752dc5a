import { afterAll, describe, expect, it } from 'vitest';
import { EdgeMetrics } from '../../src/ops/metrics.js';
import { get, startEdge } from '../support/harness.js';
import { parseMetrics, scrape, scratch, startServe, value, writeConfig } from '../support/serve.js';

const MANIFEST = '/v2/app/manifests/1.0';

describe('per-client rate limits', () => {
  it('answers 429 TOOMANYREQUESTS with Retry-After past the burst, per client, and recovers on time (injected clock)', async () => {
    let now = 0;
    const metrics = new EdgeMetrics({ version: 'test', processMetrics: false });
    const edge = await startEdge(
      { origin: { url: 'https://o.example' }, client_ip: { trusted_hops: 1 }, limits: { per_ip_rps: 2, burst: 3, max_clients: 1000 } },
      { limiterClock: () => now, hooks: { onRequest: metrics.onRequest } },
    );
    metrics.follow(edge.holder);
    try {
      const from = (ip: string) => ({ headers: { 'X-Forwarded-For': ip } });
      for (let i = 0; i < 3; i++) expect((await get(edge.url, MANIFEST, from('198.51.100.1'))).status).toBe(307);
      const limited = await get(edge.url, MANIFEST, from('198.51.100.1'));
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('1');
      expect(JSON.parse(limited.body)).toMatchObject({ errors: [{ code: 'TOOMANYREQUESTS' }] });
      expect(limited.headers.location).toBeUndefined();
      expect(limited.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      // Another client has its own bucket.
      expect((await get(edge.url, MANIFEST, from('198.51.100.2'))).status).toBe(307);
      // 2 per second: a token every 500 ms, not a millisecond earlier.
      now = 499;
      expect((await get(edge.url, MANIFEST, from('198.51.100.1'))).status).toBe(429);
      now = 500;
      expect((await get(edge.url, MANIFEST, from('198.51.100.1'))).status).toBe(307);
      expect((await get(edge.url, MANIFEST, from('198.51.100.1'))).status).toBe(429);
      now = 60_000;
      for (let i = 0; i < 3; i++) expect((await get(edge.url, MANIFEST, from('198.51.100.1'))).status).toBe(307);

      const samples = parseMetrics((await metrics.render()).body);
      expect(value(samples, 'registry_edge_requests_total', { kind: 'rate_limited', status: '429' })).toBe(3);
      expect(value(samples, 'registry_edge_requests_total', { kind: 'manifest', status: '307' })).toBe(8);
      expect(value(samples, 'registry_edge_rate_limit_clients')).toBe(2);
      expect(edge.logs.messages('request').filter((l) => l.status === 429)).toHaveLength(3);
      // A 429 is the limiter working, not a failure: info, like every answered request.
      expect(edge.logs.messages('request').every((l) => l.level === 'info')).toBe(true);
    } finally {
      await edge.close();
    }
  });

  describe('from the config file, through serve', () => {
    const dir = scratch();
    afterAll(() => dir.cleanup());

    it('limits.per_ip_rps: 1, burst: 2 -> two pass, then 429 until a second has passed (injected clock)', async () => {
      let now = 0;
      const file = writeConfig(`${dir.path}/limits.yaml`, { origin: { url: 'https://o.example' }, limits: { per_ip_rps: 1, burst: 2 } });
      const edge = await startServe(file, 'info', { clocks: { limiterClock: () => now } });
      try {
        expect((await get(edge.url, MANIFEST)).status).toBe(307);
        expect((await get(edge.url, MANIFEST)).status).toBe(307);
        const limited = await get(edge.url, MANIFEST);
        expect(limited.status).toBe(429);
        expect(limited.headers['retry-after']).toBe('1');
        now = 999;
        expect((await get(edge.url, MANIFEST)).status).toBe(429);
        now = 1000;
        expect((await get(edge.url, MANIFEST)).status).toBe(307);
        expect((await get(edge.url, MANIFEST)).status).toBe(429);
        expect(value(await scrape(edge.admin), 'registry_edge_rate_limit_clients')).toBe(1);
      } finally {
        await edge.stop();
      }
    });

    it('per_ip_rps: 0 installs no limiter at all: the generation carries none and no client is tracked', async () => {
      const edge = await startServe(writeConfig(`${dir.path}/nolimits.yaml`, { origin: { url: 'https://o.example' } }));
      try {
        for (let i = 0; i < 20; i++) expect((await get(edge.url, MANIFEST)).status).toBe(307);
        expect(edge.handle.holder.current.limiter).toBeUndefined();
        // Any limiter, however lenient, would track this client.
        expect(value(await scrape(edge.admin), 'registry_edge_rate_limit_clients')).toBe(0);
      } finally {
        await edge.stop();
      }
    });

    it('a reload with unchanged limits keeps every client\'s bucket; changed limits start over', async () => {
      const file = writeConfig(`${dir.path}/reload-limits.yaml`, { origin: { url: 'https://o.example' }, limits: { per_ip_rps: 1, burst: 1 } });
      // Time stands still: only a reload can give the client a token back.
      const edge = await startServe(file, 'info', { clocks: { limiterClock: () => 0 } });
      try {
        expect((await get(edge.url, MANIFEST)).status).toBe(307);
        expect((await edge.handle.reload('test')).ok).toBe(true);
        expect((await get(edge.url, MANIFEST)).status).toBe(429);
        writeConfig(file, { origin: { url: 'https://o.example' }, limits: { per_ip_rps: 1, burst: 2 } });
        expect((await edge.handle.reload('test')).ok).toBe(true);
        expect((await get(edge.url, MANIFEST)).status).toBe(307);
        writeConfig(file, { origin: { url: 'https://o.example' } });
        expect((await edge.handle.reload('test')).ok).toBe(true);
        expect(edge.handle.holder.current.limiter).toBeUndefined();
      } finally {
        await edge.stop();
      }
    });
  });
});
