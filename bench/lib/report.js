// Turns a finished run into what people read: Markdown tables (CPU per request by layer and
// what each layer adds, flat-out and fixed-rate latency, start-up and memory, the profile
// breakdown), the pass/fail checks of issue 20, and a hand-written SVG chart. Pure: the
// caller writes the files.
import { renderScaleMarkdown } from './scale-report.js';
import { LAYER_INFO } from './layers.js';
import { difference, maximum, ratio } from './stats.js';
import { extraChecks, extraLines } from './report-extras.js';

/** Targets from issue 20: CPU µs/req of registry-edge (info → file, best round) ÷ bare hono's. */
export const TARGETS = {
  cpuVsHono: /** @type {Record<string, number>} */ ({ S1: 1.05, S2: 1.1, S3: 1.2, S3n: 1.2, S3g: 1.2, S5: 1.25 }),
  s2VsRaw: 1.2,
  openLoopP99Ms: 1,
  openLoopScenarios: ['S2', 'S3', 'S3n', 'S3g'],
  flatOutP99Ms: 3,
  flatOutScenarios: ['S1', 'S2', 'S3', 'S3n', 'S3g', 'S4'],
  vsArcheio: 1.25,
  archeioScenarios: ['S2', 'S3'],
  rssFactor: 1.3,
  /** Issue 15: S2r (twenty origin replicas) ÷ S2c (none), CPU/req of registry-edge info → file. */
  replicasVsNone: 1.1,
  /** Issue 16: the pull event on a manifest request line, CPU/req at info with events ÷ without. */
  eventsVsInfo: 1.05,
  eventScenarios: ['S2', 'S2c'],
  startupMs: 200,
};

/** @param {number | null | undefined} value @param {number} [digits] */
function fixed(value, digits = 2) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '';
}
/** @param {number | null | undefined} value */
function whole(value) {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '';
}
/** @param {number | null | undefined} kb */
function mib(kb) {
  return typeof kb === 'number' ? (kb / 1024).toFixed(1) : '';
}
/** @param {number | null | undefined} value */
function times(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(2)}x` : '';
}
/** @param {number | null | undefined} value */
function signed(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(1)}` : '';
}

/** @param {any} results @param {string} scenarioId @param {string} serverId */
export function entryOf(results, scenarioId, serverId) {
  return results.scenarios.find((/** @type {any} */ s) => s.id === scenarioId)?.byServer?.[serverId];
}

/** Best-round CPU µs per request. @param {any} results @param {string} scenarioId @param {string} serverId @returns {number | null} */
export function cpuBest(results, scenarioId, serverId) {
  return entryOf(results, scenarioId, serverId)?.summary?.cpuUsBest ?? null;
}

/** The node tags of the run ('' for a single node). @param {any} results @returns {string[]} */
function tagsOf(results) {
  return (results.environment.nodes ?? [{ tag: '' }]).map((/** @type {any} */ n) => n.tag);
}

/** @param {any} results @param {string} id */
function labelOf(results, id) {
  for (const scenario of results.scenarios) {
    const entry = scenario.byServer?.[id];
    if (entry?.label) return entry.label;
  }
  const [layer = id, tag = ''] = id.split('@');
  const base = LAYER_INFO[layer]?.label ?? id;
  return tag ? `${base} (node ${tag.replace(/^@/, '')})` : base;
}

/**
 * The layer arithmetic of one scenario on one node: each layer's best-round CPU µs/req, the
 * differences between neighbours and the ratios the issue sets targets for.
 * @param {any} results @param {string} scenarioId @param {string} tag
 */
export function layerBreakdown(results, scenarioId, tag) {
  const raw = cpuBest(results, scenarioId, `raw${tag}`);
  const hono = cpuBest(results, scenarioId, `hono${tag}`);
  const silent = cpuBest(results, scenarioId, `edge-silent${tag}`);
  const info = cpuBest(results, scenarioId, `edge-info${tag}`);
  const same = cpuBest(results, scenarioId, `hono-same${tag}`);
  const events = cpuBest(results, scenarioId, `edge-events${tag}`);
  const archeio = cpuBest(results, scenarioId, 'archeio');
  return {
    raw,
    hono,
    same,
    silent,
    info,
    events,
    archeio,
    sameAnswer: difference(same, hono),
    beyondFloor: difference(info, same),
    infoVsSame: ratio(info, same),
    eventLine: difference(events, info),
    eventsVsInfo: ratio(events, info),
    framework: difference(hono, raw),
    ourCode: difference(silent, hono),
    logLine: difference(info, silent),
    infoVsHono: ratio(info, hono),
    infoVsRaw: ratio(info, raw),
    silentVsHono: ratio(silent, hono),
    infoVsArcheio: ratio(info, archeio),
    silentVsArcheio: ratio(silent, archeio),
  };
}

/**
 * Issue 20's targets, each with the value measured in this run; a check whose inputs were not
 * measured (layer or scenario skipped) is left out, not failed.
 * @param {any} results
 */
export function evaluateChecks(results) {
  /** @type {{ label: string, target: string, measured: string, pass: boolean }[]} */
  const checks = [];
  const tag = tagsOf(results)[0] ?? '';
  for (const scenario of results.scenarios) {
    const limit = TARGETS.cpuVsHono[scenario.id];
    const b = layerBreakdown(results, scenario.id, tag);
    if (limit !== undefined && b.infoVsHono !== null) {
      checks.push({ label: `${scenario.id} CPU/req, info → file ÷ bare hono (best round)`, target: `≤ ${limit}x`, measured: times(b.infoVsHono), pass: b.infoVsHono <= limit });
    }
    if (scenario.id === 'S2' && b.infoVsRaw !== null) {
      checks.push({ label: 'S2 CPU/req ÷ raw node:http (moonshot)', target: `≤ ${TARGETS.s2VsRaw}x`, measured: times(b.infoVsRaw), pass: b.infoVsRaw <= TARGETS.s2VsRaw });
    }
    if (TARGETS.archeioScenarios.includes(scenario.id) && b.infoVsArcheio !== null) {
      checks.push({ label: `${scenario.id} CPU/req ÷ archeio's`, target: `≤ ${TARGETS.vsArcheio}x`, measured: `${times(b.infoVsArcheio)} (log off: ${times(b.silentVsArcheio)})`, pass: b.infoVsArcheio <= TARGETS.vsArcheio });
    }
    const edge = scenario.byServer?.[`edge-info${tag}`];
    const open = edge?.openLoop?.latencyMs?.p99;
    if (TARGETS.openLoopScenarios.includes(scenario.id) && typeof open === 'number') {
      const rounds = edge.openLoop.rounds ?? 1;
      const worst = typeof edge.openLoop.worstP99Ms === 'number' && rounds > 1 ? ` (median of ${rounds} rounds; worst ${edge.openLoop.worstP99Ms.toFixed(3)} ms)` : '';
      checks.push({ label: `${scenario.id} p99 at ${whole(edge.openLoop.ratePerS)} req/s (open loop)`, target: `≤ ${TARGETS.openLoopP99Ms} ms`, measured: `${open.toFixed(3)} ms${worst}`, pass: open <= TARGETS.openLoopP99Ms });
    }
    const flat = edge?.summary?.p99Ms;
    if (TARGETS.flatOutScenarios.includes(scenario.id) && typeof flat === 'number') {
      checks.push({ label: `${scenario.id} p99 flat out, ${results.settings.connections} connections`, target: `≤ ${TARGETS.flatOutP99Ms} ms`, measured: `${flat.toFixed(2)} ms`, pass: flat <= TARGETS.flatOutP99Ms });
    }
  }
  for (const id of TARGETS.eventScenarios) {
    const b = layerBreakdown(results, id, tag);
    if (b.eventsVsInfo === null) continue;
    checks.push({ label: `${id} CPU/req, info + pull events ÷ info (issue 16: the event line)`, target: `≤ ${TARGETS.eventsVsInfo}x`, measured: `${times(b.eventsVsInfo)} (${signed(b.eventLine)} µs)`, pass: b.eventsVsInfo <= TARGETS.eventsVsInfo });
  }
  const withReplicas = ratio(cpuBest(results, 'S2r', `edge-info${tag}`), cpuBest(results, 'S2c', `edge-info${tag}`));
  if (withReplicas !== null) {
    checks.push({ label: 'S2r ÷ S2c CPU/req, info → file: twenty origin replicas vs none (issue 15)', target: `≤ ${TARGETS.replicasVsNone}x`, measured: times(withReplicas), pass: withReplicas <= TARGETS.replicasVsNone });
  }
  const rss = rssCheck(results, tag);
  if (rss) checks.push(rss);
  const startup = results.startup?.[`edge${tag}`]?.medianMs;
  if (typeof startup === 'number') {
    checks.push({ label: 'start-up, embedded default (spawn → first /v2/ 200)', target: `< ${TARGETS.startupMs} ms`, measured: `${startup.toFixed(0)} ms`, pass: startup < TARGETS.startupMs });
  }
  checks.push(...extraChecks(results, tag));
  return checks;
}

/**
 * The scenario where registry-edge's peak RSS came closest to its limit. Raw node's figure is its
 * peak over every start in the run, not the one in the same scenario: raw answers every scenario
 * the same way, yet one start reads 6 MiB less than the next when it ends before V8 has doubled
 * its young generation (8 → 16 MiB committed; raw node read 60 MiB after 6 s of load with the
 * smaller one, 66 MiB after 25 s with the larger, --trace-gc-verbose). registry-edge keeps more
 * alive per request, so its young generation had doubled in every start we measured; against a
 * raw start that had not, the limit would measure V8's timing, not our memory. The same-scenario
 * reading is still named beside it.
 * @param {any} results @param {string} tag
 */
function rssCheck(results, tag) {
  const rawPeaks = results.scenarios.map((/** @type {any} */ s) => s.byServer?.[`raw${tag}`]?.peakRssKb).filter((/** @type {unknown} */ kb) => typeof kb === 'number');
  if (rawPeaks.length === 0) return undefined;
  const raw = Math.max(...rawPeaks);
  let worst;
  for (const scenario of results.scenarios) {
    const edge = scenario.byServer?.[`edge-info${tag}`]?.peakRssKb;
    if (typeof edge !== 'number') continue;
    const geoKb = (scenario.geoBytes ?? 0) / 1024;
    const limit = TARGETS.rssFactor * raw + geoKb;
    const sameStart = scenario.byServer?.[`raw${tag}`]?.peakRssKb;
    if (!worst || edge / limit > worst.edge / worst.limit) worst = { id: scenario.id, edge, geoKb, limit, sameStart };
  }
  if (!worst) return undefined;
  const sameStart = typeof worst.sameStart === 'number'
    ? `; against raw's ${mib(worst.sameStart)} in the same scenario: ${mib(TARGETS.rssFactor * worst.sameStart + worst.geoKb)}`
    : '';
  return {
    label: `peak RSS (worst: ${worst.id})`,
    target: `≤ ${TARGETS.rssFactor} × raw's peak over its ${rawPeaks.length} starts (${mib(raw)}; lowest ${mib(Math.min(...rawPeaks))}) + geo data (${mib(worst.geoKb)}) = ${mib(worst.limit)} MiB${sameStart}`,
    measured: `${mib(worst.edge)} MiB`,
    pass: worst.edge <= worst.limit,
  };
}

/** @param {Record<string, number>} counts */
function statusText(counts) {
  return Object.entries(counts ?? {}).sort().map(([code, n]) => `${code}×${whole(n)}`).join(' ');
}

/** @param {any} results */
function headerLines(results) {
  const env = results.environment;
  const set = results.settings;
  const nodes = env.nodes.map((/** @type {any} */ n) => `node ${n.version} (${n.path})`).join(' and ');
  return [
    `## registry-edge benchmark, ${results.startedAt}`,
    '',
    `Servers on ${nodes}; load generator on node ${env.loadGeneratorNode}. ${set.rounds} round(s) × ${set.durationS} s per scenario and server after a ${set.warmupS} s warm-up, ` +
      `${set.connections} connections, servers alternating round by round (order reversed every other round), every server started fresh for each scenario; ` +
      `${env.pinned ? `servers pinned to CPU ${env.serverCore}, load generator and bench to CPU ${env.loadCore}` : 'no CPU pinning (taskset unavailable or --no-pin)'}. ` +
      `${env.cpus} × ${env.cpuModel}, load average ${fixed(env.loadavgStart)} at start, ${fixed(env.loadavgEnd)} at end.`,
    '',
    `CPU µs per request (utime+stime of the server process from /proc, divided by the answers of the round) is the primary figure: it does not depend on the load generator. ` +
      'req/s is capped by the load generator on 2 cores and flatters every server but the fastest. Numbers from a shared machine are noisy: compare within one run.',
    '',
    `Geo data: ${results.geo.detail}. registry-edge: \`client_ip.trusted_hops: 2\` (X-Forwarded-For \`<client>, <load balancer>\`), "info → file" writes one JSON line per request to a file, "log off" is \`log.level: silent\`.`,
  ];
}

/** @param {any} results */
function cpuTable(results) {
  const ids = results.serverIds;
  const lines = ['', '### CPU per request by layer (µs; best round, median in brackets)', ''];
  lines.push(`| scenario | ${ids.map((/** @type {string} */ id) => labelOf(results, id)).join(' | ')} |`);
  lines.push(`| --- | ${ids.map(() => '---:').join(' | ')} |`);
  for (const scenario of results.scenarios) {
    const cells = ids.map((/** @type {string} */ id) => {
      const summary = scenario.byServer?.[id]?.summary;
      return summary ? `${fixed(summary.cpuUsBest, 1)} (${fixed(summary.cpuUsMedian, 1)})` : '';
    });
    lines.push(`| ${scenario.id} ${scenario.title} | ${cells.join(' | ')} |`);
  }
  return lines;
}

/** @param {any} results */
function layerTable(results) {
  const lines = [];
  const has = (/** @type {string} */ layer) => results.serverIds.some((/** @type {string} */ id) => id.startsWith(layer));
  const archeio = has('archeio');
  const same = has('hono-same');
  const events = has('edge-events');
  for (const tag of tagsOf(results)) {
    const node = results.environment.nodes.find((/** @type {any} */ n) => n.tag === tag);
    lines.push('', `### What each layer adds (µs/req, best rounds${tag ? `, node ${node?.version}` : ''})`, '');
    const sameHead = same ? ' same answer − hono (our headers + a log line as long) | info − same answer (ours beyond the floor) | info ÷ same answer |' : '';
    const eventsHead = events ? ' events − info (the pull event) | events ÷ info |' : '';
    lines.push(`| scenario | hono − raw (framework) | log off − hono (our code) | info − log off (the log line) | info ÷ hono | info ÷ raw | log off ÷ hono |${sameHead}${eventsHead}${archeio ? ' info ÷ archeio | log off ÷ archeio |' : ''}`);
    const columns = 7 + (same ? 3 : 0) + (events ? 2 : 0) + (archeio ? 2 : 0);
    lines.push(`| --- |${' ---: |'.repeat(columns - 1)}`);
    for (const scenario of results.scenarios) {
      const b = layerBreakdown(results, scenario.id, tag);
      const sameCells = same ? ` ${signed(b.sameAnswer)} | ${signed(b.beyondFloor)} | ${times(b.infoVsSame)} |` : '';
      const eventCells = events ? ` ${signed(b.eventLine)} | ${times(b.eventsVsInfo)} |` : '';
      const tail = archeio ? ` ${times(b.infoVsArcheio)} | ${times(b.silentVsArcheio)} |` : '';
      lines.push(`| ${scenario.id} | ${signed(b.framework)} | ${signed(b.ourCode)} | ${signed(b.logLine)} | ${times(b.infoVsHono)} | ${times(b.infoVsRaw)} | ${times(b.silentVsHono)} |${sameCells}${eventCells}${tail}`);
    }
  }
  if (same) {
    lines.push('', '"same answer" is a bare hono app sending exactly registry-edge\'s status and headers for the scenario (a fresh X-Request-Id each, made as registry-edge makes it) and writing a log line of the same length through registry-edge\'s line sink, deciding nothing: the floor for a server with our answers and our log on this stack. "info − same answer" is what registry-edge\'s own work (classifying, routing, metrics, the line\'s fields) costs.');
  }
  return lines;
}

/** @param {any} results */
function latencyTables(results) {
  const lines = ['', `### Flat out (${results.settings.connections} connections, closed loop; medians over rounds)`, ''];
  lines.push('| scenario | server | req/s | server busy | p50 ms | p99 ms | max ms | responses |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const scenario of results.scenarios) {
    for (const id of scenario.servers) {
      const s = scenario.byServer[id]?.summary;
      if (!s) continue;
      const extra = s.errors ? ` errors×${whole(s.errors)}` : '';
      const busy = typeof s.serverBusy === 'number' ? `${Math.round(s.serverBusy * 100)}%` : '';
      lines.push(`| ${scenario.id} | ${labelOf(results, id)} | ${whole(s.rps)} | ${busy} | ${fixed(s.p50Ms)} | ${fixed(s.p99Ms)} | ${fixed(s.maxMs)} | ${statusText(s.statusCounts)}${extra} |`);
    }
  }
  const open = results.scenarios.filter((/** @type {any} */ s) => s.openLoopRate);
  if (open.length) {
    const rounds = results.settings.openRounds ?? 1;
    const which = rounds > 1 ? `; each server's ${rounds} rounds alternate, and its round with the median p99 is shown, its worst round's p99 beside` : '';
    lines.push('', `### At a fixed rate (open loop, ${results.settings.openConnections} keep-alive connections, ${results.settings.openLoopS} s a round; latency from each request's scheduled send time${which})`, '');
    lines.push('| scenario | server | rate req/s | p50 ms | p99 ms | p99.9 ms | max ms | p99 from actual send | generator lag p99 ms | CPU µs/req at this rate | p99 of every round ms |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const scenario of open) {
      for (const id of scenario.servers) {
        const o = scenario.byServer[id]?.openLoop;
        if (!o) continue;
        lines.push(`| ${scenario.id} | ${labelOf(results, id)} | ${whole(o.ratePerS)} | ${fixed(o.latencyMs.p50, 3)} | ${fixed(o.latencyMs.p99, 3)} | ${fixed(o.latencyMs.p999, 3)} | ${fixed(o.latencyMs.max, 2)} | ${fixed(o.serviceMs?.p99, 3)} | ${fixed(o.sendLagMs.p99, 3)} | ${fixed(o.cpuUsPerRequest, 1)} | ${(o.roundP99sMs ?? [o.latencyMs.p99]).map((/** @type {number | null} */ p) => fixed(p, 3)).join(' · ')} |`);
      }
    }
    lines.push('', `Rates: ${open.map((/** @type {any} */ s) => `${s.id} ${s.openLoopRate.basis}`).join('; ')}.`);
  }
  return lines;
}

/** @param {any} results */
function serverTable(results) {
  const lines = ['', '### Servers', ''];
  lines.push('| server | start-up ms (median of runs) | peak RSS MiB (max over scenarios) | log bytes/req |');
  lines.push('| --- | ---: | ---: | ---: |');
  for (const id of results.serverIds) {
    const entries = results.scenarios.map((/** @type {any} */ s) => s.byServer?.[id]).filter(Boolean);
    const rss = maximum(entries.map((/** @type {any} */ e) => e.peakRssKb));
    const log = maximum(entries.map((/** @type {any} */ e) => e.logBytesPerRequest));
    const startupId = id.startsWith('edge-info') ? id.replace('edge-info', 'edge') : id;
    const startup = results.startup?.[startupId];
    const started = startup ? `${fixed(startup.medianMs, 0)} (${startup.samplesMs.length})${startupId.startsWith('edge') ? ', embedded default' : ''}` : '';
    lines.push(`| ${labelOf(results, id)} | ${started} | ${mib(rss)} | ${log === null ? '' : fixed(log, 0)} |`);
  }
  return lines;
}

/** @param {any} results */
function profileLines(results) {
  const profiled = results.scenarios.filter((/** @type {any} */ s) => s.profile);
  if (!profiled.length) return [];
  const lines = ['', '### Where registry-edge\'s CPU goes (info → file, one --cpu-prof round; self time, idle left out)', ''];
  /** @param {{ share: number }} e */
  const pct = (e) => `${(e.share * 100).toFixed(1)}%`;
  for (const scenario of profiled) {
    const p = scenario.profile;
    lines.push(`**${scenario.id} ${scenario.title}** (${whole(p.samples)} samples${p.windowed ? '' : ', whole profile'}):`);
    lines.push(`- by package: ${p.byPackage.slice(0, 10).map((/** @type {any} */ e) => `${e.name} ${pct(e)}`).join(' · ')}`);
    if (p.nodeByCaller?.length) lines.push(`- node's share by the package that called into it: ${p.nodeByCaller.slice(0, 6).map((/** @type {any} */ e) => `${e.name} ${pct(e)}`).join(' · ')}`);
    if (p.byModule.length) lines.push(`- our modules: ${p.byModule.slice(0, 6).map((/** @type {any} */ e) => `${e.name} ${pct(e)}`).join(' · ')}`);
    lines.push(`- top functions: ${p.byFunction.slice(0, 8).map((/** @type {any} */ e) => `\`${e.name}\` (${e.package}) ${pct(e)}`).join(' · ')}`);
    lines.push('');
  }
  return lines;
}

/** @param {any} results */
export function renderMarkdown(results) {
  const lines = [...headerLines(results), ...cpuTable(results), ...layerTable(results), ...latencyTables(results), ...serverTable(results), ...profileLines(results), ...extraLines(results)];
  if (results.scale) lines.push(...renderScaleMarkdown(results.scale));
  const checks = results.checks ?? [];
  if (checks.length) {
    lines.push('', '### Targets (issues 20, 13 and 12; registry-edge with info → file on the first node)', '');
    lines.push('| check | target | measured | |');
    lines.push('| --- | --- | --- | --- |');
    for (const check of checks) lines.push(`| ${check.label} | ${check.target} | ${check.measured} | ${check.pass ? 'pass' : '**FAIL**'} |`);
  }
  lines.push('', 'Scenarios:');
  for (const scenario of results.scenarios) {
    lines.push(`- ${scenario.id}: ${scenario.describe}${results.serverIds.includes('archeio') ? ` (archeio: ${scenario.archeioNote})` : ''}`);
  }
  if (results.warnings?.length) {
    lines.push('', 'Warnings:');
    for (const warning of results.warnings) lines.push(`- ${warning}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** @param {string} text */
function escapeXml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" axis maximum (1, 2, 2.5 or 5 × 10^n) at or above VALUE. @param {number} value */
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** @param {string} id */
function colorOf(id) {
  return LAYER_INFO[id.split('@')[0] ?? id]?.color ?? '#555555';
}

/**
 * Two panels: each layer's CPU µs per request per scenario (bars, best round; inside: ratio to
 * bare hono), and registry-edge's cost stacked by layer (floor, framework, our code, log line).
 * @param {any} results
 */
export function renderSvg(results) {
  const width = 960;
  const left = 64;
  const right = 20;
  const panelHeight = 240;
  const ids = results.serverIds;
  const scenarios = results.scenarios;
  const tag = tagsOf(results)[0] ?? '';
  const stacked = scenarios.filter((/** @type {any} */ s) => layerBreakdown(results, s.id, tag).info !== null && layerBreakdown(results, s.id, tag).raw !== null);
  const top1 = 76;
  const top2 = top1 + panelHeight + 100;
  const height = (stacked.length ? top2 + panelHeight : top1 + panelHeight) + 86;
  const plotWidth = width - left - right;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(`registry-edge benchmark ${results.startedAt}: CPU µs per request`)}</text>`,
    `<text x="${left}" y="42" fill="#555">${escapeXml(`best of ${results.settings.rounds} × ${results.settings.durationS} s rounds; node ${results.environment.nodes.map((/** @type {any} */ n) => n.version).join(' / ')}; lower is better`)}</text>`,
  ];
  /** @param {number} y0 @param {number} axisMax @param {string} title */
  const axis = (y0, axisMax, title) => {
    const y = (/** @type {number} */ v) => y0 + panelHeight - (v / axisMax) * panelHeight;
    parts.push(`<text x="${left}" y="${y0 - 12}" font-weight="bold">${escapeXml(title)}</text>`);
    for (let i = 0; i <= 4; i += 1) {
      const v = (axisMax * i) / 4;
      parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e2e2e2"/>`);
      parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${v.toFixed(0)}</text>`);
    }
    return y;
  };
  /** The scenario id under its bars, its title in small print below (titles are too long for one line). @param {string} x @param {number} y0 @param {any} s */
  const scenarioLabel = (x, y0, s) => {
    parts.push(`<text x="${x}" y="${y0 + 15}" text-anchor="middle" font-weight="bold">${escapeXml(s.id)}</text>`);
    parts.push(`<text x="${x}" y="${y0 + 28}" text-anchor="middle" font-size="9" fill="#555">${escapeXml(s.title)}</text>`);
  };
  const groupWidth = scenarios.length ? plotWidth / scenarios.length : plotWidth;
  const barWidth = Math.min(40, (groupWidth * 0.84) / Math.max(1, ids.length));
  const values = scenarios.flatMap((/** @type {any} */ s) => ids.map((/** @type {string} */ id) => cpuBest(results, s.id, id) ?? 0));
  const y = axis(top1, niceCeiling(Math.max(1, ...values)), 'each layer (inside the bar: ratio to bare hono on the same node)');
  scenarios.forEach((/** @type {any} */ s, /** @type {number} */ si) => {
    const groupLeft = left + si * groupWidth + (groupWidth - barWidth * ids.length) / 2;
    ids.forEach((/** @type {string} */ id, /** @type {number} */ bi) => {
      const value = cpuBest(results, s.id, id);
      if (value === null) return;
      const x = groupLeft + bi * barWidth;
      const mid = (x + (barWidth - 2) / 2).toFixed(1);
      parts.push(`<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(top1 + panelHeight - y(value)).toFixed(1)}" fill="${colorOf(id)}"><title>${escapeXml(`${s.id} ${labelOf(results, id)}: ${value.toFixed(1)} µs/req`)}</title></rect>`);
      parts.push(`<text x="${mid}" y="${(y(value) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${value.toFixed(0)}</text>`);
      const hono = cpuBest(results, s.id, `hono${id.includes('@') ? `@${id.split('@')[1]}` : ''}`);
      const r = ratio(value, hono);
      if (r !== null && !id.startsWith('hono') && top1 + panelHeight - y(value) > 30) {
        parts.push(`<text x="${mid}" y="${(top1 + panelHeight - 6).toFixed(1)}" text-anchor="middle" font-size="9" fill="#ffffff" transform="rotate(-90 ${mid} ${(top1 + panelHeight - 6).toFixed(1)})" dx="12">${r.toFixed(2)}x</text>`);
      }
    });
    scenarioLabel((left + si * groupWidth + groupWidth / 2).toFixed(1), top1 + panelHeight, s);
  });
  if (stacked.length) {
    const segments = [
      { key: 'raw', label: 'raw node:http floor', color: '#a0a0a0' },
      { key: 'framework', label: 'hono + node-server', color: '#6b8fb5' },
      { key: 'ourCode', label: 'registry-edge code', color: '#2b6cb0' },
      { key: 'logLine', label: 'the info log line', color: '#1a365d' },
    ];
    const totals = stacked.map((/** @type {any} */ s) => layerBreakdown(results, s.id, tag).info ?? 0);
    const y2 = axis(top2, niceCeiling(Math.max(1, ...totals)), 'registry-edge (info → file) stacked by layer: what each layer adds');
    const stackWidth = plotWidth / stacked.length;
    stacked.forEach((/** @type {any} */ s, /** @type {number} */ si) => {
      const b = /** @type {Record<string, number | null>} */ (layerBreakdown(results, s.id, tag));
      const x = left + si * stackWidth + stackWidth * 0.3;
      const w = stackWidth * 0.4;
      let base = 0;
      for (const segment of segments) {
        const v = b[segment.key];
        if (typeof v !== 'number') continue;
        // A layer that measured cheaper than the one below it (noise) draws as nothing.
        const shown = Math.max(0, v);
        parts.push(`<rect x="${x.toFixed(1)}" y="${y2(base + shown).toFixed(1)}" width="${w.toFixed(1)}" height="${(y2(base) - y2(base + shown)).toFixed(1)}" fill="${segment.color}"><title>${escapeXml(`${s.id} ${segment.label}: ${v.toFixed(1)} µs/req`)}</title></rect>`);
        if (y2(base) - y2(base + shown) > 12) {
          parts.push(`<text x="${(x + w + 4).toFixed(1)}" y="${((y2(base) + y2(base + shown)) / 2 + 4).toFixed(1)}" font-size="9" fill="#333">${escapeXml(`${segment.key === 'raw' ? '' : '+'}${v.toFixed(1)}`)}</text>`);
        }
        base += shown;
      }
      parts.push(`<text x="${(x + w / 2).toFixed(1)}" y="${(y2(base) - 4).toFixed(1)}" text-anchor="middle" font-size="10" font-weight="bold">${escapeXml((b.info ?? 0).toFixed(1))}</text>`);
      scenarioLabel((x + w / 2).toFixed(1), top2 + panelHeight, s);
    });
    segments.forEach((segment, i) => {
      parts.push(`<rect x="${left + i * 200}" y="${height - 22}" width="12" height="12" fill="${segment.color}"/>`);
      parts.push(`<text x="${left + i * 200 + 18}" y="${height - 12}">${escapeXml(segment.label)}</text>`);
    });
  }
  ids.forEach((/** @type {string} */ id, /** @type {number} */ i) => {
    const x = left + (i % 4) * 220;
    const yy = (stacked.length ? top1 + panelHeight + 48 : height - 30) + Math.floor(i / 4) * 16;
    parts.push(`<rect x="${x}" y="${yy - 10}" width="12" height="12" fill="${colorOf(id)}"/>`);
    parts.push(`<text x="${x + 18}" y="${yy}">${escapeXml(labelOf(results, id))}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
