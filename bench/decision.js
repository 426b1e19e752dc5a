#!/usr/bin/env node
/**
 * In-process cost of the public request handler for S2 (manifest → origin) and S3 (warm blob →
 * the client's region bucket): no sockets, no load generator, so the numbers move only when
 * the handler's own work does.
 *
 *   npm run build && node bench/decision.js [--trials 15] [--iterations 200000] [--root DIR]
 *     [--log-level warn|info] [--events on|off]
 *
 * The handler is the real hono app (`createApp`) over a real runtime (`buildRuntime`, ranges
 * compiled from ../shared/ranges when present, else one synthetic AWS eu-west-3 prefix),
 * called with stand-ins for node's IncomingMessage carrying what a proxied pull sends. The
 * existence cache is warmed by one real HEAD against a local bucket server. S2 and S3 trials
 * alternate so drifting background load favours neither; the median ns per request is printed.
 * `--root` points at another build (a baseline checkout) to compare the two on one machine.
 * `--count N --kind S2|S3` runs N requests of one kind and exits: under valgrind --tool=callgrind,
 * the instruction count of N minus that of 0, over N, is the handler's cost per request.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startBucketServer } from './lib/bucket-server.js';
import { digestOf } from './lib/scenarios.js';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const root = resolve(option('--root', here));
const trials = Number(option('--trials', 15));
const iterations = Number(option('--iterations', 200_000));
const count = option('--count', undefined);
// `--log-level info --events on|off` measures what the per-pull event line adds to S2.
const level = option('--log-level', 'warn');
const events = option('--events', 'on') === 'on';
const load = (path) => import(pathToFileURL(join(root, 'dist', path)).href);

const { validateConfig } = await load('src/config/load.js');
const { buildRuntime } = await load('src/server/build.js');
const { RuntimeHolder } = await load('src/server/runtime.js');
const { createApp } = await load('src/server/app.js');
const { createLogger } = await load('src/log.js');
const { updateGeo } = await load('geo/update.js');

const work = mkdtempSync(join(tmpdir(), 'bench-decision-'));
const digest = digestOf('bench-decision');
const bucket = await startBucketServer(new Set([digest]));
try {
  // Beside the project in /work/main and CI; worktrees elsewhere find it at /work/shared.
  let feeds = [resolve(here, '..', 'shared', 'ranges'), '/work/shared/ranges'].find((dir) => existsSync(join(dir, 'aws-ip-ranges.json')));
  let client = '15.236.101.191';
  if (feeds === undefined) {
    feeds = join(work, 'feeds');
    mkdirSync(feeds);
    const prefix = { ip_prefix: '15.236.0.0/16', region: 'eu-west-3', service: 'AMAZON', network_border_group: 'eu-west-3' };
    writeFileSync(join(feeds, 'aws-ip-ranges.json'), JSON.stringify({ syncToken: '1', createDate: '2026-01-01-00-00-00', prefixes: [prefix], ipv6_prefixes: [] }));
    client = '15.236.1.1';
  }
  const ranges = join(work, 'cloud-ranges.mmdb');
  await updateGeo({ from: feeds, out: ranges, locations: false });
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      origin: { url: bucket.url, path: 'k8s/images' },
      client_ip: { trusted_hops: 1 },
      geo: { ranges },
      providers: { gcp: 'origin' },
      buckets: [{ name: 'aws-eu-west-3', url: `${bucket.url}/aws-eu-west-3`, provider: 'aws', regions: ['eu-west-3'] }],
      log: { level, events: { manifests: events } },
      // Under valgrind the warming HEAD can take seconds.
      blobs: { check: { timeout_ms: 60_000 } },
    },
    'bench',
  );
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  const logger = createLogger(level, quiet);
  const holder = new RuntimeHolder(await buildRuntime({ config, source: 'bench' }, logger));
  const app = createApp(holder, logger);

  const rawHeaders = ['Host', 'registry.example', 'User-Agent', 'containerd/v2.0.4', 'Accept', '*/*', 'X-Forwarded-For', `203.0.113.7, ${client}`];
  const socket = { remoteAddress: '127.0.0.1' };
  const request = { method: 'GET', url: 'http://registry.example/', headers: new globalThis.Headers() };
  const envFor = (url) => ({ incoming: { method: 'GET', url, rawHeaders, socket, headers: {} }, outgoing: { setHeader() {} } });
  const kinds = {
    S2: envFor('/v2/pause/manifests/3.9'),
    S3: envFor(`/v2/pause/blobs/${digest}`),
  };
  const expected = { S2: `${bucket.url}/v2/k8s/images/pause/manifests/3.9`, S3: `${bucket.url}/aws-eu-west-3/containers/images/${digest}` };
  for (const [kind, env] of Object.entries(kinds)) {
    const res = await app.fetch(request, env);
    if (res.status !== 307 || res.headers.get('location') !== expected[kind]) {
      throw new Error(`${kind}: expected 307 to ${expected[kind]}, got ${res.status} ${res.headers.get('location')}`);
    }
  }
  const s3 = app.fetch(request, kinds.S3);
  if (s3 instanceof Promise) throw new Error('S3 is not answered synchronously: the existence cache is cold');

  const run = (env, n) => {
    let sink = 0;
    for (let i = 0; i < n; i++) sink += app.fetch(request, env).status;
    return sink;
  };
  if (count !== undefined) {
    run(kinds[option('--kind', 'S3')], Number(count));
  } else {
    const samples = { S2: [], S3: [] };
    for (let trial = 0; trial < trials; trial++) {
      const order = trial % 2 === 0 ? ['S2', 'S3'] : ['S3', 'S2'];
      for (const kind of order) {
        const started = process.hrtime.bigint();
        run(kinds[kind], iterations);
        samples[kind].push(Number(process.hrtime.bigint() - started) / iterations);
      }
    }
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    for (const kind of ['S2', 'S3']) {
      const sorted = [...samples[kind]].sort((a, b) => a - b);
      console.log(`${kind}: median ${median(sorted).toFixed(0)} ns/request (min ${sorted[0].toFixed(0)}, max ${sorted.at(-1).toFixed(0)}; ${trials} trials x ${iterations})`);
    }
  }
  await holder.current.close();
} finally {
  await bucket.close();
  rmSync(work, { recursive: true, force: true });
}
