// One scenario measured end to end: fresh servers for every layer, a correctness pass, a
// warm-up, alternating flat-out rounds with the server's CPU read from /proc around each,
// fixed-rate (open-loop) latency at half of registry-edge's capacity, then one extra round
// of registry-edge under --cpu-prof for the breakdown. Start-up is measured here too.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { commandFor, serversFor } from './layers.js';
import { judgeAnswer } from './scenarios.js';
import { cpuTicks, fetchOnce, freePort, memoryKb, startServer, stopProcess } from './servers.js';
import { median, medianAndWorstRound, summarizeRounds } from './stats.js';
import { attributeProfile } from './profile.js';
import { probeSameAnswers } from './same-answer.js';

/**
 * What every step needs from the run.
 * @typedef {{
 *   options: any, tmp: string, serverCore: number | undefined, ticksPerSecond: number, bucket: { url: string, heads: () => number },
 *   loadgen: { run: (job: any) => Promise<any> }, nodes: import('./layers.js').NodeBinary[], warnings: string[],
 *   configFor: (variant: string, level: string, events?: boolean) => string, onCleanup: (step: () => Promise<void>) => void, say: (message: string) => void,
 *   realEdge: boolean,
 * }} RunContext
 * @typedef {import('./layers.js').ServerSpec & { url: string, pid: number | undefined, spawned?: any, logFile?: string, answered: number }} Running
 */

/** @param {import('./scenarios.js').Scenario} scenario @param {string} layer */
function requestsFor(scenario, layer) {
  if (layer === 'archeio') return 'requests' in scenario.archeio ? scenario.archeio.requests : [];
  return scenario.requests;
}

/**
 * One request per distinct path and client: checks the answers of the servers that must
 * route (registry-edge, archeio) and warms their existence caches.
 * @param {Running} server @param {import('./scenarios.js').CheckedRequest[]} requests @param {string} bucketUrl
 */
export async function sanityPass(server, requests, bucketUrl) {
  const seen = new Set();
  /** @type {Record<string, number>} */
  const statusCounts = {};
  /** @type {string[]} */
  const wrong = [];
  let wrongCount = 0;
  const judged = server.layer.startsWith('edge') || server.layer === 'archeio' || server.layer === 'hono-same';
  for (const { request, expect } of requests) {
    const key = `${request.path} ${request.headers['x-forwarded-for'] ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const answer = /** @type {{ status: number, location: string | undefined }} */ (await fetchOnce(`${server.url}${request.path}`, request.headers, 5000));
    server.answered += 1;
    statusCounts[answer.status] = (statusCounts[answer.status] ?? 0) + 1;
    const reason = judged ? judgeAnswer(expect, answer, bucketUrl) : undefined;
    if (reason) {
      wrongCount += 1;
      if (wrong.length < 3) wrong.push(`${request.path} (X-Forwarded-For: ${request.headers['x-forwarded-for'] ?? '-'}): ${reason}`);
    }
  }
  return { checked: seen.size, statusCounts, wrongCount, wrong };
}

/**
 * Starts SERVER for SCENARIO (nothing to start for an external target).
 * @param {RunContext} ctx @param {import('./layers.js').ServerSpec} server @param {string} variant
 * @param {{ nodeFlags?: string[], logName?: string, answersFile?: string }} [extra]
 * @returns {Promise<Running>}
 */
export async function startSpec(ctx, server, variant, extra = {}) {
  if (!server.local) return { ...server, url: /** @type {string} */ (server.url), pid: server.pid, answered: 0 };
  const port = await freePort();
  const logFile = join(ctx.tmp, 'logs', `${extra.logName ?? server.id}.log`);
  mkdirSync(join(ctx.tmp, 'logs'), { recursive: true });
  const spec = commandFor(server, {
    port,
    configFor: (level, events) => ctx.configFor(variant, level, events),
    bucketUrl: ctx.bucket.url,
    archeio: ctx.options.archeio,
    edgeStub: !ctx.realEdge,
    embeddedDataDir: /** @type {any} */ (ctx).embeddedDataDir,
    logFile,
    nodeFlags: extra.nodeFlags,
    answersFile: extra.answersFile,
  });
  const started = await startServer({ ...spec, core: ctx.serverCore, port, onSpawn: (spawned) => ctx.onCleanup(() => stopProcess(spawned)) });
  return { ...server, url: started.url, pid: started.spawned.pid, spawned: started.spawned, logFile, answered: 0, startupMs: started.startupMs };
}

/**
 * Starts the hono-same layer for SCENARIO: registry-edge at info (the one already running for
 * this scenario, else one started for the probe) is asked each distinct request once, and
 * hono-same is started to answer and log exactly that.
 * @param {RunContext} ctx @param {import('./layers.js').ServerSpec} spec @param {import('./scenarios.js').Scenario} scenario @param {Running[]} running
 */
async function startSameAnswer(ctx, spec, scenario, running) {
  const answersFile = join(ctx.tmp, `${scenario.id}-${spec.id}-answers.json`);
  const edge = running.find((s) => s.layer === 'edge-info' && s.node === spec.node);
  if (edge) edge.answered += await probeSameAnswers(edge, scenario.requests, answersFile);
  else {
    const probe = await startSpec(ctx, { ...spec, id: `edge-info-probe${spec.node?.tag ?? ''}`, layer: 'edge-info' }, scenario.config, { logName: `${scenario.id}-probe` });
    try {
      await probeSameAnswers(probe, scenario.requests, answersFile);
    } finally {
      await stopRunning(probe);
    }
  }
  return startSpec(ctx, spec, scenario.config, { logName: `${scenario.id}-${spec.id}`, answersFile });
}

/** @param {Running} server */
async function stopRunning(server) {
  if (server.spawned) await stopProcess(server.spawned);
}

/**
 * Waits until the bucket server has had no HEAD for a moment (at most 2 s): a server without
 * a negative cache (archeio in S4) is still finishing HEADs when its round ends, and those
 * must not be counted against, or compete with, the next server's round.
 * @param {RunContext} ctx
 */
async function settleBuckets(ctx) {
  const deadline = Date.now() + 2000;
  let last = ctx.bucket.heads();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = ctx.bucket.heads();
    if (now === last) return;
    last = now;
  }
}

/**
 * One flat-out round against SERVER with its CPU time read around it.
 * @param {RunContext} ctx @param {Running} server @param {import('./scenarios.js').Scenario} scenario @param {number} durationS
 */
async function closedRound(ctx, server, scenario, durationS) {
  const requests = requestsFor(scenario, server.layer).map((r) => r.request);
  await settleBuckets(ctx);
  const ticksBefore = server.pid ? cpuTicks(server.pid) : undefined;
  const headsBefore = ctx.bucket.heads();
  const result = await ctx.loadgen.run({ url: server.url, connections: ctx.options.connections, duration: durationS, requests, rotate: scenario.rotate });
  const ticksAfter = server.pid ? cpuTicks(server.pid) : undefined;
  server.answered += result.answered;
  const cpuUs = ticksBefore !== undefined && ticksAfter !== undefined ? ((ticksAfter - ticksBefore) * 1e6) / ctx.ticksPerSecond : null;
  return { ...result, cpuUs, bucketHeads: server.local ? ctx.bucket.heads() - headsBefore : null };
}

/**
 * Fixed-rate latency of SERVER at RATE, and its CPU per request at that load.
 * @param {RunContext} ctx @param {Running} server @param {import('./scenarios.js').Scenario} scenario @param {number} rate
 */
async function openRound(ctx, server, scenario, rate) {
  const requests = requestsFor(scenario, server.layer).map((r) => r.request);
  const ticksBefore = server.pid ? cpuTicks(server.pid) : undefined;
  const result = await ctx.loadgen.run({ kind: 'open', url: server.url, connections: ctx.options.openConnections, durationS: ctx.options.openLoopS, ratePerS: rate, requests });
  const ticksAfter = server.pid ? cpuTicks(server.pid) : undefined;
  server.answered += result.answeredWithLeadIn;
  const cpuUs = ticksBefore !== undefined && ticksAfter !== undefined ? ((ticksAfter - ticksBefore) * 1e6) / ctx.ticksPerSecond : null;
  return { ...result, cpuUsPerRequest: cpuUs !== null && result.answeredWithLeadIn > 0 ? cpuUs / result.answeredWithLeadIn : null };
}

/**
 * The open-loop rate: the given one, else a share of registry-edge's (info → file, first node)
 * flat-out median req/s, so every server is compared at the same load, which is half of what
 * registry-edge can do.
 * @param {RunContext} ctx @param {Record<string, any>} byServer @param {Running[]} servers
 */
export function openLoopRate(ctx, byServer, servers) {
  if (ctx.options.openRate) return { rate: ctx.options.openRate, basis: 'given by --open-rate' };
  const primary = servers.find((s) => s.layer === 'edge-info' && s.node === ctx.nodes[0]) ?? servers.find((s) => s.layer === 'edge-silent' && s.node === ctx.nodes[0]);
  const basisRps = primary ? byServer[primary.id]?.summary?.rps : median(servers.map((s) => byServer[s.id]?.summary?.rps));
  if (typeof basisRps !== 'number' || basisRps <= 0) return undefined;
  return { rate: Math.max(1, Math.round(basisRps * ctx.options.openFraction)), basis: `${Math.round(ctx.options.openFraction * 100)}% of ${primary ? primary.label : 'the median server'}'s flat-out ${Math.round(basisRps)} req/s` };
}

/** @param {RunContext} ctx @param {import('./scenarios.js').Scenario} scenario @param {Running} server @param {any} sanity */
function noteWrongAnswers(ctx, scenario, server, sanity) {
  if (!sanity.wrongCount) return;
  ctx.warnings.push(`${scenario.id}: ${server.label} gave ${sanity.wrongCount} of ${sanity.checked} distinct requests an unexpected answer, e.g. ${sanity.wrong.join('; ')}`);
}

/** @param {RunContext} ctx @param {import('./scenarios.js').Scenario} scenario @param {Running} server @param {any} summary */
function noteSummaryWarnings(ctx, scenario, server, summary) {
  if (server.layer.startsWith('edge') && scenario.warmsCache && summary.bucketHeads) {
    ctx.warnings.push(`${scenario.id}: ${server.label} sent ${summary.bucketHeads} HEADs to buckets during measured rounds: the existence cache was not fully warm`);
  }
  if ((summary.loadgenCpuShare ?? 0) > 0.9) {
    ctx.warnings.push(`${scenario.id} ${server.label}: the load generator was busy ${Math.round((summary.loadgenCpuShare ?? 0) * 100)}% of the time, so this req/s is a lower bound (CPU µs/req does not depend on it)`);
  }
  if (summary.errors) ctx.warnings.push(`${scenario.id} ${server.label}: ${summary.errors} connection errors or timeouts`);
}

/**
 * Every layer of SCENARIO: started fresh (so peak RSS and log size belong to this scenario),
 * checked, warmed, measured in alternating rounds, then at a fixed rate.
 * @param {RunContext} ctx @param {import('./scenarios.js').Scenario} scenario
 */
export async function runScenario(ctx, scenario) {
  // hono-same answers what registry-edge answers: without the real registry-edge there is nothing to copy.
  const specs = serversFor({
    layers: ctx.realEdge ? ctx.options.layers : ctx.options.layers.filter((/** @type {string} */ l) => l !== 'hono-same'),
    manifests: scenario.requests.every((r) => r.request.path.includes('/manifests/')),
    nodes: ctx.nodes,
    archeio: ctx.options.archeio,
    archeioServes: 'requests' in scenario.archeio,
    target: ctx.options.target ? { url: ctx.options.target, pid: ctx.options.targetPid, name: ctx.options.targetName } : undefined,
  });
  /** @type {Running[]} */
  const servers = [];
  try {
    for (const spec of specs) if (spec.layer !== 'hono-same') servers.push(await startSpec(ctx, spec, scenario.config, { logName: `${scenario.id}-${spec.id}` }));
    // Started last, since it copies the answers of the registry-edge started above, but kept in its place in the round order.
    for (const [index, spec] of specs.entries()) if (spec.layer === 'hono-same') servers.splice(index, 0, await startSameAnswer(ctx, spec, scenario, servers));
    /** @type {Record<string, any>} */
    const byServer = {};
    for (const server of servers) {
      const sanity = await sanityPass(server, requestsFor(scenario, server.layer), ctx.bucket.url);
      noteWrongAnswers(ctx, scenario, server, sanity);
      if (ctx.options.warmupS > 0) await closedRound(ctx, server, scenario, ctx.options.warmupS);
      byServer[server.id] = { label: server.label, layer: server.layer, node: server.node?.version ?? null, sanity, rounds: [] };
    }
    for (let round = 1; round <= ctx.options.rounds; round += 1) {
      // A-B-C, C-B-A, ...: a slow drift in background load then favours no server.
      const order = round % 2 === 1 ? servers : [...servers].reverse();
      for (const server of order) {
        const measured = await closedRound(ctx, server, scenario, ctx.options.durationS);
        byServer[server.id].rounds.push(measured);
        const cpu = measured.cpuUs !== null && measured.answered ? `${(measured.cpuUs / measured.answered).toFixed(1)} µs/req, ` : '';
        ctx.say(`${scenario.id} ${server.label} round ${round}/${ctx.options.rounds}: ${cpu}${Math.round(measured.rps)} req/s, p99 ${measured.latencyMs.p99?.toFixed(2) ?? '-'} ms`);
      }
    }
    /** @type {string[]} */
    const idle = [];
    for (const server of servers) {
      const summary = summarizeRounds(byServer[server.id].rounds);
      byServer[server.id].summary = summary;
      noteSummaryWarnings(ctx, scenario, server, summary);
      if (server.local && typeof summary.serverBusy === 'number' && summary.serverBusy < 0.8) idle.push(`${server.label} ${Math.round(summary.serverBusy * 100)}%`);
    }
    if (idle.length) {
      ctx.warnings.push(`${scenario.id}: servers busy for less than 80% of their rounds (${idle.join(', ')}): the load generator or other work on the cores set the pace, and a server that waits pays a little more CPU per request`);
    }
    const open = scenario.openLoop && ctx.options.openLoopS > 0 ? openLoopRate(ctx, byServer, servers) : undefined;
    if (open) {
      /** @type {string[]} */
      const lagged = [];
      /** @type {Record<string, any[]>} */
      const openRounds = {};
      for (let round = 1; round <= ctx.options.openRounds; round += 1) {
        // Alternating like the closed rounds: a burst of background load then spoils one round
        // of several servers, not every round of one.
        const order = round % 2 === 1 ? servers : [...servers].reverse();
        for (const server of order) {
          const result = await openRound(ctx, server, scenario, open.rate);
          (openRounds[server.id] ??= []).push(result);
          ctx.say(`${scenario.id} ${server.label} at ${open.rate} req/s, round ${round}/${ctx.options.openRounds}: p50 ${result.latencyMs.p50?.toFixed(3)} p99 ${result.latencyMs.p99?.toFixed(3)} p99.9 ${result.latencyMs.p999?.toFixed(3)} ms`);
          if (result.unexpected) ctx.warnings.push(`${scenario.id} ${server.label} open loop: ${result.unexpected} answers arrived with no request outstanding on their connection (not counted as latency)`);
          if (result.failed || result.timedOut) ctx.warnings.push(`${scenario.id} ${server.label} open loop: ${result.failed} failed and ${result.timedOut} unanswered of ${result.scheduled} requests`);
        }
      }
      for (const server of servers) {
        const rounds = openRounds[server.id] ?? [];
        const { typical, worst } = medianAndWorstRound(rounds);
        byServer[server.id].openLoop = { ...typical, rounds: rounds.length, worstP99Ms: worst?.latencyMs.p99 ?? null, roundP99sMs: rounds.map((r) => r.latencyMs.p99) };
        if ((typical?.sendLagMs.p99 ?? 0) > 0.5) lagged.push(`${server.label} ${typical.sendLagMs.p99.toFixed(1)} ms`);
      }
      if (lagged.length) {
        ctx.warnings.push(`${scenario.id} fixed rate: the generator sent 1% of requests late by more than (${lagged.join(', ')}) because its core was busy; that lag counts as latency, see "p99 from actual send"`);
      }
    }
    for (const server of servers) {
      const entry = byServer[server.id];
      entry.peakRssKb = server.pid ? memoryKb(server.pid, 'VmHWM') ?? null : null;
      await stopRunning(server);
      const bytes = server.logFile ? statSync(server.logFile, { throwIfNoEntry: false })?.size ?? 0 : 0;
      entry.logBytesPerRequest = (server.layer.startsWith('edge') || server.layer === 'hono-same') && server.answered > 0 ? bytes / server.answered : null;
      if (server.logFile) rmSync(server.logFile, { force: true });
    }
    return { id: scenario.id, title: scenario.title, describe: scenario.describe, config: scenario.config, openLoopRate: open ?? null, archeioNote: 'note' in scenario.archeio ? scenario.archeio.note : scenario.archeio.skip, servers: servers.map((s) => s.id), byServer };
  } finally {
    for (const server of servers) await stopRunning(server);
  }
}

/**
 * One extra round of registry-edge (info → file, first node) under --cpu-prof; only samples
 * taken during the measured round count (V8's profile clock and process.hrtime are both
 * CLOCK_MONOTONIC on Linux).
 * @param {RunContext} ctx @param {import('./scenarios.js').Scenario} scenario
 */
export async function profileScenario(ctx, scenario) {
  const node = ctx.nodes[0];
  const dir = join(ctx.tmp, 'profiles', scenario.id);
  mkdirSync(dir, { recursive: true });
  const spec = { id: 'edge-info-profiled', layer: 'edge-info', label: 'registry-edge, info → file, --cpu-prof', node, local: true };
  const server = await startSpec(ctx, spec, scenario.config, { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200'], logName: `${scenario.id}-profiled` });
  let window;
  try {
    await sanityPass(server, scenario.requests, ctx.bucket.url);
    if (ctx.options.warmupS > 0) await closedRound(ctx, server, scenario, ctx.options.warmupS);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    await closedRound(ctx, server, scenario, ctx.options.durationS);
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  } finally {
    await stopRunning(server);
    if (server.logFile) rmSync(server.logFile, { force: true });
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    ctx.warnings.push(`${scenario.id}: registry-edge wrote no CPU profile (did it exit cleanly on SIGTERM?)`);
    return null;
  }
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  let result = attributeProfile(profile, window);
  let windowed = true;
  if (result.samples < 50) {
    // The clocks did not line up (another OS?): the whole profile is better than nothing.
    result = attributeProfile(profile);
    windowed = false;
    ctx.warnings.push(`${scenario.id}: the CPU profile's clock did not match the run's; its breakdown includes start-up and shutdown`);
  }
  return { ...result, windowed, intervalUs: 200 };
}

/**
 * Start-up of each server kind: spawn until the first 200 on /v2/ (the baselines: their first
 * answer). registry-edge starts as `npm start` does, on the embedded default (registry.k8s.io's)
 * with no config file, reading its data folder (DATA_DIR: the run's cloud ranges); only the
 * fixed ports are overridden, and the admin listener is off.
 * @param {RunContext} ctx @param {string} dataDir
 */
export async function measureStartups(ctx, dataDir) {
  const layers = ['raw', 'hono', ...(ctx.options.layers.some((/** @type {string} */ l) => l.startsWith('edge')) ? ['edge-info'] : [])];
  const specs = serversFor({ layers, nodes: ctx.nodes, archeio: ctx.options.archeio, archeioServes: true });
  /** @type {Record<string, { samplesMs: number[], medianMs: number | null, label: string }>} */
  const startup = {};
  const context = { ...ctx, embeddedDataDir: dataDir };
  for (let run = 0; run < ctx.options.startupRuns; run += 1) {
    // Interleaved, so a burst of background load does not land on one server only.
    for (const spec of specs) {
      const server = await startSpec(context, spec, 'base', { logName: `startup-${spec.id}` });
      await stopRunning(server);
      if (server.logFile) rmSync(server.logFile, { force: true });
      const id = spec.layer === 'edge-info' ? `edge${spec.node?.tag ?? ''}` : spec.id;
      const entry = startup[id] ?? { samplesMs: [], medianMs: null, label: spec.layer === 'edge-info' ? `registry-edge, embedded default${spec.node?.tag ? ` (node ${spec.node.version})` : ''}` : spec.label };
      entry.samplesMs.push(Math.round(/** @type {number} */ (/** @type {any} */ (server).startupMs) * 10) / 10);
      startup[id] = entry;
    }
  }
  for (const entry of Object.values(startup)) entry.medianMs = median(entry.samplesMs);
  return startup;
}
