// bench/sync.js: `registry-edge sync` against the local distribution registry (Debian
// docker-registry) into a local `dir` store. Three measurements (issue 14):
//   1. throughput: --gib of blobs (default 1) synced, against a plain streaming copy of the
//      same GETs piped to files with the same concurrency, once with each file fsynced (the
//      durability the sync's dir store gives; target: ratio >= 0.8) and once without;
//   2. peak RSS (VmHWM) of a sync whose image has one --big-gib blob (default 2; target
//      <= 150 MiB);
//   3. a second sync with nothing to copy, for --small blobs (default 1000; target < 2 s).
// Usage: npm run build && node bench/sync.js [--gib 1] [--big-gib 2] [--small 1000] [--rounds 1] [--keep]
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { memoryKb } from './lib/servers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The bundle, as the `registry-edge` bin runs it: loading dist/src module by module added about
// 0.1-0.2 s of start-up to every sync measured.
const SYNC = join(ROOT, 'dist', 'bundle', 'cli.js');
const MIB = 1024 * 1024;
const { values } = parseArgs({ options: { gib: { type: 'string' }, 'big-gib': { type: 'string' }, small: { type: 'string' }, rounds: { type: 'string' }, keep: { type: 'boolean' } } });
const GIB = Number(values.gib ?? 1);
const BIG_GIB = Number(values['big-gib'] ?? 2);
const SMALL = Number(values.small ?? 1000);
const ROUNDS = Math.max(1, Number(values.rounds ?? 1));
const CONCURRENCY = 8;

/** Incompressible reproducible bytes, streamed: AES-CTR keystream of a seed. */
function keystream(seed, length) {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(MIB);
  let left = length;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const size = Math.min(left, MIB);
      left -= size;
      this.push(cipher.update(size === MIB ? zeros : zeros.subarray(0, size)));
    },
  });
}

async function digestOf(seed, length) {
  const hash = createHash('sha256');
  for await (const chunk of keystream(seed, length)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

function send(url, method, headers, body) {
  return new Promise((resolvePromise, reject) => {
    const outgoing = httpRequest(url, { method, headers }, (answer) => {
      answer.resume();
      answer.on('end', () => resolvePromise(answer));
    });
    outgoing.on('error', reject);
    if (body instanceof Readable) body.pipe(outgoing);
    else outgoing.end(body);
  });
}

/** Monolithic blob upload (POST then PUT with the digest), as the distribution API allows. */
async function pushBlob(origin, repository, digest, length, body) {
  const started = await send(`${origin}/v2/${repository}/blobs/uploads/`, 'POST', { 'content-length': 0 });
  const location = new URL(started.headers.location, origin);
  location.searchParams.set('digest', digest);
  const done = await send(location, 'PUT', { 'content-length': length, 'content-type': 'application/octet-stream' }, body);
  if (done.statusCode !== 201) throw new Error(`push ${digest}: ${done.statusCode}`);
}

/** An image of the given layers (each { seed, size } or { bytes }), pushed under `tag`. */
async function pushImage(origin, repository, tag, layers) {
  const descriptors = [];
  for (const layer of layers) {
    const bytes = layer.bytes;
    const digest = bytes ? `sha256:${createHash('sha256').update(bytes).digest('hex')}` : await digestOf(layer.seed, layer.size);
    const size = bytes ? bytes.length : layer.size;
    await pushBlob(origin, repository, digest, size, bytes ?? keystream(layer.seed, layer.size));
    descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  await pushBlob(origin, repository, configDigest, config.length, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: descriptors,
  }));
  const put = await send(`${origin}/v2/${repository}/manifests/${tag}`, 'PUT', { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': manifest.length }, manifest);
  if (put.statusCode !== 201) throw new Error(`manifest ${repository}:${tag}: ${put.statusCode}`);
  return [{ digest: configDigest, size: config.length }, ...descriptors];
}

async function freePort() {
  return new Promise((resolvePromise) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePromise(port));
    });
  });
}

async function startRegistry(dir) {
  const port = await freePort();
  const config = join(dir, 'registry.yml');
  await writeFile(config, [
    'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:',
    `    rootdirectory: ${JSON.stringify(join(dir, 'storage'))}`, '  maintenance:', '    uploadpurging:', '      enabled: false',
    'http:', `  addr: 127.0.0.1:${port}`, '  secret: bench', 'health:', '  storagedriver:', '    enabled: false', '',
  ].join('\n'));
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/v2/`).then((r) => r.status === 200, () => false);
    if (ok) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('docker-registry did not start');
}

/**
 * Runs the sync as a child process; wall time, exit code and the peak RSS it reached, and its
 * copy phase: from its plan (the `bucket` line, after start-up, walk and listing) to its
 * `summary` line (after the last fsync and the inventory), timed here as its lines arrive.
 */
async function runSync(configFile) {
  const started = performance.now();
  const child = spawn(process.execPath, [...(process.env.SYNC_NODE_FLAGS ?? '').split(' ').filter(Boolean), SYNC, 'sync', '--config', configFile, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let peakKb = 0;
  const timer = setInterval(() => {
    peakKb = Math.max(peakKb, memoryKb(child.pid, 'VmHWM') ?? 0);
  }, 20);
  const marks = {};
  let pending = '';
  child.stdout.on('data', (data) => {
    const lines = (pending + data).split('\n');
    pending = lines.pop();
    for (const line of lines) {
      const event = /^\{"event":"(bucket|summary)"/.exec(line)?.[1];
      if (event !== undefined) marks[event] ??= performance.now();
    }
  });
  const code = await new Promise((r) => child.once('close', r));
  clearInterval(timer);
  const copySeconds = marks.bucket !== undefined && marks.summary !== undefined ? (marks.summary - marks.bucket) / 1000 : NaN;
  return { code, seconds: (performance.now() - started) / 1000, copySeconds, peakMiB: peakKb / 1024 };
}

async function writeSyncConfig(dir, name, origin, repositories) {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, JSON.stringify({
    origin: { url: origin },
    blobs: { key: '/containers/images/{digest}', inventory: join(dir, `${name}.inventory.json`) },
    buckets: [{ name, url: 'http://127.0.0.1:9', store: { type: 'dir', path: join(dir, name) } }],
    sync: { repositories, concurrency: CONCURRENCY, origin_rps: 0 },
  }));
  return file;
}

/**
 * The baseline: the same blob GETs, piped to files, CONCURRENCY at a time, nothing else.
 * `durable`: each file is fsynced before it closes, as the sync's dir store must do before
 * its rename; without it the copy ends with its bytes in the page cache, not on the disk.
 */
async function plainCopy(origin, repository, blobs, folder, durable) {
  await mkdir(folder, { recursive: true });
  const started = performance.now();
  const queue = [...blobs];
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let blob = queue.shift(); blob; blob = queue.shift()) {
      const body = await new Promise((r, reject) => httpGet(`${origin}/v2/${repository}/blobs/${blob.digest}`, r).on('error', reject));
      await pipeline(body, createWriteStream(join(folder, blob.digest), { flush: durable }));
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  await rm(folder, { recursive: true, force: true });
  return seconds;
}

/**
 * Every timed copy starts with nothing dirty in the page cache: the kernel's writeback of an
 * earlier copy's files (and of their removal) would otherwise land in whichever copy runs next.
 */
function settleDisk() {
  spawnSync('sync');
}

/**
 * Rounds alternate the page-cache copy, the fsynced copy and the sync; the fastest of each
 * kind is kept, the round least disturbed by whatever else the machine runs.
 */
async function measureThroughput(dir, origin, blobs) {
  const best = { cached: Infinity, durable: Infinity, sync: Infinity, syncCopy: Infinity };
  const config = await writeSyncConfig(dir, 'bulk', origin, ['bench/bulk']);
  for (let round = 0; round < ROUNDS; round++) {
    settleDisk();
    best.cached = Math.min(best.cached, await plainCopy(origin, 'bench/bulk', blobs, join(dir, 'plain'), false));
    settleDisk();
    best.durable = Math.min(best.durable, await plainCopy(origin, 'bench/bulk', blobs, join(dir, 'plain'), true));
    settleDisk();
    const synced = await runSync(config);
    if (synced.code !== 0) throw new Error(`bulk sync exited ${synced.code}`);
    best.sync = Math.min(best.sync, synced.seconds);
    best.syncCopy = Math.min(best.syncCopy, synced.copySeconds);
    await rm(join(dir, 'bulk'), { recursive: true, force: true });
    await rm(join(dir, 'bulk.inventory.json'), { force: true });
  }
  return best;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'registry-edge-bench-sync-'));
  const registry = await startRegistry(dir);
  try {
    const layerCount = Math.max(1, Math.round(GIB * 16));
    const layerSize = Math.round((GIB * 1024 * MIB) / layerCount);
    const bulk = await pushImage(registry.url, 'bench/bulk', 'v1', Array.from({ length: layerCount }, (_, i) => ({ seed: `bulk ${i}`, size: layerSize })));
    const bytes = bulk.reduce((sum, blob) => sum + blob.size, 0);
    const best = await measureThroughput(dir, registry.url, bulk);
    const rate = (seconds) => `${(bytes / MIB / seconds).toFixed(0)} MiB/s`;
    console.log(`throughput: ${(bytes / MIB).toFixed(0)} MiB in ${layerCount} blobs, best of ${ROUNDS}: plain copy ${rate(best.cached)}, plain copy with fsync ${rate(best.durable)}, sync ${rate(best.sync)}`);
    console.log(`  ratio to the fsynced copy ${(best.durable / best.sync).toFixed(2)} (target >= 0.8: the same GETs, files and durability), to the page-cache copy ${(best.cached / best.sync).toFixed(2)}`);
    console.log(`  the sync's copy phase alone (plan line to summary line, without its start-up, walk and listing): ${rate(best.syncCopy)}, ${(best.durable / best.syncCopy).toFixed(2)} of the fsynced copy (for comparison only; the target is judged on the whole sync above)`);

    await pushImage(registry.url, 'bench/big', 'v1', [{ seed: 'big', size: Math.round(BIG_GIB * 1024 * MIB) }]);
    const big = await runSync(await writeSyncConfig(dir, 'big', registry.url, ['bench/big']));
    if (big.code !== 0) throw new Error(`big sync exited ${big.code}`);
    console.log(`peak RSS: ${big.peakMiB.toFixed(0)} MiB syncing one ${BIG_GIB} GiB blob in ${big.seconds.toFixed(1)} s (target <= 150 MiB)`);
    await rm(join(dir, 'big'), { recursive: true, force: true });

    const perImage = 100;
    const repositories = [];
    for (let image = 0; image * perImage < SMALL; image++) {
      const count = Math.min(perImage, SMALL - image * perImage);
      repositories.push(`bench/small-${image}`);
      await pushImage(registry.url, `bench/small-${image}`, 'v1', Array.from({ length: count - 1 }, (_, i) => ({ bytes: Buffer.from(`small blob ${image}-${i}`) })));
    }
    const config = await writeSyncConfig(dir, 'small', registry.url, repositories);
    const first = await runSync(config);
    const second = await runSync(config);
    if (first.code !== 0 || second.code !== 0) throw new Error(`small syncs exited ${first.code}, ${second.code}`);
    console.log(`no-op sync: ${SMALL} blobs: first sync ${first.seconds.toFixed(2)} s, second (nothing to copy) ${second.seconds.toFixed(2)} s (target < 2 s)`);
  } finally {
    registry.child.kill('SIGKILL');
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

await main();
