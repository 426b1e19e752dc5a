import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import autocannon from 'autocannon';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { buildRuntime } from '../../src/server/build.js';
import { RuntimeHolder, type Runtime } from '../../src/server/runtime.js';
import { ConfigSource, Reloader } from '../../src/ops/reload.js';
import { spawnServe } from '../support/cli.js';
import { DIGEST_A, get, LogCapture } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { post, scrape, scratch, startServe, value, writeConfig, type Served } from '../support/serve.js';
import { until } from '../support/wait.js';

const KEY = '/containers/images/';
const MANIFEST = '/v2/app/manifests/1.0';
const BLOB = `/v2/app/blobs/${DIGEST_A}`;

describe('reload without downtime', () => {
  const dir = scratch();
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => dir.cleanup());

  async function edgeWith(name: string, doc: Record<string, unknown>, level: 'info' | 'warn' = 'info'): Promise<{ edge: Served; file: string }> {
    const file = writeConfig(`${dir.path}/${name}.yaml`, doc);
    const edge = await startServe(file, level);
    cleanups.push(() => edge.stop());
    return { edge, file };
  }

  async function bucketWith(objects: string[], delayMs = 0): Promise<BucketServer> {
    const bucket = await startBucket(objects, (req, res) => {
      if (delayMs === 0 || req.method !== 'HEAD') return false;
      setTimeout(() => {
        res.writeHead(objects.includes(req.url ?? '') ? 200 : 404, { 'Content-Length': '0' });
        res.end();
      }, delayMs);
      return true;
    });
    cleanups.push(() => bucket.close());
    return bucket;
  }

  it('swaps the origin under load with zero failed requests (autocannon, 3 s)', async () => {
    const bucket = await bucketWith([`${KEY}${DIGEST_A}`]);
    const lab = { name: 'lab', url: bucket.url, networks: ['127.0.0.0/8'] };
    const { edge, file } = await edgeWith('load', { origin: { url: 'https://old.example' }, buckets: [lab], log: { level: 'warn' } }, 'warn');
    const locations = new Map<string, number>();
    const statuses = new Map<number, number>();
    const onResponse = (status: number, _body: string, _ctx: unknown, headers: Record<string, string | string[]>): void => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const location = String(headers.location ?? headers.Location ?? '');
      const host = /^https?:\/\/[^/]+/.exec(location)?.[0] ?? 'none';
      locations.set(host, (locations.get(host) ?? 0) + 1);
    };
    const load = autocannon({
      url: edge.url,
      connections: 4,
      duration: 3,
      timeout: 2,
      requests: [
        { path: MANIFEST, onResponse },
        { path: BLOB, onResponse },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    writeConfig(file, { origin: { url: 'https://new.example' }, buckets: [lab], log: { level: 'warn' } });
    const reload = await post(edge.admin, '/reload');
    expect(reload.status).toBe(200);
    expect(JSON.parse(reload.body)).toMatchObject({ ok: true, restart_needed: [] });
    const result = await load;

    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect([...statuses.keys()]).toEqual([307]);
    expect(locations.get('https://old.example')).toBeGreaterThan(100);
    expect(locations.get('https://new.example')).toBeGreaterThan(100);
    expect(locations.get(bucket.url)).toBeGreaterThan(100);
    expect((await get(edge.url, MANIFEST)).headers.location).toBe(`https://new.example/v2/app/manifests/1.0`);
    const samples = await scrape(edge.admin);
    expect(value(samples, 'registry_edge_reloads_total', { result: 'success' })).toBe(1);
    // autocannon drops the answers still in flight when its time is up, so the server saw at least as many.
    const seen = [...statuses.values()].reduce((a, b) => a + b, 0) + 1;
    const counted = value(samples, 'registry_edge_requests_total', { kind: 'manifest' }) + value(samples, 'registry_edge_requests_total', { kind: 'blob' });
    expect(counted).toBeGreaterThanOrEqual(seen);
    expect(counted).toBeLessThanOrEqual(seen + 8);
  });

  it('keeps the running state when the new config is invalid, and counts and logs the failure', async () => {
    const { edge, file } = await edgeWith('invalid', { origin: { url: 'https://kept.example' } });
    writeConfig(file, { origin: { url: 'ftp://nope' } });
    const reload = await post(edge.admin, '/reload');
    expect(reload.status).toBe(422);
    expect(JSON.parse(reload.body)).toMatchObject({ ok: false, error: expect.stringContaining('origin.url') });
    expect((await get(edge.url, MANIFEST)).headers.location).toBe('https://kept.example/v2/app/manifests/1.0');
    const samples = await scrape(edge.admin);
    expect(value(samples, 'registry_edge_reloads_total', { result: 'failure' })).toBe(1);
    expect(value(samples, 'registry_edge_reloads_total', { result: 'success' })).toBe(0);
    expect(edge.logs.messages('reload failed; the running configuration stays')[0]).toMatchObject({ level: 'error', error: expect.stringContaining('origin.url') });
  });

  it('keeps the running state when a data file the config names is broken', async () => {
    const { edge, file } = await edgeWith('broken-data', { origin: { url: 'https://kept.example' } });
    writeConfig(file, { origin: { url: 'https://other.example' }, blobs: { inventory: `${dir.path}/missing-inventory.txt` } });
    expect((await post(edge.admin, '/reload')).status).toBe(422);
    expect((await get(edge.url, MANIFEST)).headers.location).toBe('https://kept.example/v2/app/manifests/1.0');
  });

  it('warns that listener settings need a restart and applies everything else (log level included)', async () => {
    const { edge, file } = await edgeWith('listen', { origin: { url: 'https://a.example' } });
    await get(edge.url, MANIFEST);
    expect(edge.logs.messages('request')).toHaveLength(1);
    writeConfig(file, { origin: { url: 'https://b.example' }, listen: { host: '127.0.0.1', port: 1, shutdown_timeout_ms: 1000 }, log: { level: 'warn' } });
    const report = JSON.parse((await post(edge.admin, '/reload')).body);
    expect(report).toMatchObject({ ok: true, restart_needed: ['listen.port'] });
    expect(edge.logs.messages('reload: these settings only change on restart; the running values stay')[0]).toMatchObject({
      level: 'warn',
      fields: ['listen.port'],
    });
    expect((await get(edge.url, MANIFEST)).headers.location).toBe('https://b.example/v2/app/manifests/1.0');
    expect(edge.handle.holder.current.config.listen.port).toBe(0);
    // log.level: warn now: successful requests are no longer logged.
    expect(edge.logs.messages('request')).toHaveLength(1);
  });

  it('lets a request that started on the old runtime finish on it', async () => {
    const slow = await bucketWith([`${KEY}${DIGEST_A}`], 300);
    const other = await bucketWith([`${KEY}${DIGEST_A}`]);
    const doc = (url: string) => ({ origin: { url: 'https://o.example' }, buckets: [{ name: 'lab', url, networks: ['127.0.0.0/8'] }], blobs: { check: { timeout_ms: 2000 } } });
    const { edge, file } = await edgeWith('inflight', doc(slow.url));
    const inflight = get(edge.url, BLOB);
    await until('the HEAD to reach the slow bucket', () => slow.heads() > 0);
    writeConfig(file, doc(other.url));
    expect((await post(edge.admin, '/reload')).status).toBe(200);
    // The old checker is still open: the slow HEAD completes and the request goes to the old bucket.
    expect((await inflight).headers.location).toBe(`${slow.url}${KEY}${DIGEST_A}`);
    expect((await get(edge.url, BLOB)).headers.location).toBe(`${other.url}${KEY}${DIGEST_A}`);
  });

  it('/readyz turns 503 while draining; the admin port stays up until the drain ends', async () => {
    const slow = await bucketWith([`${KEY}${DIGEST_A}`], 400);
    const { edge } = await edgeWith('drain', { origin: { url: 'https://o.example' }, buckets: [{ name: 'lab', url: slow.url, networks: ['127.0.0.0/8'] }] });
    expect((await get(edge.admin, '/readyz')).status).toBe(200);
    const inflight = get(edge.url, BLOB);
    await until('the HEAD to reach the slow bucket', () => slow.heads() > 0);
    const stopping = edge.stop();
    const ready = await get(edge.admin, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: false, reason: 'draining' });
    expect((await get(edge.admin, '/healthz')).status).toBe(200);
    expect((await inflight).status).toBe(307);
    await stopping;
    await expect(get(edge.admin, '/healthz')).rejects.toThrow();
  });
});

describe('SIGHUP (the built binary; run "npm run build" first)', () => {
  it('reloads the config file and logs the outcome', async () => {
    const dir = scratch();
    const file = writeConfig(`${dir.path}/hup.yaml`, { origin: { url: 'https://before.example' } });
    const edge = await spawnServe(['--config', file]);
    try {
      const url = `http://127.0.0.1:${edge.port}`;
      expect(edge.lines.find((l) => l.msg === 'listening')).toMatchObject({ admin_port: expect.any(Number) });
      writeConfig(file, { origin: { url: 'https://after.example' } });
      edge.child.kill('SIGHUP');
      expect(await until('the reloaded line', () => edge.lines.find((l) => l.msg === 'reloaded'))).toMatchObject({ reason: 'SIGHUP', config: file });
      expect((await get(url, MANIFEST)).headers.location).toBe(`https://after.example${MANIFEST}`);
      expect(await edge.stop('SIGTERM')).toBe(0);
    } finally {
      await edge.stop('SIGKILL');
      dir.cleanup();
    }
  });
});

describe('Reloader', () => {
  it('closes a replaced runtime as soon as no request holds it, and one still held after its grace period', async () => {
    const dir = scratch();
    const file = writeConfig(`${dir.path}/r.yaml`, { origin: { url: 'https://a.example' } });
    const logger = createLogger('warn', new LogCapture());
    const first = await buildRuntime({ config: validateConfig({ origin: { url: 'https://a.example' } }, 'x'), source: 'x' }, logger);
    const holder = new RuntimeHolder(first);
    const closed: Runtime[] = [];
    const reloader = new Reloader({
      config: await ConfigSource.open(file, {}),
      holder,
      logger,
      build: (loaded) => buildRuntime(loaded, logger),
      onClosed: (rt) => closed.push(rt),
      graceMs: () => 200,
    });
    // The grace period is a timer: the test moves time instead of waiting for it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // A request waiting on an existence HEAD holds the first generation; nothing holds the second.
      first.hold();
      const [a, b] = await Promise.all([reloader.reload('test'), reloader.reload('test')]);
      expect(a.ok && b.ok).toBe(true);
      await vi.advanceTimersByTimeAsync(0);
      const second = closed[0];
      expect(closed).toHaveLength(1);
      expect(second).not.toBe(first);
      expect(reloader.retired).toBe(1);
      await vi.advanceTimersByTimeAsync(199);
      expect(closed).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(closed).toEqual([second, first]);
      expect(reloader.retired).toBe(0);

      // Held and answered before the grace period ends: closed when the answer is out.
      const third = holder.current;
      third.hold();
      await reloader.reload('test');
      await vi.advanceTimersByTimeAsync(50);
      expect(closed).toHaveLength(2);
      third.unhold();
      await vi.advanceTimersByTimeAsync(0);
      expect(closed[2]).toBe(third);
    } finally {
      vi.useRealTimers();
      await holder.current.close();
      dir.cleanup();
    }
  });
});
