import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CLI, spawnServe, type Spawned } from '../support/cli.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { flood, floodSize, randomDigest } from '../support/flood.js';
import { get } from '../support/harness.js';
import { scratch, writeConfig } from '../support/serve.js';
import { until } from '../support/wait.js';

/*
 * Memory amplification: for each request-path cache, the input that fills it fastest, sent to
 * the built binary started with --expose-gc. A preloaded probe collects garbage and reports the
 * heap on SIGUSR2, so what is asserted is retained memory, the thing that gets a pod killed.
 */
const PROBE = join(import.meta.dirname, '..', 'support', 'heap-probe.mjs');
const MiB = 1024 * 1024;
const CHAINS = floodSize(10_000);
// The case is 120,000 digests against the default bound of 100,000 (HOSTILE_FLOOD=120000);
// by default the same 1.2x overflow at an eighth of the size, since every entry costs the same.
const DIGESTS = floodSize(15_000);
const MAX_DIGESTS = Math.round(DIGESTS / 1.2);
const DIGEST = `sha256:${'a'.repeat(64)}`;

/** A ~14 KB chain, different for every `i`, whose last entry (the one our proxy wrote) is a distinct address. */
function chain(i: number): string {
  const padding = Array.from({ length: 1000 }, (_, k) => `10.${k & 255}.${i & 255}.${(i >> 8) & 255}`).join(', ');
  return `${padding}, ${i}.${i}.${i}.${i}x, 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

let bucket: BucketServer;
let edge: Spawned;
let admin: string;
let url: string;
const dir = scratch('registry-edge-memory-');

async function retainedHeap(): Promise<number> {
  const before = edge.lines.length;
  edge.child.kill('SIGUSR2');
  const line = await until('the heap probe line', () => edge.lines.slice(before).find((l) => l.msg === 'heap probe'));
  return line.heapUsed as number;
}

/** `registry_edge_cache_<what>{cache="<cache>"}` as the admin listener exports it now. */
async function cacheFigure(what: 'entries' | 'bytes' | 'max_entries' | 'max_bytes', cache: string): Promise<number> {
  const text = (await get(admin, '/metrics')).body;
  const match = new RegExp(`^registry_edge_cache_${what}\\{cache="${cache}"\\} (\\S+)$`, 'm').exec(text);
  if (match === null) throw new Error(`registry_edge_cache_${what}{cache="${cache}"} is not exported`);
  return Number(match[1]);
}

beforeAll(async () => {
  bucket = await startBucket([]);
  const file = writeConfig(join(dir.path, 'memory.yaml'), {
    origin: { url: 'https://origin.example' },
    log: { level: 'error' },
    client_ip: { trusted_hops: 1 },
    limits: { per_ip_rps: 100_000 },
    buckets: [{ name: 'lab', url: bucket.url, networks: ['10.0.0.0/8', '127.0.0.0/8'] }],
    blobs: { check: { max_inflight: 256, max_entries: MAX_DIGESTS } },
  });
  edge = await spawnServe(['--config', file], {}, ['--expose-gc', '--import', PROBE]);
  url = `http://127.0.0.1:${edge.port}`;
  const listening = edge.lines.find((l) => l.msg === 'listening');
  admin = `http://127.0.0.1:${listening?.admin_port as number}`;
}, 20_000);

afterAll(async () => {
  await edge?.stop('SIGKILL');
  await bucket?.close();
  dir.cleanup();
});

describe(`memory amplification (the built binary at ${CLI}, run "npm run build" first)`, () => {
  it(`${CHAINS} requests with distinct 14 KB X-Forwarded-For chains behind trusted_hops 1 retain at most 8 MB`, async () => {
    const send = (amount: number, offset: number) =>
      flood(url, { amount, connections: 16, next: (i) => ({ path: `/v2/lab/blobs/${DIGEST}`, headers: { 'X-Forwarded-For': chain(offset + i) } }) });
    // Warm-up (the JIT, the connections, the one existence answer) without a single header
    // remembered, so the measured requests alone could fill a 10,000-header memo.
    await flood(url, { amount: 500, connections: 16, next: () => ({ path: `/v2/lab/blobs/${DIGEST}` }) });
    const start = await retainedHeap();
    const report = await send(CHAINS, 0);
    const growth = (await retainedHeap()) - start;

    expect(report.errors).toBe(0);
    expect(report.statuses.get(307)).toBe(CHAINS);
    // Before the bound: +142 MB here, every header remembered whole.
    expect(growth).toBeLessThanOrEqual(8 * MiB);
    // Long headers are never remembered; the distinct addresses fill only the fixed-size memos.
    expect(await cacheFigure('entries', 'forwarded_for')).toBe(0);
    expect(await cacheFigure('entries', 'recent_clients')).toBeGreaterThan(0);
    expect(await cacheFigure('entries', 'rate_limit')).toBeGreaterThan(0);
  }, 60_000);

  it(`${DIGESTS} distinct digests keep the heap within the existence cache's byte bound`, async () => {
    const maxBytes = await cacheFigure('max_bytes', 'existence');
    const start = await retainedHeap();
    const report = await flood(url, {
      amount: DIGESTS,
      connections: 32,
      next: () => ({ path: `/v2/lab/blobs/${randomDigest()}`, headers: { 'X-Forwarded-For': '10.1.2.3' } }),
    });
    const growth = (await retainedHeap()) - start;

    expect(report.errors).toBe(0);
    expect(report.statuses.get(307)).toBe(DIGESTS);
    expect(await cacheFigure('entries', 'existence')).toBeLessThanOrEqual(await cacheFigure('max_entries', 'existence'));
    expect(await cacheFigure('bytes', 'existence')).toBeLessThanOrEqual(maxBytes);
    expect(growth).toBeLessThanOrEqual(maxBytes);
  }, 120_000);
});
