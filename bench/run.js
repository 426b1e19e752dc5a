#!/usr/bin/env node
// `npm run bench`: load-tests registry-edge against a raw node:http baseline (and, with
// --target, any other registry front door) on loopback, and publishes the numbers under
// bench/results/. Run `node bench/run.js --help` for flags; bench/README.md explains it.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import YAML from 'yaml';
import { parseArgs, USAGE } from './lib/args.js';
import { feedDirComplete, readFeedDir, syntheticFeeds, AWS_FEED_FILE, GCP_FEED_FILE } from './lib/feed.js';
import { buildScenarios, benchConfig, judgeAnswer } from './lib/scenarios.js';
import { startBucketServer } from './lib/bucket-server.js';
import { startLoadGenerator } from './lib/loadgen.js';
import { clockTicksPerSecond, cpuTicks, fetchOnce, freePort, memoryKb, startServer, stopProcess, tasksetAvailable } from './lib/servers.js';
import { median, summarizeRounds } from './lib/stats.js';
import { evaluateChecks, renderMarkdown, renderSvg } from './lib/report.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const BASELINE = join(BENCH_DIR, 'baseline.js');
const SHARED_RANGES = resolve(ROOT, '..', 'shared', 'ranges');

/** Progress goes to stderr so stdout carries only the final Markdown table. @param {string} message */
const say = (message) => process.stderr.write(`bench: ${message}\n`);

/** @param {string} path */
const sizeOf = (path) => (existsSync(path) ? statSync(path).size : 0);

/**
 * Feeds for client-IP picking and the ranges MMDB the server loads: compiled from the shared
 * real feeds when present, else from a synthetic feed of the same size; without a working
 * `geo update` the server runs with no cloud ranges, which the report says.
 * @param {{ tmp: string, compile: boolean, warnings: string[], ranges: string | undefined }} input
 */
function prepareGeo({ tmp, compile, warnings, ranges }) {
  let feedDir = ranges === undefined || ranges === 'synthetic' ? SHARED_RANGES : resolve(ranges);
  let source = ranges === undefined ? 'shared' : 'given';
  if (ranges !== undefined && ranges !== 'synthetic' && !feedDirComplete(feedDir)) {
    throw new Error(`--ranges ${ranges}: expected ${AWS_FEED_FILE} and ${GCP_FEED_FILE} in ${feedDir}`);
  }
  if (ranges === 'synthetic' || !feedDirComplete(feedDir)) {
    if (ranges === undefined) say(`${SHARED_RANGES} not found: generating a synthetic AWS-format feed instead`);
    feedDir = join(tmp, 'feeds');
    mkdirSync(feedDir);
    const feeds = syntheticFeeds();
    writeFileSync(join(feedDir, AWS_FEED_FILE), JSON.stringify(feeds.aws));
    writeFileSync(join(feedDir, GCP_FEED_FILE), JSON.stringify(feeds.gcp));
    source = 'synthetic';
  }
  const entries = readFeedDir(feedDir);
  const origin = { shared: 'real AWS + Google Cloud feeds from ../shared/ranges', given: `feeds from ${feedDir}`, synthetic: 'synthetic AWS + GCP feeds (../shared/ranges absent or --ranges synthetic)' };
  const feedText = `${origin[/** @type {keyof typeof origin} */ (source)]} (${entries.length.toLocaleString('en-US')} prefixes)`;
  // Its own directory: `geo update` may write companions (a compact city database) next to
  // the ranges file, and the server loads those too, so they count as loaded geo data.
  const geoDir = join(tmp, 'geo');
  mkdirSync(geoDir);
  const rangesFile = join(geoDir, 'cloud-ranges.mmdb');
  let compiled = false;
  if (compile) {
    const started = Date.now();
    const out = spawnSync(process.execPath, [CLI, 'geo', 'update', '--from', feedDir, '--out', rangesFile], { encoding: 'utf8', timeout: 180_000 });
    compiled = out.status === 0 && existsSync(rangesFile);
    if (compiled) say(`compiled ${rangesFile} (${(sizeOf(rangesFile) / 1e6).toFixed(1)} MB) in ${Date.now() - started} ms`);
    else {
      const reason = (out.stderr || out.stdout || String(out.error ?? '')).trim().split('\n').slice(-2).join(' ');
      warnings.push(`\`registry-edge geo update\` failed or does not exist yet (${reason || `exit ${out.status}`}): registry-edge ran WITHOUT cloud ranges, so S3/S5 cloud clients were not recognised`);
      say(warnings[warnings.length - 1] ?? '');
    }
  }
  const files = readdirSync(geoDir).filter((f) => f.endsWith('.mmdb')).map((f) => ({ file: f, bytes: sizeOf(join(geoDir, f)) }));
  const loadedBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  const detail = compiled
    ? `${feedText} compiled by \`registry-edge geo update\` into ${files.map((f) => `${f.file} (${(f.bytes / 1e6).toFixed(1)} MB)`).join(' and ')}`
    : `${feedText} used to pick client addresses; no ranges MMDB${compile ? '' : ' (not compiled for this run)'}`;
  return { entries, source, rangesFile, compiled, files, loadedBytes, detail };
}

/** @param {any} server @param {import('./lib/scenarios.js').Scenario} scenario @param {string} bucketUrl */
async function sanityPass(server, scenario, bucketUrl) {
  const seen = new Set();
  /** @type {Record<string, number>} */
  const statusCounts = {};
  /** @type {string[]} */
  const wrong = [];
  let wrongCount = 0;
  for (const { request, expect } of scenario.requests) {
    const key = `${request.path} ${request.headers['x-forwarded-for'] ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const answer = /** @type {{ status: number, location: string | undefined }} */ (await fetchOnce(`${server.url}${request.path}`, request.headers, 5000));
    statusCounts[answer.status] = (statusCounts[answer.status] ?? 0) + 1;
    if (server.id !== 'edge') continue;
    const reason = judgeAnswer(expect, answer, bucketUrl);
    if (reason) {
      wrongCount += 1;
      if (wrong.length < 3) wrong.push(`${request.path} (X-Forwarded-For: ${request.headers['x-forwarded-for'] ?? '-'}): ${reason}`);
    }
  }
  return { checked: seen.size, statusCounts, wrongCount, wrong };
}

/** Set by SIGINT/SIGTERM: the run then ends with status 130 once everything is stopped. */
let interrupted = false;

/** @param {any} options */
async function main(options) {
  const startedAt = new Date();
  const warnings = /** @type {string[]} */ ([]);
  const loadavgStart = loadavg()[0] ?? 0;
  if (loadavgStart > 0.7) warnings.push(`load average was ${loadavgStart.toFixed(2)} at start: other work shares these ${cpus().length} CPUs, so numbers are noisy (ratios hold up better than absolutes)`);
  const pinned = options.pin && cpus().length >= 2 && tasksetAvailable();
  const serverCore = pinned ? 0 : undefined;
  const loadCore = pinned ? 1 : undefined;
  const wantEdge = options.servers.includes('edge');
  const realEdge = wantEdge && !options.edgeStub;
  if (realEdge && !existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build first (npm run build, or use npm run bench which does), or pass --servers baseline / --edge-stub`);
  }

  const tmp = mkdtempSync(join(tmpdir(), 'registry-edge-bench-'));
  /** @type {(() => Promise<void>)[]} */
  const cleanups = [async () => rmSync(tmp, { recursive: true, force: true })];
  /** @type {Promise<void> | undefined} */
  let cleaning;
  // One shared run of the undo steps: a signal and the run's own error path both wait on it,
  // so nothing exits while a server it started is still alive.
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const step of cleanups.splice(0).reverse()) await step().catch(() => {});
    })());
  /** Registers an undo step; once cleanup has begun (a signal came), runs it at once. @param {() => Promise<void>} step */
  const onCleanup = (step) => {
    if (cleaning) void step().catch(() => {});
    else cleanups.push(step);
  };
  const onSignal = () => {
    interrupted = true;
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const geo = prepareGeo({ tmp, compile: realEdge, warnings, ranges: options.ranges });
    const built = buildScenarios({ entries: geo.entries });
    if (!built.s3Client) warnings.push('no unambiguous eu-west-3 address in the feed: S3/S4 used 192.0.2.1 (a non-cloud client)');
    const scenarios = built.scenarios.filter((s) => options.scenarios.includes(s.id));

    const bucket = await startBucketServer(built.presentDigests);
    onCleanup(() => bucket.close());
    const configFile = join(tmp, 'bench-config.yaml');
    // serve's --port overrides listen.port, so one file serves every start.
    const edgeConfig = benchConfig({ bucketUrl: bucket.url, rangesFile: geo.rangesFile, port: 0 });
    writeFileSync(configFile, YAML.stringify(edgeConfig));
    if (realEdge) {
      const checked = spawnSync(process.execPath, [CLI, 'check-config', configFile], { encoding: 'utf8', timeout: 60_000 });
      if (checked.status !== 0) throw new Error(`registry-edge check-config rejected the bench config:\n${checked.stderr || checked.stdout}`);
    }

    /** @param {string} id @param {number} port */
    const commandFor = (id, port) => {
      if (id === 'edge' && realEdge) return { command: process.execPath, args: [CLI, 'serve', '--config', configFile, '--port', String(port)] };
      return { command: process.execPath, args: [BASELINE, '--port', String(port)], anyStatus: true };
    };
    const localIds = options.servers;
    const labels = /** @type {Record<string, string>} */ ({ baseline: 'node:http baseline', edge: realEdge ? 'registry-edge' : 'registry-edge (stub: baseline)' });

    /** @type {Record<string, { samplesMs: number[], medianMs: number | null, firstStatus: number }>} */
    const startup = {};
    // Start-up is spawn until the first 200 on /v2/ (for the baseline: its first answer).
    for (let run = 0; run < options.startupRuns; run += 1) {
      // Interleaved, so a burst of background load does not land on one server only.
      for (const id of localIds) {
        const port = await freePort();
        const started = await startServer({ ...commandFor(id, port), core: serverCore, port, onSpawn: (spawned) => onCleanup(() => stopProcess(spawned)) });
        await stopProcess(started.spawned);
        const entry = startup[id] ?? { samplesMs: [], medianMs: null, firstStatus: started.firstStatus };
        entry.samplesMs.push(Math.round(started.startupMs * 10) / 10);
        startup[id] = entry;
      }
    }
    for (const entry of Object.values(startup)) entry.medianMs = median(entry.samplesMs);
    if (startup.edge) say(`start-up registry-edge: ${startup.edge.samplesMs.join(', ')} ms`);

    /** @type {any[]} */
    const servers = [];
    for (const id of localIds) {
      const port = await freePort();
      const started = await startServer({ ...commandFor(id, port), core: serverCore, port, onSpawn: (spawned) => onCleanup(() => stopProcess(spawned)) });
      servers.push({ id, label: labels[id], url: started.url, pid: started.spawned.pid, local: true, spawned: started.spawned });
    }
    if (options.target) {
      servers.push({ id: 'target', label: options.targetName ?? options.target, url: options.target, pid: options.targetPid, local: false });
    }
    const loadgen = startLoadGenerator({ core: loadCore });
    onCleanup(() => loadgen.close());
    const ticksPerSecond = clockTicksPerSecond();

    /** @type {any[]} */
    const scenarioResults = [];
    for (const scenario of scenarios) {
      const requests = scenario.requests.map((r) => r.request);
      /** @type {Record<string, any>} */
      const byServer = {};
      for (const server of servers) {
        const sanity = await sanityPass(server, scenario, bucket.url);
        if (sanity.wrongCount) {
          warnings.push(`${scenario.id}: registry-edge gave ${sanity.wrongCount} of ${sanity.checked} distinct requests an unexpected answer, e.g. ${sanity.wrong.join('; ')}`);
        }
        if (options.warmupS > 0) {
          await loadgen.run({ url: server.url, connections: options.connections, duration: options.warmupS, requests, rotate: scenario.rotate });
        }
        byServer[server.id] = { sanity, rounds: [] };
      }
      for (let round = 1; round <= options.rounds; round += 1) {
        // A-B, B-A, A-B...: a slow drift in background load then favours no server.
        const order = round % 2 === 1 ? servers : [...servers].reverse();
        for (const server of order) {
          const ticksBefore = server.pid ? cpuTicks(server.pid) : undefined;
          const headsBefore = bucket.heads();
          const result = await loadgen.run({ url: server.url, connections: options.connections, duration: options.durationS, requests, rotate: scenario.rotate });
          const ticksAfter = server.pid ? cpuTicks(server.pid) : undefined;
          const cpuUs = ticksBefore !== undefined && ticksAfter !== undefined ? ((ticksAfter - ticksBefore) * 1e6) / ticksPerSecond : null;
          const measured = { ...result, cpuUs, bucketHeads: server.local ? bucket.heads() - headsBefore : null };
          byServer[server.id].rounds.push(measured);
          say(`${scenario.id} ${server.label} round ${round}/${options.rounds}: ${Math.round(result.rps)} req/s, p99 ${result.latencyMs.p99?.toFixed(2) ?? '-'} ms`);
        }
      }
      for (const server of servers) {
        const summary = summarizeRounds(byServer[server.id].rounds);
        byServer[server.id].summary = summary;
        if (server.id === 'edge' && scenario.warmsCache && summary.bucketHeads) {
          warnings.push(`${scenario.id}: registry-edge sent ${summary.bucketHeads} HEADs to buckets during measured rounds: the existence cache was not fully warm`);
        }
        if ((summary.loadgenCpuShare ?? 0) > 0.9) {
          warnings.push(
            `${scenario.id} ${server.label}: the load generator was busy ${Math.round((summary.loadgenCpuShare ?? 0) * 100)}% of the time, so this req/s is a lower bound` +
              (server.id === 'baseline' ? ' and req/s ratios against it flatter the other servers (the CPU µs/req ratio does not)' : ''),
          );
        }
        if (summary.errors) warnings.push(`${scenario.id} ${server.label}: ${summary.errors} connection errors or timeouts`);
      }
      scenarioResults.push({ id: scenario.id, title: scenario.title, describe: scenario.describe, byServer });
    }

    for (const server of servers) {
      server.peakRssKb = server.pid ? memoryKb(server.pid, 'VmHWM') ?? null : null;
    }
    await cleanup();
    const results = {
      schema: 'registry-edge-bench/1',
      startedAt: startedAt.toISOString().replace(/\.\d+Z$/, 'Z'),
      finishedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      environment: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
        loadavgStart,
        loadavgEnd: loadavg()[0] ?? 0,
        pinned,
        serverCore: serverCore ?? null,
        loadCore: loadCore ?? null,
      },
      settings: {
        connections: options.connections,
        durationS: options.durationS,
        rounds: options.rounds,
        warmupS: options.warmupS,
        quick: options.quick,
        edgeStub: options.edgeStub,
        target: options.target ?? null,
      },
      geo: { source: geo.source, detail: geo.detail, compiled: geo.compiled, files: geo.files, loadedBytes: geo.loadedBytes, s3Client: built.s3Client ?? null, mixClients: built.clientKinds },
      edgeConfig: realEdge ? edgeConfig : null,
      servers: servers.map(({ id, label, url, pid, local, peakRssKb }) => ({ id, label, url, pid: pid ?? null, local, peakRssKb })),
      startup,
      scenarios: scenarioResults,
      checks: /** @type {any[]} */ ([]),
      warnings,
    };
    results.checks = realEdge ? evaluateChecks(results) : [];
    return results;
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** @param {any} results @param {string} outDir */
function publish(results, outDir) {
  mkdirSync(outDir, { recursive: true });
  const stamp = results.startedAt.replace(/[:]/g, '').replace(/-/g, '');
  const markdown = renderMarkdown(results);
  const svg = renderSvg(results);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  for (const name of ['latest', stamp]) {
    writeFileSync(join(outDir, `${name}.md`), `${markdown}\n![req/s and p99 per scenario](${name}.svg)\n`);
    writeFileSync(join(outDir, `${name}.json`), json);
    writeFileSync(join(outDir, `${name}.svg`), svg);
  }
  return { markdown, files: ['latest.md', 'latest.json', 'latest.svg', `${stamp}.{md,json,svg}`] };
}

const parsed = parseArgs(process.argv.slice(2));
if (!parsed.ok) {
  if ('help' in parsed) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  process.stderr.write(`bench: ${parsed.error}\n\n${USAGE}`);
  process.exit(2);
}
try {
  const results = await main(parsed.options);
  const outDir = resolve(parsed.options.outDir ?? join(BENCH_DIR, 'results'));
  const { markdown, files } = publish(results, outDir);
  process.stdout.write(`${markdown}\n`);
  say(`wrote ${files.join(', ')} in ${outDir}`);
  const failed = results.checks.filter((/** @type {any} */ c) => !c.pass);
  if (parsed.options.check && failed.length) {
    say(`${failed.length} check(s) failed`);
    process.exit(1);
  }
} catch (error) {
  say(interrupted ? 'interrupted' : error instanceof Error ? error.message : String(error));
  process.exit(interrupted ? 130 : 1);
}
