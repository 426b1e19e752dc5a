#!/usr/bin/env node
// `npm run bench`: the benchmark that explains itself. In one run, on pinned CPUs, in
// alternating rounds, it measures the layers of registry-edge's stack (raw node:http → bare
// hono → registry-edge with logging off → registry-edge logging to a file), optionally
// archeio and another node binary beside them, then latency at a fixed rate and a CPU-profile
// breakdown, and (unless --no-tls / --no-signing) what TLS at the door and signing cost, and
// publishes it all under bench/results/. `node bench/run.js --help` for flags;
// bench/README.md explains every number.
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import YAML from 'yaml';
import { parseArgs, USAGE } from './lib/args.js';
import { buildLocations, bundledCityBytes, locationCandidates, prepareGeo, sizeOf } from './lib/geo-prep.js';
import { buildScenarios, benchConfig } from './lib/scenarios.js';
import { startBucketServer } from './lib/bucket-server.js';
import { startLoadGenerator } from './lib/loadgen.js';
import { CLI, ROOT } from './lib/layers.js';
import { measureStartups, profileScenario, runScenario } from './lib/measure.js';
import { clockTicksPerSecond, nodeVersion, pinSelf, tasksetAvailable } from './lib/servers.js';
import { evaluateChecks, renderMarkdown, renderSvg } from './lib/report.js';
import { runExtras, writeSigningFiles } from './lib/extras.js';
import { runScaleFamily } from './scale.js';
import { SCALE_DIGEST } from './lib/scale-config.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/** Progress goes to stderr so stdout carries only the final Markdown report. @param {string} message */
const say = (message) => process.stderr.write(`bench: ${message}\n`);

/** @param {string | undefined} path @param {string} flag */
function nodeBinary(path, flag) {
  const file = path === undefined ? process.execPath : resolve(path);
  const version = nodeVersion(file);
  if (!version) throw new Error(`${flag} ${path}: not a node binary that runs here`);
  return { path: file, version };
}

/**
 * The node binaries the servers run on: --node (default: this one) and --compare-node. With
 * two, ids get a version tag (`raw@v24`) so both sets share the rounds.
 * @param {any} options
 */
function nodesFor(options) {
  const first = nodeBinary(options.node, '--node');
  if (!options.compareNode) return [{ ...first, tag: '' }];
  const second = nodeBinary(options.compareNode, '--compare-node');
  const tagOf = (/** @type {string} */ version) => `@${version.split('.')[0]}`;
  if (tagOf(first.version) === tagOf(second.version)) throw new Error(`--node and --compare-node are both node ${first.version.split('.')[0]}`);
  return [{ ...first, tag: tagOf(first.version) }, { ...second, tag: tagOf(second.version) }];
}

/**
 * City data a scenario's server holds: S3g's compact file; S2r's too when there is one (its
 * `routing.origins: nearest` loads geolocation), else the bundled DB-IP files.
 * @param {string} variant @param {string | undefined} locationsFile
 */
function cityBytes(variant, locationsFile) {
  if (variant === 'nearest') return locationsFile ? sizeOf(locationsFile) : 0;
  if (variant === 'replicas') return locationsFile ? sizeOf(locationsFile) : bundledCityBytes();
  return 0;
}

/**
 * The compact city file S3g needs, or undefined with the reason S3g is skipped.
 * @param {any} options @param {string} feedDir
 */
function findLocations(options, feedDir) {
  const candidates = locationCandidates({ root: ROOT, given: options.locations });
  const found = candidates.find((file) => existsSync(file));
  if (found) return { file: found };
  if (options.locations !== undefined) throw new Error(`--locations ${options.locations}: no such file`);
  if (options.buildLocations) {
    say('building the compact city file (geo update, about 45 s on a shared 2-core machine)');
    const built = buildLocations({ root: ROOT, feedDir });
    if (built.ok) return { file: built.file, builtMs: built.ms };
    return { skip: `building the compact city file failed: ${built.output}` };
  }
  return {
    skip: `S3g skipped: no compact city file (looked for ${candidates.join(', ')}). Build it once with \`npm run bench -- --build-locations\` (about 45 s, cached in ~/.cache/registry-edge/bench) or \`registry-edge geo update\`; the bench does not build it by default because that takes longer than 20 s`,
  };
}

/** Set by SIGINT/SIGTERM: the run then ends with status 130 once everything is stopped. */
let interrupted = false;

/** @param {any} options */
async function main(options) {
  const startedAt = new Date();
  const warnings = /** @type {string[]} */ ([]);
  const loadavgStart = loadavg()[0] ?? 0;
  if (loadavgStart > 0.7) warnings.push(`load average was ${loadavgStart.toFixed(2)} at start: other work shares these ${cpus().length} CPUs, so numbers are noisy (ratios within one run hold up better than absolutes)`);
  const pinned = options.pin && cpus().length >= 2 && tasksetAvailable();
  // The bench process itself (bucket server, bookkeeping) shares the load generator's core,
  // so the servers' core runs nothing of ours but the server under test.
  if (pinned) pinSelf(1);
  const serverCore = pinned ? 0 : undefined;
  const loadCore = pinned ? 1 : undefined;
  const wantsEdge = options.layers.some((/** @type {string} */ l) => l.startsWith('edge'));
  const realEdge = wantsEdge && !options.edgeStub;
  if (realEdge && !existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build first (npm run build, or use npm run bench which does), or pass --layers raw,hono / --edge-stub`);
  }
  if (options.archeio) {
    options.archeio = resolve(options.archeio);
    accessSync(options.archeio, constants.X_OK);
  }
  const nodes = nodesFor(options);

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
    const geo = await prepareGeo({ root: ROOT, tmp, compile: realEdge, warnings, ranges: options.ranges, say });
    const locations = realEdge && (options.scenarios.includes('S3g') || options.scenarios.includes('S2r')) ? findLocations(options, geo.feedDir) : undefined;
    if (locations?.skip && options.scenarios.includes('S3g')) {
      warnings.push(locations.skip);
      say(locations.skip);
    }
    const built = buildScenarios({ entries: geo.entries });
    if (!built.s3Client) warnings.push('no unambiguous eu-west-3 address in the feed: S3/S4 used 192.0.2.1 (a non-cloud client)');
    // Without registry-edge there is no routing to tell S3g apart; with it, S3g needs the city file.
    const scenarios = built.scenarios.filter((s) => options.scenarios.includes(s.id) && !(s.id === 'S3g' && realEdge && !locations?.file));

    // The scaling family shares this bucket server: it must hold that family's blob too.
    const bucket = await startBucketServer(new Set([...built.presentDigests, SCALE_DIGEST]));
    onCleanup(() => bucket.close());
    /** @type {Map<string, string>} */
    const configFiles = new Map();
    const signingFiles = writeSigningFiles(tmp);
    /** @type {Record<string, any>} */
    const edgeConfigs = {};
    const configFor = (/** @type {string} */ variant, /** @type {string} */ level, events = false) => {
      const key = `${variant}-${level}${events ? '-events' : ''}`;
      const existing = configFiles.get(key);
      if (existing) return existing;
      // serve's --port overrides listen.port, so one file serves every start.
      const config = benchConfig({ bucketUrl: bucket.url, rangesFile: geo.rangesFile, port: 0, variant: /** @type {any} */ (variant), locationsFile: locations?.file, logLevel: level, signingFiles, events });
      const file = join(tmp, `bench-${key}.yaml`);
      writeFileSync(file, YAML.stringify(config));
      if (realEdge) {
        const checked = spawnSync(nodes[0]?.path ?? process.execPath, [CLI, 'check-config', file], { encoding: 'utf8', timeout: 60_000 });
        if (checked.status !== 0) throw new Error(`registry-edge check-config rejected the bench config ${key}:\n${checked.stderr || checked.stdout}`);
      }
      if (level === 'info' && !events) edgeConfigs[variant] = config;
      configFiles.set(key, file);
      return file;
    };
    const loadgen = startLoadGenerator({ core: loadCore });
    onCleanup(() => loadgen.close());
    const ctx = { options, tmp, serverCore, ticksPerSecond: clockTicksPerSecond(), bucket, loadgen, nodes, warnings, configFor, onCleanup, say, realEdge };

    const startup = options.startupRuns > 0 ? await measureStartups(ctx, dirname(geo.rangesFile)) : {};
    for (const entry of Object.values(startup)) say(`start-up ${entry.label}: ${entry.samplesMs.join(', ')} ms`);

    /** @type {any[]} */
    const scenarioResults = [];
    for (const scenario of scenarios) {
      const result = await runScenario(ctx, scenario);
      if (options.profile && realEdge) {
        result.profile = await profileScenario(ctx, scenario).catch((error) => {
          warnings.push(`${scenario.id}: the CPU-profile round failed: ${error instanceof Error ? error.message : String(error)}`);
          return null;
        });
        const top = result.profile?.byPackage.slice(0, 5).map((/** @type {any} */ p) => `${p.name} ${(p.share * 100).toFixed(0)}%`).join(', ');
        if (top) say(`${scenario.id} profile: ${top}`);
      }
      result.geoBytes = geo.rangesBytes + cityBytes(scenario.config, locations?.file);
      scenarioResults.push(result);
    }
    // The scaling family needs registry-edge itself: with the stub there is nothing to grow.
    const scale =
      options.scale && realEdge
        ? await runScaleFamily({
            ...ctx,
            durationS: options.scaleDurationS,
            rounds: options.scaleRounds,
            connections: options.connections,
            inventoryDigests: options.inventoryDigests,
          })
        : null;
    await cleanup();
    // After the scenarios' servers are gone: these start servers and load generators of their own.
    const extras = realEdge ? await runExtras(options, say, warnings) : { signing: null, tls: null };
    if (!realEdge && (options.tls || options.signing)) warnings.push('TLS and cold signatures not measured: they need the built registry-edge (no --edge-stub)');

    const serverIds = [...new Set(scenarioResults.flatMap((s) => s.servers))];
    const results = {
      schema: 'registry-edge-bench/2',
      startedAt: startedAt.toISOString().replace(/\.\d+Z$/, 'Z'),
      finishedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      environment: {
        nodes: nodes.map(({ path, version, tag }) => ({ path, version, tag })),
        loadGeneratorNode: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
        loadavgStart,
        loadavgEnd: loadavg()[0] ?? 0,
        pinned,
        serverCore: serverCore ?? null,
        loadCore: loadCore ?? null,
        archeio: options.archeio ?? null,
      },
      settings: {
        connections: options.connections,
        durationS: options.durationS,
        rounds: options.rounds,
        warmupS: options.warmupS,
        openLoopS: options.openLoopS,
        openFraction: options.openFraction,
        openConnections: options.openConnections,
        openRounds: options.openRounds,
        quick: options.quick,
        tls: options.tls,
        signing: options.signing,
        edgeStub: options.edgeStub,
        layers: options.layers,
        target: options.target ?? null,
      },
      geo: {
        source: geo.source,
        detail: geo.detail,
        compiled: geo.compiled,
        files: geo.files,
        locations: locations?.file ?? null,
        s3Client: built.s3Client ?? null,
        geoClient: built.geoClient,
        archeioClient: built.archeioClient ?? null,
        mixClients: built.clientKinds,
      },
      edgeConfigs: realEdge ? edgeConfigs : null,
      serverIds,
      startup,
      scenarios: scenarioResults,
      tls: extras.tls,
      coldSigning: extras.signing,
      scale,
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
    writeFileSync(join(outDir, `${name}.md`), `${markdown}\n![CPU µs per request by layer](${name}.svg)\n`);
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
