#!/usr/bin/env node
// `npm run bench:tls`: what TLS at the door costs, on loopback, against the built
// `registry-edge serve` answering a warm blob redirect (a networks rule, the blob known from an
// inventory, log level warn) plain and with `listen.tls`; `--server app` measures
// bench/tls-server.js instead (a bare hono app through registry-edge's TLS listener factory):
//   1. warm blob redirect, HTTP/1.1 keep-alive, TLS vs plain: server CPU per request and its
//      ratio (target: TLS <= 1.25x plain); autocannon as the load generator. In the same
//      alternating rounds, node's floor: node:http vs node:https answering the same 307 with
//      no framework, and a bare hono app over both (bench/tls-server.js --stack node|hono), so
//      the report shows how much of the TLS cost is node's own (--no-floor skips them);
//   2. the same over HTTP/2 with Debian's h2load (nghttp2-client): req/s and CPU per request;
//   3. new TLS connections (full handshakes) with ECDSA P-256 and RSA 2048 certificates: the
//      rate one server core sustains (handshakes per server CPU second) and p99 latency.
// Server on CPU 0, load on CPU 1 (taskset) when possible. Certificates are made with openssl
// in a temp dir. Flags: --quick (1 s rounds), --duration S, --rounds N, --connections N,
// --no-floor, --check (exit 1 when the CPU ratio target is missed), --json FILE. `npm run bench`
// runs the same measurement (measureTls) with its own round settings and puts its tables in
// the report.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { startLoadGenerator } from './lib/loadgen.js';
import { fetchOnce, freePort, spawnPinned, stopProcess, tasksetAvailable } from './lib/servers.js';
import { median } from './lib/stats.js';
import { reachableTlsRatio } from './lib/report-extras.js';
import { acceptsConnections, BLOB_PATH, edgeBenchConfig, makeCertificates, runPinned, withServerCpu } from './lib/tls-setup.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const SERVER = join(BENCH_DIR, 'tls-server.js');
const HANDSHAKER = join(BENCH_DIR, 'lib', 'handshake-child.js');
const EDGE_CLI = join(BENCH_DIR, '..', 'dist', 'bundle', 'cli.js');
const CPU_RATIO_TARGET = 1.25;

export const TLS_CPU_RATIO_TARGET = CPU_RATIO_TARGET;

/**
 * The servers of the HTTP/1.1 rows, each run plain and over TLS: the one measured (edge or app)
 * first, then node's floor.
 * @type {Record<'edge' | 'app' | 'hono' | 'node', string>}
 */
export const STACK_LABELS = {
  edge: 'registry-edge serve (log warn)',
  app: 'bare hono app, registry-edge\'s TLS listener factory',
  hono: 'bare hono app, node:http / node:https',
  node: 'node:http / node:https, fixed 307 (node\'s floor)',
};

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
 * @typedef {'edge' | 'app' | 'hono' | 'node'} Stack
 * @typedef {{ stack: Stack, label: string, plainCpu: number | null, tlsCpu: number | null, ratio: number | null, extraUs: number | null, plainRps: number | null, tlsRps: number | null }} StackRow
 * @typedef {{ server: string, h1: Record<string, H1Samples>, floor: Record<string, Record<string, H1Samples>>, stacks: StackRow[], beyondFloorUs: number | null,
 *   h2: { rps: number, cpuUsPerRequest: number | null, failed: number | null, status3xx: number } | undefined,
 *   handshakes: Record<string, { perCoreSecond: number | null, achieved: number, p50: number | null, p99: number | null, errors: number }>,
 *   cpuRatio: number | null, plainCpu: number | null, tlsCpu: number | null, rounds: number, duration: number, connections: number, pinned: boolean, warnings: string[], lines: string[] }} TlsResult
 */

const emptySamples = () => /** @type {H1Samples} */ ({ rps: [], cpuUsPerRequest: [], p99: [], statuses: {} });

/** One stack's row: medians, TLS ÷ plain and TLS − plain. @param {Stack} stack @param {Record<string, H1Samples>} samples @returns {StackRow} */
export function stackRow(stack, samples) {
  const plainCpu = median(samples.plain?.cpuUsPerRequest ?? []);
  const tlsCpu = median(samples.tls?.cpuUsPerRequest ?? []);
  return {
    stack,
    label: STACK_LABELS[stack],
    plainCpu,
    tlsCpu,
    ratio: plainCpu && tlsCpu ? tlsCpu / plainCpu : null,
    extraUs: plainCpu && tlsCpu ? tlsCpu - plainCpu : null,
    plainRps: median(samples.plain?.rps ?? []),
    tlsRps: median(samples.tls?.rps ?? []),
  };
}

/**
 * The whole TLS measurement; servers, certificates and its load generator are its own and
 * stopped before it returns.
 * @param {{ duration: number, rounds: number, connections: number, warmupS: number, pin: boolean, say: (message: string) => void, server?: 'edge' | 'app', floor?: boolean }} settings
 * @returns {Promise<TlsResult>}
 */
export async function measureTls({ duration, rounds, connections, warmupS, pin: wantPin, say, server: kind = 'edge', floor = true }) {
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
    const start = async (/** @type {Stack} */ stack, /** @type {string} */ mode, /** @type {{ cert: string, key: string } | undefined} */ pair) => {
      const port = stack === 'edge' ? await freePort() : 0;
      const args = stack === 'edge'
        ? [EDGE_CLI, 'serve', '--config', edgeBenchConfig(dir, `${mode}-${spawned.length}`, pair), '--port', String(port)]
        : [SERVER, '--mode', mode, '--stack', stack === 'app' ? 'factory' : stack, ...(pair ? ['--cert', pair.cert, '--key', pair.key] : [])];
      const server = spawnPinned({ command: process.execPath, args, core: serverCore });
      spawned.push(server);
      // bench/tls-server.js prints a listening line; registry-edge at level warn prints none, so
      // its port is polled (a plain probe of the TLS port would be a TLS failure, hence a handshake).
      const ready = stack === 'edge'
        ? acceptsConnections(port, mode === 'tls').then(() => port)
        : new Promise((resolve) => server.onListening((info) => resolve(info.port)));
      const bound = await Promise.race([
        ready,
        server.exited.then(() => { throw new Error(`${args.slice(0, 2).join(' ')} (${mode}) exited:\n${server.output()}`); }),
      ]);
      return { spawned: server, url: `${mode === 'tls' ? 'https' : 'http'}://127.0.0.1:${bound}` };
    };
    /** @type {Stack[]} */
    const stacks = [kind, ...(floor ? /** @type {Stack[]} */ (['hono', 'node']) : [])];
    /** Every server of the HTTP/1.1 rounds, in round order; all TLS ones with the ECDSA P-256 pair. */
    const servers = [];
    for (const stack of stacks) {
      for (const mode of ['plain', 'tls']) servers.push({ stack, mode, ...(await start(stack, mode, mode === 'tls' ? pairs['ecdsa-p256'] : undefined)) });
    }
    const [plain, secure] = /** @type {[typeof servers[0], typeof servers[0]]} */ (servers);
    // The redirect measured must be the warm bucket one, not a fallback to the origin.
    const answer = /** @type {{ status: number, location?: string }} */ (await fetchOnce(`${plain.url}${BLOB_PATH}`));
    if (answer.status !== 307 || !String(answer.location).startsWith('https://bucket.example/')) {
      throw new Error(`the plain server answered ${answer.status} ${answer.location ?? ''}, not a redirect to the bucket`);
    }

    say(`HTTP/1.1 keep-alive, plain vs TLS (${stacks.join(', ')}): ${rounds} round(s) of ${duration} s`);
    // 1. HTTP/1.1 keep-alive, rounds alternating through every server, forwards then backwards,
    // so a change in the machine's load lands on all of them alike.
    /** @type {Record<string, Record<string, H1Samples>>} */
    const samples = Object.fromEntries(stacks.map((stack) => [stack, { plain: emptySamples(), tls: emptySamples() }]));
    const job = (/** @type {string} */ url, /** @type {number} */ seconds) => ({ url, connections, duration: seconds, requests: [{ method: 'GET', path: BLOB_PATH, headers: {} }], rotate: false });
    if (warmupS > 0) for (const server of servers) await generator.run(job(server.url, warmupS));
    for (let round = 0; round < rounds; round += 1) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const { result, cpuUs } = await withServerCpu(server.spawned.pid, () => generator.run(job(server.url, duration)));
        const bucket = /** @type {H1Samples} */ (samples[server.stack]?.[server.mode]);
        bucket.rps.push(result.rps);
        if (cpuUs !== null && result.answered > 0) bucket.cpuUsPerRequest.push(cpuUs / result.answered);
        bucket.p99.push(result.latencyMs.p99);
        for (const [code, count] of Object.entries(result.statusCounts)) bucket.statuses[code] = (bucket.statuses[code] ?? 0) + Number(count);
        if (result.loadgenCpuShare > 0.9) warnings.push(`${server.stack} ${server.mode} round ${round + 1}: the load generator was CPU-bound (req/s is a lower bound)`);
      }
    }
    await loadgen.close();
    // Only the measured stack goes on to HTTP/2 and handshakes.
    for (const server of servers.slice(2)) await stopProcess(server.spawned);

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
      const server = name === 'ecdsa-p256' ? secure : await start(kind, 'tls', pair);
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

    const rows = stacks.map((stack) => stackRow(stack, samples[stack] ?? {}));
    const [measured, , nodeRow] = rows;
    const h1 = samples[kind] ?? {};
    const { plainCpu, tlsCpu, ratio: cpuRatio } = /** @type {StackRow} */ (measured);
    const beyondFloorUs = measured?.extraUs != null && nodeRow?.extraUs != null ? measured.extraUs - nodeRow.extraUs : null;
    const lines = tlsTables({ h1, h2, handshakes, cpuRatio, plainCpu, tlsCpu, connections, stacks: rows, beyondFloorUs });
    lines.push('', `${rounds} round(s) x ${duration} s, ${connections} connections, ${pin ? 'server on CPU 0, load on CPU 1' : 'not pinned'}; load average ${loadStart.toFixed(2)} → ${loadavg()[0].toFixed(2)}.`);
    const floorSamples = Object.fromEntries(stacks.slice(1).map((stack) => [stack, samples[stack] ?? {}]));
    return { server: STACK_LABELS[kind], h1, floor: floorSamples, stacks: rows, beyondFloorUs, h2, handshakes, cpuRatio, plainCpu, tlsCpu, rounds, duration, connections, pinned: pin, warnings, lines };
  } finally {
    await loadgen?.close();
    for (const server of spawned) await stopProcess(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The report's TLS tables (Markdown lines): transports of the measured server, the floor rows
 * beside it, and handshakes.
 * @param {Pick<TlsResult, 'h1' | 'h2' | 'handshakes' | 'cpuRatio' | 'plainCpu' | 'tlsCpu' | 'connections'> & { stacks?: StackRow[], beyondFloorUs?: number | null }} result
 */
export function tlsTables({ h1, h2, handshakes, cpuRatio, plainCpu, tlsCpu, connections, stacks = [], beyondFloorUs = null }) {
  const h2Connections = Math.max(1, Math.floor(connections / 2));
  return [
    '| transport | req/s | server CPU µs/req | ratio to plain | p99 ms | statuses |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    `| plain HTTP/1.1 keep-alive | ${fmt(median(h1.plain?.rps ?? []), 0)} | ${fmt(plainCpu)} | 1.00 | ${fmt(median(h1.plain?.p99 ?? []), 2)} | ${JSON.stringify(h1.plain?.statuses)} |`,
    `| TLS HTTP/1.1 keep-alive | ${fmt(median(h1.tls?.rps ?? []), 0)} | ${fmt(tlsCpu)} | ${fmt(cpuRatio, 2)} (target ≤ ${CPU_RATIO_TARGET}) | ${fmt(median(h1.tls?.p99 ?? []), 2)} | ${JSON.stringify(h1.tls?.statuses)} |`,
    ...(h2 === undefined ? [] : [`| TLS HTTP/2 (h2load, ${h2Connections} connections x 10 streams) | ${fmt(h2.rps, 0)} | ${fmt(h2.cpuUsPerRequest)} | ${fmt(plainCpu && h2.cpuUsPerRequest ? h2.cpuUsPerRequest / plainCpu : null, 2)} | - | ${h2.status3xx} 3xx, ${h2.failed} failed |`]),
    ...(stacks.length < 2 ? [] : floorTable(stacks, beyondFloorUs)),
    '',
    '| certificate | full handshakes per server CPU second | achieved/s (8 loops) | p50 ms | p99 ms | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(handshakes).map(([name, h]) => `| ${name} | ${fmt(h.perCoreSecond, 0)} | ${fmt(h.achieved, 0)} | ${fmt(h.p50, 2)} | ${fmt(h.p99, 2)} | ${h.errors} |`),
  ];
}

/** Node's floor beside ours: the same 307, certificate and load, rounds alternating. @param {StackRow[]} stacks @param {number | null} beyondFloorUs */
function floorTable(stacks, beyondFloorUs) {
  const reachable = reachableTlsRatio(stacks);
  return [
    '',
    '| HTTP/1.1 keep-alive, same rounds | plain µs/req | TLS µs/req | TLS − plain µs/req | TLS ÷ plain | plain req/s | TLS req/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...stacks.map((row) => `| ${row.label} | ${fmt(row.plainCpu)} | ${fmt(row.tlsCpu)} | ${fmt(row.extraUs)} | ${fmt(row.ratio, 2)} | ${fmt(row.plainRps, 0)} | ${fmt(row.tlsRps, 0)} |`),
    '',
    `TLS adds ${fmt(stacks[0]?.extraUs)} µs/req to ${stacks[0]?.label} and ${fmt(stacks.at(-1)?.extraUs)} µs/req to node's bare 307: ${fmt(beyondFloorUs)} µs/req beyond node's floor.`,
    ...(reachable === null ? [] : [`With node's TLS cost and nothing of ours, ${stacks[0]?.label} would be at ${fmt(reachable, 2)}x plain: the lowest ratio it can reach on node (target ≤ ${CPU_RATIO_TARGET}x).`]),
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
    floor: !has('--no-floor'),
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
