#!/usr/bin/env node
// The scaling family (issue 19): does a request cost more when the configuration grows? In one
// run it starts registry-edge on configurations of 1, 100, 1,000 and 10,000 networks (10
// buckets) and 1 and 10,000 networks over 1,000 buckets, measures a warm blob redirect that
// the networks rule decides (the client's network last in the last bucket) in alternating
// rounds, CPU µs per request from /proc, and reports each case against the 1-network one;
// then start-up and reload of the largest, memory per network entry, and an inventory of
// --inventory-digests digests (one list, and 100 bucket lists as sync writes them).
// `npm run bench` runs it after the scenarios (`--no-scale` to skip); `node bench/scale.js`
// runs it alone.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import YAML from 'yaml';
import { startBucketServer } from './lib/bucket-server.js';
import { BUNDLE, ROOT } from './lib/layers.js';
import { startLoadGenerator } from './lib/loadgen.js';
import { inventoryDocument, SCALE_CLIENT, SCALE_DIGEST, scaleBuckets, scaleConfig, syntheticDigests, syntheticNetworks } from './lib/scale-config.js';
import { clockTicksPerSecond, cpuTicks, fetchOnce, freePort, memoryKb, startServer, stopProcess } from './lib/servers.js';
import { median, summarizeRounds } from './lib/stats.js';
import { renderScaleMarkdown } from './lib/scale-report.js';

export { renderScaleMarkdown };

/** The configurations, the first the reference. */
export const SCALE_CASES = [
  { id: 'n1-b10', networks: 1, buckets: 10 },
  { id: 'n100-b10', networks: 100, buckets: 10 },
  { id: 'n1000-b10', networks: 1000, buckets: 10 },
  { id: 'n10000-b10', networks: 10000, buckets: 10 },
  { id: 'n1-b1000', networks: 1, buckets: 1000 },
  { id: 'n10000-b1000', networks: 10000, buckets: 1000 },
];

/**
 * @typedef {{ say: (m: string) => void, tmp: string, serverCore: number | undefined, ticksPerSecond: number,
 *   bucket: { url: string, heads: () => number }, loadgen: { run: (job: any) => Promise<any> },
 *   onCleanup: (step: () => Promise<void>) => void, durationS: number, rounds: number, connections: number,
 *   inventoryDigests: number, cases?: typeof SCALE_CASES }} ScaleContext
 */

/** @param {ScaleContext} ctx @param {string} name @param {object} config @param {{ admin?: boolean }} [extra] */
async function startEdge(ctx, name, config, extra = {}) {
  const adminPort = extra.admin ? await freePort() : 0;
  const file = join(ctx.tmp, `scale-${name}.yaml`);
  writeFileSync(file, YAML.stringify({ ...config, admin: { host: '127.0.0.1', port: adminPort } }));
  const port = await freePort();
  const started = await startServer({
    command: process.execPath,
    // The bundle, as users run it and as the run's start-up table measures it.
    args: [BUNDLE, 'serve', '--config', file, '--port', String(port)],
    core: ctx.serverCore,
    port,
    timeoutMs: 60_000,
    onSpawn: (spawned) => ctx.onCleanup(() => stopProcess(spawned)),
  });
  return { ...started, file, admin: adminPort ? `http://127.0.0.1:${adminPort}` : undefined };
}

const BLOB_PATH = `/v2/scale/blobs/${SCALE_DIGEST}`;
const REQUESTS = [{ method: 'GET', path: BLOB_PATH, headers: { 'x-forwarded-for': SCALE_CLIENT } }];

/** Time of POST /reload until answered (the new generation built and swapped in). @param {string} admin */
async function reloadMs(admin) {
  const started = performance.now();
  const res = await fetch(`${admin}/reload`, { method: 'POST' });
  await res.arrayBuffer();
  return res.ok ? performance.now() - started : null;
}

/** The network cases: servers side by side, rounds alternating. @param {ScaleContext} ctx */
async function networkCases(ctx) {
  const cases = ctx.cases ?? SCALE_CASES;
  const running = [];
  for (const shape of cases) {
    const buckets = scaleBuckets({ networks: shape.networks, buckets: shape.buckets, bucketUrl: ctx.bucket.url });
    const edge = await startEdge(ctx, shape.id, scaleConfig({ bucketUrl: ctx.bucket.url, buckets }), { admin: shape === cases[cases.length - 1] });
    const answer = /** @type {{ status: number, location?: string }} */ (await fetchOnce(`${edge.url}${BLOB_PATH}`, REQUESTS[0]?.headers));
    const expected = `${ctx.bucket.url}/b${shape.buckets - 1}/containers/images/${SCALE_DIGEST}`;
    const wrong = answer.location === expected ? undefined : `got ${answer.status} ${answer.location ?? ''}, expected 307 ${expected}`;
    ctx.say(`scale ${shape.id}: started in ${edge.startupMs.toFixed(0)} ms${wrong ? `; WRONG ANSWER ${wrong}` : ''}`);
    running.push({ shape, edge, wrong, rounds: /** @type {any[]} */ ([]), rssKb: 0 });
  }
  for (const r of running) await ctx.loadgen.run({ url: r.edge.url, connections: ctx.connections, duration: Math.min(0.5, ctx.durationS), requests: REQUESTS, rotate: false });
  for (let round = 0; round < ctx.rounds; round++) {
    const order = round % 2 === 0 ? running : [...running].reverse();
    for (const r of order) {
      const before = cpuTicks(r.edge.spawned.pid);
      const result = await ctx.loadgen.run({ url: r.edge.url, connections: ctx.connections, duration: ctx.durationS, requests: REQUESTS, rotate: false });
      const after = cpuTicks(r.edge.spawned.pid);
      const cpuUs = before !== undefined && after !== undefined ? ((after - before) * 1e6) / ctx.ticksPerSecond : null;
      r.rounds.push({ ...result, cpuUs, bucketHeads: null });
    }
  }
  for (const r of running) r.rssKb = memoryKb(r.edge.spawned.pid, 'VmRSS') ?? 0;
  const largest = running[running.length - 1];
  const reloads = [];
  if (largest?.edge.admin) for (let i = 0; i < 3; i++) reloads.push(await reloadMs(largest.edge.admin));
  for (const r of running) await stopProcess(r.edge.spawned);
  return { running, reloads };
}

/** The prefix table itself, compiled in this process: build time and bytes per network. @param {number} count */
async function tableFigures(count) {
  const { PrefixTable } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'net', 'prefix-table.js')).href);
  const { parseCidr } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'net', 'cidr.js')).href);
  const entries = syntheticNetworks(count).map((text, i) => ({ cidr: parseCidr(text), owner: i % 1000 }));
  const started = performance.now();
  const table = new PrefixTable(entries);
  const buildMs = performance.now() - started;
  return { networks: count, buildMs, bytes: table.bytes, groups: table.groups.length, bytesPerNetwork: table.bytes / count };
}

/** Loads, sizes and probes an inventory file in this process. @param {string} file */
async function inventoryInProcess(file) {
  const { loadInventory } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'blobs', 'index.js')).href);
  const started = performance.now();
  const inventory = await loadInventory(file);
  const loadMs = performance.now() - started;
  const probe = `${SCALE_DIGEST}`;
  const missing = `sha256:${'0'.repeat(64)}`;
  const lookups = 200_000;
  const probeAll = () => {
    let found = 0;
    for (let i = 0; i < lookups; i++) if (inventory.has('b1', i & 1 ? probe : missing)) found++;
    return found;
  };
  // Once to let the JIT compile the lookup, as a serving process has long since done.
  probeAll();
  const timed = performance.now();
  const hits = probeAll();
  const lookupNs = ((performance.now() - timed) * 1e6) / lookups;
  return { entries: inventory.size, bytes: inventory.bytes, loadMs, lookupNs, hits };
}

/** Start-up and RSS with no inventory, then with DIGESTS in 1 and in 100 lists. @param {ScaleContext} ctx */
async function inventoryCases(ctx) {
  const buckets = scaleBuckets({ networks: 1, buckets: 100, bucketUrl: ctx.bucket.url });
  const digests = syntheticDigests(ctx.inventoryDigests);
  const out = [];
  for (const lists of [0, 1, 100]) {
    let inventory;
    if (lists > 0) {
      inventory = join(ctx.tmp, `inventory-${lists}.json`);
      writeFileSync(inventory, inventoryDocument(digests, lists));
    }
    const edge = await startEdge(ctx, `inventory-${lists}`, scaleConfig({ bucketUrl: ctx.bucket.url, buckets, inventory }));
    const answer = /** @type {{ status: number, location?: string }} */ (await fetchOnce(`${edge.url}${BLOB_PATH}`, REQUESTS[0]?.headers));
    const rssKb = memoryKb(edge.spawned.pid, 'VmRSS') ?? 0;
    await stopProcess(edge.spawned);
    const inProcess = inventory ? await inventoryInProcess(inventory) : undefined;
    out.push({ lists, digests: lists ? digests.length : 0, fileBytes: inventory ? statSync(inventory).size : 0, startupMs: edge.startupMs, rssKb, status: answer.status, inProcess });
    ctx.say(`scale inventory ${lists} list(s): started in ${edge.startupMs.toFixed(0)} ms, RSS ${(rssKb / 1024).toFixed(0)} MiB`);
  }
  return out;
}

/** @param {ScaleContext} ctx */
export async function runScaleFamily(ctx) {
  const { running, reloads } = await networkCases(ctx);
  const cases = running.map((r) => ({ ...r.shape, startupMs: r.edge.startupMs, rssKb: r.rssKb, wrong: r.wrong ?? null, ...summarizeRounds(r.rounds) }));
  const reference = cases[0];
  for (const c of cases) c.ratio = reference?.cpuUsBest && c.cpuUsBest ? c.cpuUsBest / reference.cpuUsBest : null;
  const byId = Object.fromEntries(cases.map((c) => [c.id, c]));
  const small = byId['n1-b10'];
  const big = byId['n10000-b10'];
  const rssPerNetwork = small && big ? ((big.rssKb - small.rssKb) * 1024) / (big.networks - small.networks) : null;
  const valid = reloads.filter((ms) => ms !== null);
  return {
    settings: { durationS: ctx.durationS, rounds: ctx.rounds, connections: ctx.connections, inventoryDigests: ctx.inventoryDigests },
    cases,
    largest: { id: cases[cases.length - 1]?.id, startupMs: cases[cases.length - 1]?.startupMs ?? null, reloadMs: valid.length ? median(valid) : null },
    rssPerNetworkBytes: rssPerNetwork,
    table: await tableFigures(10_000),
    inventory: await inventoryCases(ctx),
  };
}

/** `node bench/scale.js [--duration S] [--rounds N] [--connections N] [--inventory-digests N]` @param {string[]} argv */
function flags(argv) {
  /** @type {Record<string, number>} */
  const values = { duration: 1, rounds: 3, connections: 50, 'inventory-digests': 1_000_000 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = (argv[i] ?? '').replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!(name in values) || !Number.isFinite(value) || value <= 0) throw new Error(`usage: node bench/scale.js [--duration S] [--rounds N] [--connections N] [--inventory-digests N] (bad: ${argv[i]})`);
    values[name] = value;
  }
  return values;
}

async function main() {
  const values = flags(process.argv.slice(2));
  const tmp = mkdtempSync(join(tmpdir(), 'registry-edge-scale-'));
  /** @type {(() => Promise<void>)[]} */
  const cleanups = [];
  const bucket = await startBucketServer(new Set([SCALE_DIGEST]));
  const loadgen = startLoadGenerator({ core: undefined });
  try {
    const say = (/** @type {string} */ m) => process.stderr.write(`bench: ${m}\n`);
    const scale = await runScaleFamily({
      say, tmp, serverCore: undefined, ticksPerSecond: clockTicksPerSecond(), bucket, loadgen, onCleanup: async (step) => void cleanups.push(step),
      durationS: values.duration ?? 1, rounds: values.rounds ?? 3, connections: values.connections ?? 50, inventoryDigests: values['inventory-digests'] ?? 1_000_000,
    });
    process.stdout.write(`${renderScaleMarkdown(scale).join('\n')}\n`);
  } finally {
    for (const step of cleanups.reverse()) await step().catch(() => {});
    await loadgen.close();
    await bucket.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
