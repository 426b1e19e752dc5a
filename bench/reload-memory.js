#!/usr/bin/env node
// The reload-memory curve (issue 18): the built server under light keep-alive traffic, reloaded
// every second or so, its memory sampled from /debug/memory every few seconds. Writes the
// samples as CSV and a summary line (first minute against last minute) under bench/results.
//
//   npm run reload-memory -- [--duration S] [--workers N] [--node PATH] [--quick]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { summarize, summaryLine, syntheticCityNetworks, toCsv } from './lib/reload-curve.js';

const USAGE = `Usage: node bench/reload-memory.js [flags]      (npm run reload-memory -- [flags])

  --duration S      seconds of traffic and reloads (default 300; --quick: 20)
  --reload-every S  seconds between reloads, POST /reload on the admin listener (default 1)
  --sample S        seconds between memory samples (default 5; --quick: 2)
  --rate N          requests per second, over 4 keep-alive connections (default 100)
  --workers N       serve --workers N (default 0: one process)
  --node PATH       node binary the server runs on (default: the one running this script)
  --touch-every N   give the city file a new modification time every N reloads, so it is
                    loaded again and its old copy must go (default 30; 0 = never)
  --collect         run the server under --expose-gc: each sample collects garbage first, so
                    it shows what is retained rather than what an operator's RSS shows
  --root DIR        the checkout whose build runs (default this one; e.g. a baseline's)
  --out DIR         where the CSV and summary go (default bench/results)
  --quick           a smoke run: the shorter defaults above
  --help            this text
`;

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** @param {string[]} argv */
function parseFlags(argv) {
  const options = { duration: 300, 'reload-every': 1, sample: 5, rate: 100, workers: 0, node: process.execPath, 'touch-every': 30, collect: false, root: ROOT, out: join(ROOT, 'bench', 'results'), quick: false };
  const numbers = new Set(['duration', 'reload-every', 'sample', 'rate', 'workers', 'touch-every']);
  for (let i = 0; i < argv.length; i += 1) {
    const name = (argv[i] ?? '').replace(/^--/, '');
    if (name === 'help') return undefined;
    if (name === 'collect' || name === 'quick') {
      options[name] = true;
      continue;
    }
    if (!(name in options)) throw new Error(`unknown flag ${argv[i]}`);
    const value = argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (!numbers.has(name)) options[/** @type {'node' | 'root' | 'out'} */ (name)] = value;
    else if (!Number.isFinite(Number(value)) || Number(value) < 0) throw new Error(`--${name} needs a number`);
    else options[/** @type {'duration'} */ (name)] = Number(value);
  }
  if (options.quick) {
    if (!argv.includes('--duration')) options.duration = 20;
    if (!argv.includes('--sample')) options.sample = 2;
  }
  return options;
}

/** A port nothing listens on now (the admin listener needs a fixed one in its config). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/** The bucket: every existence HEAD answers 200 after 3 ms, so answers are owed across swaps. */
async function startBucket() {
  const server = http.createServer((_req, res) => setTimeout(() => res.writeHead(200, { 'content-length': '1' }).end(), 3));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  return { url: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`, close: () => server.close() };
}

/** The synthetic city file of test/server/reload-memory.test.ts, written by the built MMDB writer. */
async function writeCity(path) {
  const { MmdbWriter } = await import(join(ROOT, 'dist', 'geo', 'mmdb', 'writer.js'));
  const writer = new MmdbWriter({ databaseType: 'registry-edge-bench-city', mergeAdjacent: false });
  for (const [cidr, record] of syntheticCityNetworks()) writer.insertCidr(cidr, record);
  writeFileSync(path, writer.build().file);
}

async function startServer(options, dir, bucketUrl) {
  const admin = await freePort();
  const city = join(dir, 'city.mmdb');
  await writeCity(city);
  const config = join(dir, 'edge.yaml');
  writeFileSync(
    config,
    [
      'listen: { host: 127.0.0.1, port: 0, shutdown_timeout_ms: 1000 }',
      `admin: { host: 127.0.0.1, port: ${admin} }`,
      'origin: { url: "https://origin.example", path: p }',
      `buckets: [{ name: b, url: "${bucketUrl}" }]`,
      'default_bucket: b',
      'blobs: { check: { max_entries: 1000 } }',
      'routing: { others: nearest }',
      `geo: { ranges: /nonexistent/cloud-ranges.mmdb, locations: ["${city}"] }`,
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  const args = [...(options.collect ? ['--expose-gc'] : []), join(options.root, 'dist', 'bundle', 'cli.js'), 'serve', '--config', config, ...(options.workers > 0 ? ['--workers', String(options.workers)] : [])];
  const child = spawn(options.node, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)));
    createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) }).on('line', (line) => {
      if (line.includes('"listening"')) resolve(JSON.parse(line).port);
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${admin}`, city };
}

/** Light keep-alive traffic at `rate` per second: blobs (64 digests) and a manifest. */
function traffic(url, rate) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const counts = { answered: 0, failed: 0 };
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < rate / 20; i++) {
      n++;
      const path = n % 4 === 0 ? '/v2/pause/manifests/3.9' : `/v2/pause/blobs/sha256:${(n % 64).toString(16).padStart(64, '0')}`;
      const req = http.get(`${url}${path}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 307 ? counts.answered++ : counts.failed++));
      });
      req.on('error', () => counts.failed++);
    }
  }, 50);
  return { counts, stop: () => (clearInterval(timer), agent.destroy()) };
}

/** Every process's figures from /debug/memory, as samples at `t`. */
async function sample(admin, t, reloads) {
  const { processes } = await (await fetch(`${admin}/debug/memory`)).json();
  return processes.map((p) => ({
    t,
    reloads,
    pid: p.pid,
    role: p.role,
    rss: p.rss_bytes,
    anon: p.rss_anon_bytes,
    file: p.rss_file_bytes,
    heapUsed: p.heap_used_bytes,
    heapCommitted: p.heap_committed_bytes,
    external: p.external_bytes,
  }));
}

async function run(options) {
  const dir = mkdtempSync(join(tmpdir(), 'registry-edge-reload-memory-'));
  const bucket = await startBucket();
  const server = await startServer(options, dir, bucket.url);
  const load = traffic(server.url, options.rate);
  const samples = [];
  let reloads = 0;
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  try {
    let nextReload = 0;
    let nextSample = 0;
    while (elapsed() < options.duration) {
      if (elapsed() >= nextSample) {
        samples.push(...(await sample(server.admin, elapsed(), reloads)));
        nextSample += options.sample;
        process.stderr.write(`\r${elapsed().toFixed(0)} s, ${reloads} reloads`);
      }
      if (elapsed() >= nextReload) {
        reloads++;
        if (options['touch-every'] > 0 && reloads % options['touch-every'] === 0) utimesSync(server.city, new Date(), new Date(Date.now() + reloads * 1000));
        const res = await fetch(`${server.admin}/reload`, { method: 'POST' });
        if (res.status !== 200) throw new Error(`reload ${reloads} answered ${res.status}: ${await res.text()}`);
        nextReload += options['reload-every'];
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    samples.push(...(await sample(server.admin, options.duration, reloads)));
    process.stderr.write('\n');
  } finally {
    load.stop();
    server.child.kill('SIGTERM');
    bucket.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { samples, reloads, counts: load.counts };
}

async function main() {
  const options = parseFlags(process.argv.slice(2));
  if (options === undefined) {
    process.stdout.write(USAGE);
    return;
  }
  const version = await new Promise((resolve) => {
    const child = spawn(options.node, ['--version'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => resolve(out.trim()));
  });
  const mode = options.workers > 0 ? `--workers ${options.workers}` : 'one process';
  const { samples, reloads, counts } = await run(options);
  const line = summaryLine({ node: version, mode: `${mode}${options.collect ? ', --expose-gc' : ''}`, duration: options.duration, reloads, answered: counts.answered, failed: counts.failed }, summarize(samples, options.duration));
  const name = `reload-memory-node${version.replace(/^v/, '').split('.')[0]}-${options.workers > 0 ? `workers${options.workers}` : 'single'}${options.collect ? '-collect' : ''}`;
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, `${name}.csv`), toCsv(samples));
  writeFileSync(join(options.out, `${name}.txt`), `${line}\n`);
  process.stdout.write(`${line}\n(samples: ${join(options.out, `${name}.csv`)})\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
