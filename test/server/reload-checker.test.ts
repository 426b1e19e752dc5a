import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startHttpBucket, type HttpBucket } from '../support/buckets.js';
import { get } from '../support/harness.js';
import { post, scrape, scratch, startServe, value, writeConfig, type Served } from '../support/serve.js';

/**
 * Issue 18: a reload that leaves the buckets alone keeps the existence checker (its warm cache
 * and bucket health), so it neither cold-starts the cache nor allocates a new one; a changed
 * bucket gets a fresh checker.
 */

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const BLOB = `/v2/pause/blobs/${DIGEST}`;

describe('reloads and the existence checker', () => {
  const dir = scratch('registry-edge-reload-checker-');
  let served: Served | undefined;
  let bucket: HttpBucket | undefined;

  afterEach(async () => {
    await served?.stop();
    await bucket?.close();
    served = undefined;
    bucket = undefined;
  });
  afterAll(() => dir.cleanup());

  async function start(doc: Record<string, unknown> = {}): Promise<{ served: Served; bucket: HttpBucket; config: (extra: Record<string, unknown>) => void }> {
    bucket = await startHttpBucket('b', { present: new Set([`/p/${DIGEST}`]) });
    const url = bucket.url;
    const config = (extra: Record<string, unknown>): void => {
      writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://origin.example' }, buckets: [{ name: 'b', url }], default_bucket: 'b', blobs: { key: '/p/{digest}' }, ...extra });
    };
    config(doc);
    served = await startServe(`${dir.path}/edge.yaml`, 'warn');
    return { served, bucket, config };
  }

  async function pull(url: string): Promise<unknown> {
    const res = await get(url, BLOB);
    expect(res.status).toBe(307);
    return res.headers.location;
  }

  it('a warm digest stays warm after a no-op reload and after a log-level change: no new HEAD to the bucket', async () => {
    const { served, bucket, config } = await start();
    const before = served.handle.holder.current.checker;
    expect(await pull(served.url)).toBe(`${bucket.url}/p/${DIGEST}`);
    expect(bucket.heads()).toBe(1);

    expect((await post(served.admin, '/reload')).status).toBe(200);
    config({ log: { level: 'debug' } });
    expect((await post(served.admin, '/reload')).status).toBe(200);
    expect(served.handle.holder.current.config.log.level).toBe('debug');
    expect(served.handle.holder.current.checker).toBe(before);

    expect(await pull(served.url)).toBe(`${bucket.url}/p/${DIGEST}`);
    expect(bucket.heads()).toBe(1);
    const samples = await scrape(served.admin);
    // Counted once: the carried checker is the current one, never also a retired one.
    expect(value(samples, 'registry_edge_existence_cache_hits_total')).toBe(1);
    expect(value(samples, 'registry_edge_existence_cache_misses_total')).toBe(1);
    expect(value(samples, 'registry_edge_runtime_generations')).toBeLessThanOrEqual(3);
  });

  it('a changed bucket gets a fresh checker: the next pull asks the bucket again, and the old checker is closed', async () => {
    const { served, bucket, config } = await start();
    await pull(served.url);
    const before = served.handle.holder.current.checker;
    config({ blobs: { key: '/p/{digest}', check: { ttl_s: 120 } } });
    expect((await post(served.admin, '/reload')).status).toBe(200);
    expect(served.handle.holder.current.checker).not.toBe(before);
    expect(await pull(served.url)).toBe(`${bucket.url}/p/${DIGEST}`);
    expect(bucket.heads()).toBe(2);
    await served.handle.role.started().reloader.closeRetired();
    expect(await before.check(bucket.bucket, DIGEST)).toBe('unknown');
    const samples = await scrape(served.admin);
    expect(value(samples, 'registry_edge_existence_cache_misses_total')).toBe(2);
  });

  it('a no-op reload takes little time, is timed by registry_edge_reload_duration_seconds, and holds one generation once the old one closes', async () => {
    const { served } = await start();
    await pull(served.url);
    const started = performance.now();
    expect((await post(served.admin, '/reload')).status).toBe(200);
    const ms = performance.now() - started;
    await served.handle.role.started().reloader.closeRetired();
    const samples = await scrape(served.admin);
    expect(value(samples, 'registry_edge_reload_duration_seconds_count', { result: 'success' })).toBe(1);
    const seconds = value(samples, 'registry_edge_reload_duration_seconds_sum', { result: 'success' });
    expect(seconds).toBeGreaterThan(0);
    // The build is timed inside the HTTP round trip; a no-op one re-reads one small file.
    expect(seconds * 1000).toBeLessThanOrEqual(ms);
    expect(seconds).toBeLessThan(1);
    expect(value(samples, 'registry_edge_runtime_generations')).toBe(1);
    if (process.env.REGISTRY_EDGE_MEMORY_REPORT !== undefined) console.log(JSON.stringify({ noOpReloadMs: ms, timedSeconds: seconds }));
  });

  it('GET /debug/memory names this process with its generations and heap, code and external figures', async () => {
    const { served } = await start();
    const res = await get(served.admin, '/debug/memory');
    expect(res.status).toBe(200);
    const { processes } = JSON.parse(res.body) as { processes: Array<Record<string, unknown>> };
    expect(processes).toHaveLength(1);
    const [own] = processes;
    expect(own).toMatchObject({ pid: process.pid, role: 'single', generations: 1 });
    expect(own?.heap_data_bytes).toBe((own?.heap_used_bytes as number) - (own?.heap_code_bytes as number));
    for (const field of ['heap_used_bytes', 'heap_code_bytes', 'external_bytes', 'rss_bytes', 'heap_committed_bytes']) expect(own?.[field]).toBeGreaterThan(0);
    expect(own?.collected).toBe(false);
  });

  it('with a collector (node --expose-gc), GET /debug/memory collects first and says so', async () => {
    const { served } = await start();
    // The real collector, as --expose-gc would install it, taken from a fresh context.
    setFlagsFromString('--expose-gc');
    const holder = globalThis as { gc?: () => void };
    holder.gc = runInNewContext('gc') as () => void;
    try {
      const res = await get(served.admin, '/debug/memory');
      const { processes } = JSON.parse(res.body) as { processes: Array<Record<string, unknown>> };
      expect(processes[0]).toMatchObject({ role: 'single', collected: true, generations: 1 });
    } finally {
      delete holder.gc;
    }
  });
});
