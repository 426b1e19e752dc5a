#!/usr/bin/env node
/**
 * Server CPU of a warm-cache blob redirect against a manifest redirect (issue: "a blob redirect
 * costs no more than 1.1x the server CPU of a manifest redirect").
 *
 *   npm run build && node bench/blob-vs-manifest.js [--rounds 8] [--duration 3] [--manifest-by-digest]
 *
 * One registry-edge process (pinned to CPU 0) and one load generator (CPU 1). Rounds of the two
 * requests alternate on the same process, with identical headers (same client behind the same
 * proxy), so the only difference is the route: the manifest goes to the origin, the blob to
 * the client's region bucket after a cached existence check. CPU per request comes from the
 * server's /proc ticks over each round; the ratio reported is the median of per-pair ratios,
 * which cancels the machine's drift between rounds.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBucketServer } from './lib/bucket-server.js';
import { startLoadGenerator } from './lib/loadgen.js';
import { clockTicksPerSecond, cpuTicks, freePort, startServer, stopProcess, tasksetAvailable } from './lib/servers.js';
import { digestOf, forwardedFor, TRUSTED_HOPS } from './lib/scenarios.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const flag = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const rounds = flag('--rounds', 8);
const duration = flag('--duration', 3);
// --manifest-by-digest compares against a manifest request of the same length as the blob's
// (what a pull sends for platform manifests), separating URL length from routing work.
const manifestByDigest = process.argv.includes('--manifest-by-digest');

const work = mkdtempSync(join(tmpdir(), 'blob-vs-manifest-'));
const digest = digestOf('blob-vs-manifest');
const bucket = await startBucketServer(new Set([digest]));
const shared = resolve(root, '..', 'shared', 'ranges');
const pin = tasksetAvailable();
let server;
let load;
try {
  // With the real feeds the client is placed by the ranges MMDB; without them, by a network.
  const ranges = join(work, 'cloud-ranges.mmdb');
  let client = '198.51.100.7';
  const bucketEntry = { name: 'aws-eu-west-3', url: `${bucket.url}/aws-eu-west-3`, provider: 'aws', regions: ['eu-west-3'] };
  if (existsSync(join(shared, 'aws-ip-ranges.json'))) {
    const { updateGeo } = await import(join(root, 'dist', 'geo', 'update.js'));
    await updateGeo({ from: shared, out: ranges, locations: false });
    client = '15.236.101.191';
  } else {
    bucketEntry.networks = ['198.51.100.0/24'];
  }
  const config = {
    listen: { host: '127.0.0.1', port: await freePort() },
    origin: { url: bucket.url, path: '' },
    client_ip: { trusted_hops: TRUSTED_HOPS },
    geo: { ranges },
    buckets: [bucketEntry],
    log: { level: 'warn' },
    admin: { port: 0 },
  };
  const file = join(work, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  server = await startServer({
    command: process.execPath,
    args: [join(root, 'dist', 'src', 'cli.js'), 'serve', '--config', file],
    core: pin ? 0 : undefined,
    port: config.listen.port,
  });
  load = startLoadGenerator({ core: pin ? 1 : undefined });
  const headers = { 'user-agent': 'containerd/2.0', 'x-forwarded-for': forwardedFor(client) };
  const kinds = {
    manifest: { method: 'GET', path: manifestByDigest ? `/v2/pause/manifests/${digestOf('manifest')}` : '/v2/pause/manifests/3.10', headers },
    blob: { method: 'GET', path: `/v2/pause/blobs/${digest}`, headers },
  };
  const ticks = clockTicksPerSecond();
  const measure = async (request) => {
    const before = cpuTicks(server.spawned.pid);
    const result = await load.run({ url: server.url, connections: 50, duration, requests: [request], rotate: false });
    const cpuUs = ((cpuTicks(server.spawned.pid) - before) / ticks) * 1e6;
    const answered = Object.values(result.statusCounts).reduce((sum, count) => sum + count, 0);
    if (Object.keys(result.statusCounts).join() !== '307' || result.errors > 0) {
      throw new Error(`unexpected answers: ${JSON.stringify(result.statusCounts)}, ${result.errors} errors`);
    }
    // Every answered request cost the server CPU, including those before the sampling window.
    return { rps: result.rps, usPerRequest: cpuUs / answered };
  };
  await measure(kinds.manifest);
  await measure(kinds.blob);
  const headsAfterWarmup = bucket.heads();
  const ratios = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first so neither always runs on a warmer machine.
    const order = round % 2 === 0 ? ['manifest', 'blob'] : ['blob', 'manifest'];
    const got = {};
    for (const kind of order) got[kind] = await measure(kinds[kind]);
    ratios.push(got.blob.usPerRequest / got.manifest.usPerRequest);
    console.log(
      `round ${round + 1}: manifest ${got.manifest.usPerRequest.toFixed(1)} µs/req (${Math.round(got.manifest.rps)} req/s), ` +
        `blob ${got.blob.usPerRequest.toFixed(1)} µs/req (${Math.round(got.blob.rps)} req/s), ratio ${ratios.at(-1).toFixed(3)}`,
    );
  }
  ratios.sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)];
  console.log(`HEADs to the bucket during measured rounds: ${bucket.heads() - headsAfterWarmup} (warm cache: expect 0)`);
  console.log(`blob / manifest server CPU per request: median ${median.toFixed(3)}x (min ${ratios[0].toFixed(3)}, max ${ratios.at(-1).toFixed(3)}); target <= 1.1x: ${median <= 1.1 ? 'met' : 'NOT met'}`);
} finally {
  await load?.close();
  if (server) await stopProcess(server.spawned);
  await bucket.close();
  rmSync(work, { recursive: true, force: true });
}
