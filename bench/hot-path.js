#!/usr/bin/env node
// The per-request cost of one layer of `npm run bench`, measured so that two versions of the
// hot path can be compared on a busy machine.
//   --tool callgrind (default): instructions per request, counted by valgrind's callgrind. Unlike
//     CPU time on a shared machine the count barely moves between runs. The server runs under
//     callgrind; after a warm-up that lets V8 optimise the handler the counters are zeroed, a
//     fixed number of keep-alive requests is sent over loopback, and the counters are dumped.
//     Instructions are not time (a cache miss costs more than an add): confirm a win with
//     alternating rounds of `npm run bench`.
//     registry-edge under valgrind used to leave the last requests of a drive unanswered now and
//     then (at load 10-18, never the hono layers): off the CPU for seconds, it closed connections
//     by its 2 s headers timeout. The measured servers now get hour-long timeouts; should a
//     connection still close or go 60 s without an answer, the layer is measured again.
//   --tool cpu-prof: the same requests against `node --cpu-prof`, and the functions with the most
//     self time in the measured window (where the time goes, not how much).
// Usage: node bench/hot-path.js [--tool callgrind|cpu-prof] [--layers hono,edge-info] [--scenarios S1,S2,S3]
//        [--requests 4000] [--warmup 12000] [--connections 8] [--keep DIR] (keeps the profiles)
//        [--bundle FILE] (another build of dist/bundle/cli.js, e.g. the one before a change)
//        [--node-flags a,b] (extra flags for the measured node, e.g. --perf-basic-prof to name JIT code)
//        [--reloads N] (edge layers: N SIGHUP reloads after the warm-up, each followed by a warm-up's
//        worth of requests, so the window shows the speed a process keeps after reloads)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import YAML from 'yaml';
import { locationCandidates, prepareGeo } from './lib/geo-prep.js';
import { startBucketServer } from './lib/bucket-server.js';
import { benchConfig, buildScenarios } from './lib/scenarios.js';
import { BUNDLE, CLI, commandFor, ROOT } from './lib/layers.js';
import { startServer, stopProcess } from './lib/servers.js';
import { parseResponse, serializeRequest } from './lib/http-wire.js';
import { attributeProfile } from './lib/profile.js';
import { selfCosts } from './lib/callgrind-costs.js';
import { probeSameAnswers } from './lib/same-answer.js';

const HOUR_MS = 3_600_000;

/** @param {string[]} argv */
function parseArgs(argv) {
  const options = { tool: 'callgrind', layers: ['hono', 'edge-info'], scenarios: ['S1', 'S2', 'S3'], requests: 4000, warmup: 12000, connections: 8, top: 25, bundle: /** @type {string | undefined} */ (undefined), nodeFlags: /** @type {string[]} */ ([]), reloads: 0, keep: /** @type {string | undefined} */ (undefined) };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value = ''] = [argv[i], argv[i + 1]];
    if (flag === '--tool') options.tool = value;
    else if (flag === '--top') options.top = Number(value);
    else if (flag === '--layers') options.layers = value.split(',');
    else if (flag === '--scenarios') options.scenarios = value.split(',');
    else if (flag === '--requests') options.requests = Number(value);
    else if (flag === '--warmup') options.warmup = Number(value);
    else if (flag === '--connections') options.connections = Number(value);
    else if (flag === '--keep') options.keep = value;
    else if (flag === '--bundle') options.bundle = value;
    else if (flag === '--node-flags') options.nodeFlags = value.split(',').filter(Boolean);
    else if (flag === '--reloads') options.reloads = Number(value);
    else throw new Error(`unknown flag ${flag}`);
  }
  // Only registry-edge reloads on SIGHUP; the bare layers would be killed by it.
  if (options.reloads > 0 && options.layers.some((layer) => !layer.startsWith('edge-'))) throw new Error('--reloads needs --layers of registry-edge only (edge-info, edge-silent, ...)');
  return options;
}

/** A port free right now (the server is told it up front: at level silent it prints nothing). */
function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = /** @type {import('node:net').AddressInfo} */ (probe.address());
      probe.close(() => resolve(address.port));
    });
  });
}

/**
 * Sends COUNT requests over CONNECTIONS keep-alive sockets, one outstanding per socket, taking
 * REQUESTS in turn (a mix such as S5's is sent whole, in its order, again and again).
 * @param {string} url @param {Buffer[]} requests @param {number} count @param {number} connections
 */
function drive(url, requests, count, connections) {
  const { hostname, port } = new URL(url);
  let sent = 0;
  let answered = 0;
  /** @type {Record<number, number>} */
  const statuses = {};
  return new Promise((resolve, reject) => {
    // valgrind now and then stops serving after a control command: say so instead of waiting forever.
    let last = answered;
    const watchdog = setInterval(() => {
      if (answered === last) {
        clearInterval(watchdog);
        for (const socket of sockets) socket.destroy();
        reject(new Error(`no answer for 60 s after ${answered} of ${count}: the server stalled`));
      }
      last = answered;
    }, 60_000);
    watchdog.unref();
    /** @type {import('node:net').Socket[]} */
    const sockets = [];
    for (let c = 0; c < connections; c++) {
      const socket = connect(Number(port), hostname);
      sockets.push(socket);
      let buffer = Buffer.alloc(0);
      let waiting = false;
      const next = () => {
        if (sent >= count) {
          socket.end();
          return;
        }
        waiting = true;
        socket.write(/** @type {Buffer} */ (requests[sent % requests.length]));
        sent++;
      };
      socket.on('connect', next);
      socket.on('data', (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (let parsed = parseResponse(buffer); parsed !== null; parsed = parseResponse(buffer)) {
          if ('error' in parsed) return reject(new Error(parsed.error));
          statuses[parsed.status] = (statuses[parsed.status] ?? 0) + 1;
          waiting = false;
          buffer = buffer.subarray(parsed.end);
          if (++answered === count) {
            clearInterval(watchdog);
            resolve(statuses);
          }
          next();
        }
      });
      socket.on('error', reject);
      // A connection the server closes while its request is unanswered is a stall too: say so now.
      socket.on('close', () => {
        if (waiting) {
          clearInterval(watchdog);
          reject(new Error(`the server closed a connection after ${answered} of ${count} answers: the server stalled`));
        }
      });
    }
  });
}

/** The `summary:`/`totals:` instruction count of a callgrind dump. @param {string} file */
function totalInstructions(file) {
  const text = readFileSync(file, 'utf8');
  const match = /^(?:summary|totals):\s+(\d+)/m.exec(text);
  if (!match) throw new Error(`no totals in ${file}`);
  return Number(match[1]);
}

/** V8's optimising compilers and their allocator: when a late optimisation falls into the window it adds 10-15k per request. */
const COMPILING = /compiler::|Compiler::|Pipeline|Zone|LiveRange|_Rb_tree|maglev::|turboshaft::|interpreter::|Compile/;

/** Instructions per request spent compiling, from the dump's self costs. @param {string} file @param {number} requests */
function compilingPerRequest(file, requests) {
  let sum = 0;
  for (const [entry, cost] of selfCosts(file, requests)) if (COMPILING.test(entry)) sum += cost;
  return sum;
}

/** @param {number} pid @param {string} flag */
function control(pid, flag) {
  const out = spawnSync('callgrind_control', [flag, String(pid)], { encoding: 'utf8', timeout: 120_000 });
  if (out.status !== 0) throw new Error(`callgrind_control ${flag} ${pid}: ${out.stderr || out.stdout}`);
}

/**
 * What registry-edge (info → file, not under the tool) answers and logs for SCENARIO, for the hono-same layer.
 * @param {any} options @param {any} scenario @param {(variant: string, level: string, events: boolean) => string} configFor @param {{ url: string }} bucket @param {string} dir
 */
async function probeAnswers(options, scenario, configFor, bucket, dir) {
  const port = await freePort();
  const logFile = join(dir, `${scenario.id}.probe.log`);
  const spec = commandFor({ id: 'edge-info', layer: 'edge-info', label: 'probe', node: undefined, local: true }, {
    port, configFor: (level) => configFor(scenario.config, level, false), bucketUrl: bucket.url, edgeStub: false, logFile,
  });
  if (options.bundle) spec.args = spec.args.map((arg) => (arg === BUNDLE ? options.bundle : arg));
  const server = await startServer({ ...spec, core: undefined, port });
  const file = join(dir, `${scenario.id}.answers.json`);
  try {
    await probeSameAnswers({ url: server.url, logFile }, scenario.requests, file);
  } finally {
    await stopProcess(server.spawned);
  }
  return file;
}

/**
 * Runs one layer's server for SCENARIO under the chosen tool and returns its figure.
 * @param {any} options @param {any} scenario @param {string} layer @param {(variant: string, level: string, events: boolean) => string} configFor @param {{ url: string }} bucket @param {string} dir
 */
async function measureLayer(options, scenario, layer, configFor, bucket, dir) {
  const port = await freePort();
  const profiling = options.tool === 'cpu-prof';
  const out = join(dir, `${options.tool}.${scenario.id}.${layer}`);
  const context = {
    configFor: (/** @type {string} */ level, /** @type {boolean | undefined} */ events) => configFor(scenario.config, level, events ?? false),
    bucketUrl: bucket.url,
    edgeStub: false,
    answersFile: layer === 'hono-same' ? await probeAnswers(options, scenario, configFor, bucket, dir) : undefined,
  };
  const spec = commandFor({ id: layer, layer, label: layer, node: undefined, local: true }, {
    ...context,
    port,
    logFile: join(dir, `${scenario.id}.${layer}.log`),
    nodeFlags: [...(profiling ? ['--cpu-prof', `--cpu-prof-dir=${out}`] : []), ...options.nodeFlags],
  });
  // --bundle: another build of cli.js (say, the one before a change) in place of dist/bundle's.
  if (options.bundle) spec.args = spec.args.map((arg) => (arg === BUNDLE || arg === CLI ? options.bundle : arg));
  const command = profiling ? spec.command : 'valgrind';
  // One thread for V8 (no concurrent compiler or GC helpers): control commands then do not stall the server, and the count repeats.
  const args = profiling ? spec.args : ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}.out`, spec.command, '--single-threaded', ...spec.args];
  const server = await startServer({ command, args, core: undefined, port, anyStatus: spec.anyStatus, timeoutMs: 180_000, stdoutFile: spec.stdoutFile, env: spec.env });
  const host = new URL(server.url).host;
  // A rotating scenario (S5's pull mix) is driven whole; the others repeat their first request.
  const requests = (scenario.rotate ? scenario.requests : scenario.requests.slice(0, 1)).map((/** @type {any} */ r) => serializeRequest(r.request, host));
  let statuses;
  let fromUs = 0;
  let toUs = 0;
  try {
    if (!profiling) control(server.spawned.pid, '--instr=on');
    // The warm-up is three drives, not one: the first time connections close and new ones open,
    // node's socket and stream objects change shape and a wave of its functions deoptimises; in
    // one drive that wave and its recompilation (over a third of the count) fell into the window.
    for (let round = 0; round < 3; round++) await drive(server.url, requests, Math.ceil(options.warmup / 3), options.connections);
    // Each reload ends with a memory-reducing collection once the old generation is idle; what
    // it leaves behind (shapes V8 dropped, docs/operations.md) shows in the window.
    for (let reload = 0; reload < options.reloads; reload++) {
      process.kill(server.spawned.pid, 'SIGHUP');
      await drive(server.url, requests, options.warmup, options.connections);
    }
    // A dump also zeroes the counters; the measured window is the next dump.
    if (!profiling) control(server.spawned.pid, '--dump');
    fromUs = Number(process.hrtime.bigint() / 1000n);
    statuses = await drive(server.url, requests, options.requests, options.connections);
    toUs = Number(process.hrtime.bigint() / 1000n);
    if (!profiling) control(server.spawned.pid, '--dump');
  } finally {
    await stopProcess(server.spawned);
  }
  if (profiling) {
    const file = readdirSync(out).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile in ${out}`);
    const profile = attributeProfile(JSON.parse(readFileSync(join(out, file), 'utf8')), { fromUs, toUs, top: options.top });
    return { statuses, perRequest: profile.busyUs / options.requests, compiling: undefined, unit: 'sampled busy µs/request', profile };
  }
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`${options.tool}.${scenario.id}.${layer}.out.`)).sort();
  const last = dumps[dumps.length - 1];
  if (!last) throw new Error(`no callgrind dump for ${scenario.id} ${layer}`);
  const compiling = compilingPerRequest(join(dir, last), options.requests);
  return { statuses, perRequest: totalInstructions(join(dir, last)) / options.requests, compiling, unit: 'instructions/request', profile: undefined };
}

/**
 * One layer's figure, measured again on a fresh server when the first one stalled (see the
 * open problem above): a stall loses the run's time, not the whole comparison.
 * @template T @param {() => Promise<T>} measure @param {string} what
 */
async function measureOnce(measure, what) {
  try {
    return await measure();
  } catch (error) {
    if (!String(error).includes('stalled')) throw error;
    console.error(`${what}: ${String(error)}; measuring it again on a fresh server`);
    return measure();
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const tmp = mkdtempSync(join(tmpdir(), 'registry-edge-hot-path-'));
  const dir = options.keep ?? join(tmp, 'out');
  mkdirSync(dir, { recursive: true });
  const geo = await prepareGeo({ root: ROOT, tmp, compile: true, warnings: [], ranges: undefined, say: () => {} });
  const built = buildScenarios({ entries: geo.entries });
  // S3g places its client by the compact city file, where `npm run bench` finds it (it is not built here).
  const locationsFile = locationCandidates({ root: ROOT, given: undefined }).find((file) => existsSync(file));
  const bucket = await startBucketServer(built.presentDigests);
  /** @type {Map<string, string>} */
  const configs = new Map();
  const configFor = (/** @type {string} */ variant, /** @type {string} */ level, /** @type {boolean} */ events = false) => {
    const key = `${variant}-${level}-${events}`;
    const known = configs.get(key);
    if (known) return known;
    const config = benchConfig({ bucketUrl: bucket.url, rangesFile: geo.rangesFile, port: 0, variant: /** @type {any} */ (variant), locationsFile, logLevel: level, events });
    // Under valgrind on a busy machine the server can be off the CPU for seconds: with the default
    // 2 s headers timeout node's connection check then closed a connection whose next request was
    // already waiting in its buffer, and the drive waited for an answer that never came.
    config.listen = { ...config.listen, headers_timeout_ms: HOUR_MS, request_timeout_ms: HOUR_MS, keep_alive_timeout_ms: HOUR_MS };
    const file = join(tmp, `${key}.yaml`);
    writeFileSync(file, YAML.stringify(config));
    configs.set(key, file);
    return file;
  };
  const rows = [];
  try {
    for (const scenario of built.scenarios.filter((s) => options.scenarios.includes(s.id))) {
      for (const layer of options.layers) {
        const result = await measureOnce(() => measureLayer(options, scenario, layer, configFor, bucket, dir), `${scenario.id} ${layer}`);
        rows.push({ scenario: scenario.id, layer, ...result });
        const compiling = result.compiling === undefined ? '' : ` (${Math.round(result.compiling)} of them compiling)`;
        console.log(`${scenario.id} ${layer}: ${result.perRequest.toFixed(result.profile ? 2 : 0)} ${result.unit}${compiling} ${JSON.stringify(result.statuses)}`);
        for (const f of result.profile?.byFunction ?? []) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name} [${f.package}]`);
      }
    }
  } finally {
    await bucket.close();
    if (options.keep === undefined) rmSync(tmp, { recursive: true, force: true });
  }
  // A late optimisation in the window is not the request's steady cost: the last column leaves it out.
  console.log(`\n| scenario | layer | ${rows[0]?.unit ?? ''} | without compiling |\n| --- | --- | ---: | ---: |`);
  const figure = (/** @type {number} */ n) => Math.round(n).toLocaleString('en-US');
  for (const row of rows) {
    console.log(`| ${row.scenario} | ${row.layer} | ${row.profile ? row.perRequest.toFixed(2) : figure(row.perRequest)} | ${row.compiling === undefined ? '' : figure(row.perRequest - row.compiling)} |`);
  }
}

await main();
