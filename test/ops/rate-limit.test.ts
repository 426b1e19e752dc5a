import { afterAll, describe, expect, it } from 'vitest';
import { LimitSwitch } from '../../src/ops/rate-limit.js';
import { EdgeMetrics } from '../../src/ops/metrics.js';
import type { AppHooks } from '../../src/server/app.js';
import { get, startEdge } from '../support/harness.js';
import { parseMetrics, scratch, startServe, value, writeConfig } from './support.js';

const MANIFEST = '/v2/app/manifests/1.0';

describe('per-client rate limits', () => {
  it('answers 429 TOOMANYREQUESTS with Retry-After past the burst, per client, and recovers on time (injected clock)', async () => {
    let now = 0;
    const hooks: AppHooks = {};
    const limits = new LimitSwitch(hooks, () => now);
    limits.apply({ per_ip_rps: 2, burst: 3, max_clients: 1000 });
    const edge = await startEdge({ origin: { url: 'https://o.example' }, client_ip: { trusted_hops: 1 } }, { hooks });
    const metrics = new EdgeMetrics({ runtime: () => edge.holder.current, rateLimitClients: () => limits.clients, version: 'test', processMetrics: false });
    hooks.onRequest = metrics.onRequest;
    try {
      const from = (ip: string) => ({ headers: { 'X-Forwarded-For': ip } });
      for (let i = 0; i < 3; i++) expect((await get(edge.url, MANIFEST, from('198.51.100.1'))).status).toBe(307);
      const limited = await get(edge.url, MANIFEST, from('198.51.100.1'));
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('1');
      expect(JSON.parse(limited.body)).toMatchObject({ errors: [{ code: 'TOOMANYREQUESTS' }] });
      expect(limited.headers.location).toBeUndefined();
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

  describe('from the config file (real clock)', () => {
    const dir = scratch();
    afterAll(() => dir.cleanup());

    it('limits.per_ip_rps: 1, burst: 2 -> two pass, then 429 until a second has passed', async () => {
      const file = writeConfig(`${dir.path}/limits.yaml`, { origin: { url: 'https://o.example' }, limits: { per_ip_rps: 1, burst: 2 } });
      const edge = await startServe(file);
      try {
        expect((await get(edge.url, MANIFEST)).status).toBe(307);
        expect((await get(edge.url, MANIFEST)).status).toBe(307);
        const limited = await get(edge.url, MANIFEST);
        expect(limited.status).toBe(429);
        expect(limited.headers['retry-after']).toBe('1');
        await new Promise((resolve) => setTimeout(resolve, 1050));
        expect((await get(edge.url, MANIFEST)).status).toBe(307);
        expect((await get(edge.url, MANIFEST)).status).toBe(429);
      } finally {
        await edge.stop();
      }
    });

    it('per_ip_rps: 0 installs no limiter at all', async () => {
      const edge = await startServe(writeConfig(`${dir.path}/nolimits.yaml`, { origin: { url: 'https://o.example' } }));
      try {
        for (let i = 0; i < 20; i++) expect((await get(edge.url, MANIFEST)).status).toBe(307);
        expect(edge.handle.running).toBeDefined();
      } finally {
        await edge.stop();
      }
    });
  });
});
