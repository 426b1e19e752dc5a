#!/usr/bin/env node
// `npm run bench:tls`: what TLS at the door costs, on loopback, against the built
// `registry-edge serve` answering a warm blob redirect (a networks rule, the blob known from an
// inventory, log level warn) plain and with `listen.tls`; `--server app` measures
// bench/tls-server.js instead (a bare hono app through registry-edge's TLS listener factory):
//   1. warm blob redirect, HTTP/1.1 keep-alive, TLS vs plain: server CPU per request and its
//      ratio (target: TLS <= 1.25x plain); autocannon as the load generator;
//   2. the same over HTTP/2 with Debian's h2load (nghttp2-client): req/s and CPU per request;
//   3. new TLS connections (full handshakes) with ECDSA P-256 and RSA 2048 certificates: the
//      rate one server core sustains (handshakes per server CPU second) and p99 latency.
// Server on CPU 0, load on CPU 1 (taskset) when possible. Certificates are made with openssl
// in a temp dir. Flags: --quick (1 s rounds), --duration S, --rounds N, --connections N,
// --check (exit 1 when the CPU ratio target is missed), --json FILE. `npm run bench` runs the
// same measurement (measureTls) with its own round settings and puts its tables in the report.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { startLoadGenerator } from './lib/loadgen.js';
import { clockTicksPerSecond, cpuTicks, fetchOnce, freePort, spawnPinned, stopProcess, tasksetAvailable } from './lib/servers.js';
import { median } from './lib/stats.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const SERVER = join(BENCH_DIR, 'tls-server.js');
const HANDSHAKER = join(BENCH_DIR, 'lib', 'handshake-child.js');
const EDGE_CLI = join(BENCH_DIR, '..', 'dist', 'bundle', 'cli.js');
const CPU_RATIO_TARGET = 1.25;
const BLOB_DIGEST = `sha256:${'ab'.repeat(32)}`;
const BLOB_PATH = `/v2/library/app/blobs/${BLOB_DIGEST}`;

/**
 * registry-edge's config for the TLS bench: loopback clients go to one bucket by a networks
 * rule, the blob is in the inventory (no HEAD), log level warn so no per-request line is
 * written either way. With PAIR, `listen.tls`.
 * @param {string} dir @param {string} name @param {{ cert: string, key: string } | undefined} pair
 */
export function edgeBenchConfig(dir, name, pair) {
  const inventory = join(dir, 'inventory.txt');
  writeFileSync(inventory, `${BLOB_DIGEST}\n`);
  const config = {
    listen: { host: '127.0.0.1', port: 0, keep_alive_timeout_ms: 60_000, ...(pair ? { tls: { cert: pair.cert, key: pair.key } } : {}) },
    admin: { host: '127.0.0.1', port: 0 },
    origin: { url: 'https://origin.example' },
    geo: { ranges: join(dir, 'no-ranges.mmdb') },
    client_ip: { trusted_hops: 0 },
    blobs: { key: '/containers/images/{digest}', inventory },
    buckets: [{ name: 'loopback', url: 'https://bucket.example/blobs', networks: ['127.0.0.0/8'] }],
    log: { level: 'warn' },
  };
  const file = join(dir, `edge-${name}.yaml`);
  // YAML is a superset of JSON.
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Resolves once PORT accepts a connection (a TLS handshake when TLS is true). @param {number} port @param {boolean} tls */
async function acceptsConnections(port, tls) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const done = (/** @type {boolean} */ result) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const socket = tls
        ? connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => done(true))
        : connectTcp({ host: '127.0.0.1', port }, () => done(true));
      const timer = setTimeout(() => done(false), 1000);
      socket.once('error', () => done(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing answers on port ${port}`);
}

export const TLS_CPU_RATIO_TARGET = CPU_RATIO_TARGET;
/** A CA and ECDSA P-256 and RSA 2048 server certificates for 127.0.0.1. @param {string} dir */
function makeCertificates(dir) {
  const openssl = (/** @type {string[]} */ args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n');
  /** @type {Record<string, { cert: string, key: string }>} */
  const pairs = {};
  for (const [name, keyArgs] of [['ecdsa-p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']], ['rsa-2048', ['-newkey', 'rsa:2048']]]) {
    openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1']);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(Object.keys(pairs).length + 2), '-days', '1', '-extfile', 'leaf.ext', '-out', `${name}.crt`]);
    pairs[name] = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  }
  return { ca: join(dir, 'ca.crt'), pairs };
}

/** Server CPU microseconds spent while `action` ran. @template T @param {number} pid @param {() => Promise<T>} action */
async function withServerCpu(pid, action) {
  const before = cpuTicks(pid);
  const result = await action();
  const after = cpuTicks(pid);
  const cpuUs = before === undefined || after === undefined ? null : ((after - before) * 1e6) / clockTicksPerSecond();
  return { result, cpuUs };
}

/** @param {string} command @param {string[]} args @param {number | undefined} core */
function runPinned(command, args, core) {
  return new Promise((resolve) => {
    const child = spawn(core === undefined ? command : 'taskset', core === undefined ? args : ['-c', String(core), command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** h2load's summary: requests done and req/s. @param {string} text */
export function parseH2load(text) {
  const finished = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(text);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(text);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  return {
    rps: finished ? Number(finished[3]) : 0,
    done: requests ? Number(requests[3]) : 0,
    failed: requests ? Number(requests[5]) + Number(requests[6]) : null,
    status3xx: status ? Number(status[2]) : 0,
  };
}

const fmt = (/** @type {number | null | undefined} */ n, digits = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '-');

/**
 * @typedef {{ rps: number[], cpuUsPerRequest: number[], p99: number[], statuses: Record<string, number> }} H1Samples
 * @typedef {{ server: string, h1: Record<string, H1Samples>, h2: { rps: number, cpuUsPerRequest: number | null, failed: number | null, status3xx: number } | undefined,
 *   handshakes: Record<string, { perCoreSecond: number | null, achieved: number, p50: number | null, p99: number | null, errors: number }>,
 *   cpuRatio: number | null, plainCpu: number | null, tlsCpu: number | null, rounds: number, duration: number, connections: number, pinned: boolean, warnings: string[], lines: string[] }} TlsResult
 */

/**
 * The whole TLS measurement; servers, certificates and its load generator are its own and
 * stopped before it returns.
 * @param {{ duration: number, rounds: number, connections: number, warmupS: number, pin: boolean, say: (message: string) => void, server?: 'edge' | 'app' }} settings
 * @returns {Promise<TlsResult>}
 */
export async function measureTls({ duration, rounds, connections, warmupS, pin: wantPin, say, server: kind = 'edge' }) {
  if (kind === 'edge' && !existsSync(EDGE_CLI)) throw new Error(`${EDGE_CLI} is missing: npm run build first (or --server app)`);
  const dir = mkdtempSync(join(tmpdir(), 'registry-edge-bench-tls-'));
  const pin = wantPin && tasksetAvailable();
  const serverCore = pin ? 0 : undefined;
  const loadCore = pin ? 1 : undefined;
  /** @type {import('./lib/servers.js').Spawned[]} */
  const spawned = [];
  const loadStart = loadavg()[0];
  /** @type {string[]} */
  const warnings = [];
  /** @type {ReturnType<typeof startLoadGenerator> | undefined} */
  let loadgen;
  try {
    const { ca, pairs } = makeCertificates(dir);
    // autocannon runs in the load generator child; it trusts the CA through node's own variable,
    // set only while that child is spawned so nothing else started later inherits it.
    const previousCa = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = ca;
    loadgen = startLoadGenerator({ core: loadCore });
    const generator = loadgen;
    if (previousCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = previousCa;
    const start = async (/** @type {string} */ mode, /** @type {{ cert: string, key: string } | undefined} */ pair) => {
      const port = kind === 'edge' ? await freePort() : 0;
      const args = kind === 'edge'
        ? [EDGE_CLI, 'serve', '--config', edgeBenchConfig(dir, `${mode}-${spawned.length}`, pair), '--port', String(port)]
        : [SERVER, '--mode', mode, ...(pair ? ['--cert', pair.cert, '--key', pair.key] : [])];
      const server = spawnPinned({ command: process.execPath, args, core: serverCore });
      spawned.push(server);
      // The app prints a listening line; registry-edge at level warn prints none, so its port
      // is polled (a plain probe of the TLS port would be a TLS failure, hence a handshake).
      const ready = kind === 'edge'
        ? acceptsConnections(port, mode === 'tls').then(() => port)
        : new Promise((resolve) => server.onListening((info) => resolve(info.port)));
      const bound = await Promise.race([
        ready,
        server.exited.then(() => { throw new Error(`${args.slice(0, 2).join(' ')} (${mode}) exited:\n${server.output()}`); }),
      ]);
      return { spawned: server, url: `${mode === 'tls' ? 'https' : 'http'}://127.0.0.1:${bound}` };
    };
    const plain = await start('plain', undefined);
    const secure = await start('tls', pairs['ecdsa-p256']);
    // The redirect measured must be the warm bucket one, not a fallback to the origin.
    const answer = /** @type {{ status: number, location?: string }} */ (await fetchOnce(`${plain.url}${BLOB_PATH}`));
    if (answer.status !== 307 || !String(answer.location).startsWith('https://bucket.example/')) {
      throw new Error(`the plain server answered ${answer.status} ${answer.location ?? ''}, not a redirect to the bucket`);
    }

    say(`HTTP/1.1 keep-alive, plain vs TLS: ${rounds} round(s) of ${duration} s`);
    // 1. HTTP/1.1 keep-alive, rounds alternating plain/TLS.
    /** @type {Record<string, { rps: number[], cpuUsPerRequest: number[], p99: number[], statuses: Record<string, number> }>} */
    const h1 = { plain: { rps: [], cpuUsPerRequest: [], p99: [], statuses: {} }, tls: { rps: [], cpuUsPerRequest: [], p99: [], statuses: {} } };
    const job = (/** @type {string} */ url, /** @type {number} */ seconds) => ({ url, connections, duration: seconds, requests: [{ method: 'GET', path: BLOB_PATH, headers: {} }], rotate: false });
    if (warmupS > 0) for (const server of [plain, secure]) await generator.run(job(server.url, warmupS));
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? [['plain', plain], ['tls', secure]] : [['tls', secure], ['plain', plain]];
      for (const [name, server] of /** @type {Array<[string, typeof plain]>} */ (order)) {
        const { result, cpuUs } = await withServerCpu(server.spawned.pid, () => generator.run(job(server.url, duration)));
        const bucket = h1[name];
        if (!bucket) continue;
        bucket.rps.push(result.rps);
        if (cpuUs !== null && result.answered > 0) bucket.cpuUsPerRequest.push(cpuUs / result.answered);
        bucket.p99.push(result.latencyMs.p99);
        for (const [code, count] of Object.entries(result.statusCounts)) bucket.statuses[code] = (bucket.statuses[code] ?? 0) + Number(count);
        if (result.loadgenCpuShare > 0.9) warnings.push(`${name} round ${round + 1}: the load generator was CPU-bound (req/s is a lower bound)`);
      }
    }
    await loadgen.close();

    // 2. HTTP/2 with h2load against the same TLS server, warmed by the rounds above; no h2load
    // warm-up phase, so every request it sends is in the CPU window.
    /** @type {{ rps: number, cpuUsPerRequest: number | null, failed: number | null, status3xx: number } | undefined} */
    let h2;
    if (spawnSync('h2load', ['--version'], { stdio: 'ignore' }).status === 0) {
      say('HTTP/2 with h2load');
      const h2args = ['-c', String(Math.max(1, Math.floor(connections / 2))), '-m', '10', '-D', String(Math.max(1, Math.round(duration))), `${secure.url}${BLOB_PATH}`];
      const { result, cpuUs } = await withServerCpu(secure.spawned.pid, () => runPinned('h2load', h2args, loadCore));
      const parsed = parseH2load(/** @type {{ out: string }} */ (result).out);
      h2 = { ...parsed, cpuUsPerRequest: cpuUs !== null && parsed.done > 0 ? cpuUs / parsed.done : null };
    } else {
      warnings.push('h2load not found (Debian package nghttp2-client): HTTP/2 not measured');
    }

    // 3. Full handshakes per second, per certificate type.
    /** @type {Record<string, { perCoreSecond: number | null, achieved: number, p50: number | null, p99: number | null, errors: number }>} */
    const handshakes = {};
    for (const [name, pair] of Object.entries(pairs)) {
      say(`full handshakes, ${name}`);
      const server = name === 'ecdsa-p256' ? secure : await start('tls', pair);
      const { result, cpuUs } = await withServerCpu(server.spawned.pid, () => runPinned(process.execPath, [HANDSHAKER, String(new URL(server.url).port), '8', String(duration)], loadCore));
      const report = JSON.parse(/** @type {{ out: string }} */ (result).out.trim().split('\n').pop() ?? '{}');
      handshakes[name] = {
        perCoreSecond: cpuUs ? report.handshakes / (cpuUs / 1e6) : null,
        achieved: report.handshakes / report.durationS,
        p50: report.latencyMs?.p50 ?? null,
        p99: report.latencyMs?.p99 ?? null,
        errors: report.errors,
      };
    }

    const plainCpu = median(h1.plain?.cpuUsPerRequest ?? []);
    const tlsCpu = median(h1.tls?.cpuUsPerRequest ?? []);
    const cpuRatio = plainCpu && tlsCpu ? tlsCpu / plainCpu : null;
    const lines = tlsTables({ h1, h2, handshakes, cpuRatio, plainCpu, tlsCpu, connections });
    lines.push('', `${rounds} round(s) x ${duration} s, ${connections} connections, ${pin ? 'server on CPU 0, load on CPU 1' : 'not pinned'}; load average ${loadStart.toFixed(2)} → ${loadavg()[0].toFixed(2)}.`);
    return { server: kind === 'edge' ? 'registry-edge serve (log warn)' : 'bench/tls-server.js (bare hono app)', h1, h2, handshakes, cpuRatio, plainCpu, tlsCpu, rounds, duration, connections, pinned: pin, warnings, lines };
  } finally {
    await loadgen?.close();
    for (const server of spawned) await stopProcess(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The report's two TLS tables (Markdown lines).
 * @param {Pick<TlsResult, 'h1' | 'h2' | 'handshakes' | 'cpuRatio' | 'plainCpu' | 'tlsCpu' | 'connections'>} result
 */
export function tlsTables({ h1, h2, handshakes, cpuRatio, plainCpu, tlsCpu, connections }) {
  const h2Connections = Math.max(1, Math.floor(connections / 2));
  return [
    '| transport | req/s | server CPU µs/req | ratio to plain | p99 ms | statuses |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    `| plain HTTP/1.1 keep-alive | ${fmt(median(h1.plain?.rps ?? []), 0)} | ${fmt(plainCpu)} | 1.00 | ${fmt(median(h1.plain?.p99 ?? []), 2)} | ${JSON.stringify(h1.plain?.statuses)} |`,
    `| TLS HTTP/1.1 keep-alive | ${fmt(median(h1.tls?.rps ?? []), 0)} | ${fmt(tlsCpu)} | ${fmt(cpuRatio, 2)} (target ≤ ${CPU_RATIO_TARGET}) | ${fmt(median(h1.tls?.p99 ?? []), 2)} | ${JSON.stringify(h1.tls?.statuses)} |`,
    ...(h2 === undefined ? [] : [`| TLS HTTP/2 (h2load, ${h2Connections} connections x 10 streams) | ${fmt(h2.rps, 0)} | ${fmt(h2.cpuUsPerRequest)} | ${fmt(plainCpu && h2.cpuUsPerRequest ? h2.cpuUsPerRequest / plainCpu : null, 2)} | - | ${h2.status3xx} 3xx, ${h2.failed} failed |`]),
    '',
    '| certificate | full handshakes per server CPU second | achieved/s (8 loops) | p50 ms | p99 ms | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(handshakes).map(([name, h]) => `| ${name} | ${fmt(h.perCoreSecond, 0)} | ${fmt(h.achieved, 0)} | ${fmt(h.p50, 2)} | ${fmt(h.p99, 2)} | ${h.errors} |`),
  ];
}

async function main() {
  const argv = process.argv.slice(2);
  const has = (/** @type {string} */ name) => argv.includes(name);
  const value = (/** @type {string} */ name, /** @type {number} */ fallback) => {
    const at = argv.indexOf(name);
    const parsed = at >= 0 ? Number(argv[at + 1]) : NaN;
    return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
  };
  const quick = has('--quick');
  const say = (/** @type {string} */ message) => process.stderr.write(`bench:tls: ${message}\n`);
  const result = await measureTls({
    duration: value('--duration', quick ? 1 : 5),
    rounds: value('--rounds', quick ? 1 : 3),
    connections: value('--connections', 20),
    warmupS: quick ? 0.5 : 2,
    pin: !has('--no-pin'),
    say,
    server: argv.includes('app') && argv[argv.indexOf('app') - 1] === '--server' ? 'app' : 'edge',
  });
  process.stdout.write(`${[...result.lines, ...result.warnings.map((warning) => `Warning: ${warning}`)].join('\n')}\n`);
  const jsonAt = argv.indexOf('--json');
  if (jsonAt >= 0 && argv[jsonAt + 1]) {
    const { lines: _lines, ...data } = result;
    writeFileSync(String(argv[jsonAt + 1]), JSON.stringify(data, null, 2));
  }
  if (has('--check') && (result.cpuRatio === null || result.cpuRatio > CPU_RATIO_TARGET)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
