// Turns a finished run into what people read: a Markdown table, the pass/fail checks the
// issue asks for, and a hand-written SVG chart. Pure: the caller writes the files.
import { ratio } from './stats.js';

/** Targets from the issue; ratios are against the node:http baseline of the same run. */
export const TARGETS = {
  s3RpsRatio: 0.7,
  s2RpsRatio: 0.72,
  p99Ms: 3,
  rssFactor: 1.3,
  startupMs: 500,
};

const COLORS = { baseline: '#8c8c8c', edge: '#2b6cb0', target: '#dd6b20' };

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

/** @param {any} results @param {string} scenarioId @param {string} serverId */
export function summaryOf(results, scenarioId, serverId) {
  return results.scenarios.find((/** @type {any} */ s) => s.id === scenarioId)?.byServer?.[serverId]?.summary;
}

/**
 * CPU per request of SERVER in SCENARIO as a multiple of the baseline's. Unlike the req/s
 * ratio it holds even when the load generator, not the server, capped the rate.
 * @param {any} results @param {string} scenarioId @param {string} serverId
 */
export function cpuRatio(results, scenarioId, serverId) {
  return ratio(summaryOf(results, scenarioId, serverId)?.cpuUsPerRequest, summaryOf(results, scenarioId, 'baseline')?.cpuUsPerRequest);
}

/** req/s of SERVER in SCENARIO as a multiple of the baseline's. @param {any} results @param {string} scenarioId @param {string} serverId */
export function rpsRatio(results, scenarioId, serverId) {
  return ratio(summaryOf(results, scenarioId, serverId)?.rps, summaryOf(results, scenarioId, 'baseline')?.rps);
}

/**
 * The issue's numbers for registry-edge, each with the value measured in this run; a check
 * whose inputs were not measured (server or scenario skipped) is left out, not failed.
 * @param {any} results
 */
export function evaluateChecks(results) {
  /** @type {{ label: string, target: string, measured: string, pass: boolean }[]} */
  const checks = [];
  const hasEdge = results.servers.some((/** @type {any} */ s) => s.id === 'edge');
  const hasBaseline = results.servers.some((/** @type {any} */ s) => s.id === 'baseline');
  if (!hasEdge) return checks;
  for (const [scenarioId, minimum] of [['S3', TARGETS.s3RpsRatio], ['S2', TARGETS.s2RpsRatio]]) {
    const value = hasBaseline ? rpsRatio(results, String(scenarioId), 'edge') : null;
    if (value !== null) {
      checks.push({ label: `${scenarioId} req/s vs baseline`, target: `≥ ${minimum}x`, measured: `${value.toFixed(2)}x`, pass: value >= Number(minimum) });
    }
  }
  for (const scenarioId of ['S1', 'S2', 'S3', 'S4']) {
    const p99 = summaryOf(results, scenarioId, 'edge')?.p99Ms;
    if (typeof p99 === 'number') {
      checks.push({ label: `${scenarioId} p99 at ${loadText(results.settings)}`, target: `< ${TARGETS.p99Ms} ms`, measured: `${p99.toFixed(2)} ms`, pass: p99 < TARGETS.p99Ms });
    }
  }
  const edgeRss = results.servers.find((/** @type {any} */ s) => s.id === 'edge')?.peakRssKb;
  const baseRss = results.servers.find((/** @type {any} */ s) => s.id === 'baseline')?.peakRssKb;
  if (typeof edgeRss === 'number' && typeof baseRss === 'number') {
    const geoKb = (results.geo.loadedBytes ?? 0) / 1024;
    const limit = TARGETS.rssFactor * baseRss + geoKb;
    checks.push({
      label: 'peak RSS',
      target: `≤ ${TARGETS.rssFactor} × baseline (${mib(baseRss)}) + geo data (${mib(geoKb)}) = ${mib(limit)} MiB`,
      measured: `${mib(edgeRss)} MiB`,
      pass: edgeRss <= limit,
    });
  }
  const startup = results.startup?.edge?.medianMs;
  if (typeof startup === 'number') {
    checks.push({ label: 'start-up (spawn → first answer on /v2/)', target: `< ${TARGETS.startupMs} ms`, measured: `${startup.toFixed(0)} ms`, pass: startup < TARGETS.startupMs });
  }
  return checks;
}

/** @param {{ connections: number }} settings */
function loadText(settings) {
  return `${settings.connections} connections`;
}

/** @param {Record<string, number>} counts */
function statusText(counts) {
  return Object.entries(counts).sort().map(([code, n]) => `${code}×${whole(n)}`).join(' ');
}

/** @param {any} results */
export function renderMarkdown(results) {
  const env = results.environment;
  const set = results.settings;
  const lines = [];
  lines.push(`## registry-edge benchmark, ${results.startedAt}`);
  lines.push('');
  lines.push(
    `${loadText(set)}, ${set.rounds} round(s) × ${set.durationS} s per scenario and server after a ${set.warmupS} s warm-up, ` +
      `servers alternating round by round, order reversed every other round; ${env.pinned ? `servers pinned to CPU ${env.serverCore}, autocannon to CPU ${env.loadCore}` : 'no CPU pinning (taskset unavailable or --no-pin)'}. ` +
      `Node ${env.node}, ${env.cpus} × ${env.cpuModel}, load average ${fixed(env.loadavgStart, 2)} at start, ${fixed(env.loadavgEnd, 2)} at end.`,
  );
  lines.push('');
  lines.push(`Geo data: ${results.geo.detail}. registry-edge runs with \`log.level: warn\` (one info line per request would measure the logger, not routing) and \`client_ip.trusted_hops: 1\`.`);
  lines.push('');
  lines.push('| scenario | server | req/s | vs baseline | p50 ms | p99 ms | max ms | CPU µs/req (vs baseline) | responses |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const scenario of results.scenarios) {
    for (const server of results.servers) {
      const summary = scenario.byServer[server.id]?.summary;
      if (!summary) continue;
      const vs = server.id === 'baseline' ? '1.00x' : fixed(rpsRatio(results, scenario.id, server.id)) + (rpsRatio(results, scenario.id, server.id) === null ? '' : 'x');
      const extra = summary.errors ? ` errors×${whole(summary.errors)}` : '';
      const cpuVs = server.id === 'baseline' ? null : cpuRatio(results, scenario.id, server.id);
      const cpu = `${fixed(summary.cpuUsPerRequest, 1)}${cpuVs === null ? '' : ` (${cpuVs.toFixed(2)}x)`}`;
      lines.push(
        `| ${scenario.id} ${scenario.title} | ${server.label} | ${whole(summary.rps)} | ${vs} | ${fixed(summary.p50Ms)} | ${fixed(summary.p99Ms)} | ${fixed(summary.maxMs)} | ${cpu} | ${statusText(summary.statusCounts)}${extra} |`,
      );
    }
  }
  lines.push('');
  lines.push('| server | start-up ms (median) | peak RSS MiB |');
  lines.push('| --- | ---: | ---: |');
  for (const server of results.servers) {
    const startup = results.startup?.[server.id];
    lines.push(`| ${server.label} | ${startup ? `${fixed(startup.medianMs, 0)} (${startup.samplesMs.length} run${startup.samplesMs.length === 1 ? '' : 's'})` : ''} | ${mib(server.peakRssKb)} |`);
  }
  const checks = results.checks ?? [];
  if (checks.length) {
    lines.push('');
    lines.push('| check (registry-edge) | target | measured | |');
    lines.push('| --- | --- | --- | --- |');
    for (const check of checks) lines.push(`| ${check.label} | ${check.target} | ${check.measured} | ${check.pass ? 'pass' : '**FAIL**'} |`);
  }
  lines.push('');
  lines.push(
    `Each connection sends its next request as soon as the last is answered, so the server runs flat out and mean latency is ${set.connections} ÷ req/s ` +
      "(Little's law): these p99s reflect throughput as much as per-request cost. Fewer `--connections` show latency under lighter load.",
  );
  lines.push('');
  lines.push('Scenarios:');
  for (const scenario of results.scenarios) lines.push(`- ${scenario.id}: ${scenario.describe}`);
  if (results.warnings?.length) {
    lines.push('');
    lines.push('Warnings:');
    for (const warning of results.warnings) lines.push(`- ${warning}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** @param {string} text */
function escapeXml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" axis maximum (1, 2 or 5 × 10^n) at or above VALUE. @param {number} value */
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * Grouped bars, one group per scenario and one bar per server, for req/s (top) and p99 (bottom).
 * @param {any} results
 */
export function renderSvg(results) {
  const width = 920;
  const panelHeight = 250;
  const top = 56;
  const left = 70;
  const right = 20;
  const gap = 70;
  const height = top + 20 + 2 * panelHeight + gap + 60;
  const servers = results.servers;
  const scenarios = results.scenarios;
  const plotWidth = width - left - right;
  const groupWidth = scenarios.length ? plotWidth / scenarios.length : plotWidth;
  const barWidth = Math.min(48, (groupWidth * 0.8) / Math.max(1, servers.length));
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(`registry-edge benchmark ${results.startedAt}`)}</text>`);
  parts.push(`<text x="${left}" y="42" fill="#555">${escapeXml(`${loadText(results.settings)}, median of ${results.settings.rounds} × ${results.settings.durationS} s per scenario and server`)}</text>`);

  /**
   * @param {string} title @param {number} y0 @param {(summary: any) => number | null} pick @param {(v: number) => string} label
   * @param {number | undefined} limit @param {((scenarioId: string, serverId: string) => string | undefined)} [annotate] text inside a bar
   */
  const panel = (title, y0, pick, label, limit, annotate) => {
    const values = [];
    for (const s of scenarios) for (const srv of servers) values.push(pick(s.byServer[srv.id]?.summary) ?? 0);
    const axisMax = niceCeiling(Math.max(...values, limit ?? 0, 0));
    const y = (/** @type {number} */ v) => y0 + panelHeight - (v / axisMax) * panelHeight;
    parts.push(`<text x="${left}" y="${y0 - 10}" font-weight="bold">${escapeXml(title)}</text>`);
    for (let i = 0; i <= 4; i += 1) {
      const v = (axisMax * i) / 4;
      parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e2e2e2"/>`);
      parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${escapeXml(label(v))}</text>`);
    }
    if (limit !== undefined) {
      parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(limit).toFixed(1)}" y2="${y(limit).toFixed(1)}" stroke="#c53030" stroke-dasharray="6 4"/>`);
      parts.push(`<text x="${width - right}" y="${y0 - 10}" text-anchor="end" fill="#c53030">${escapeXml(`dashed line: registry-edge target, ${limit} ms`)}</text>`);
    }
    scenarios.forEach((/** @type {any} */ s, /** @type {number} */ si) => {
      const groupLeft = left + si * groupWidth + (groupWidth - barWidth * servers.length) / 2;
      servers.forEach((/** @type {any} */ srv, /** @type {number} */ bi) => {
        const value = pick(s.byServer[srv.id]?.summary);
        if (value === null || value === undefined) return;
        const x = groupLeft + bi * barWidth;
        const color = COLORS[/** @type {keyof typeof COLORS} */ (srv.id)] ?? '#555';
        parts.push(`<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 3).toFixed(1)}" height="${(y0 + panelHeight - y(value)).toFixed(1)}" fill="${color}"><title>${escapeXml(`${s.id} ${srv.label}: ${label(value)}`)}</title></rect>`);
        parts.push(`<text x="${(x + (barWidth - 3) / 2).toFixed(1)}" y="${(y(value) - 3).toFixed(1)}" text-anchor="middle" font-size="10">${escapeXml(label(value))}</text>`);
        const note = annotate ? annotate(s.id, srv.id) : undefined;
        if (note && y0 + panelHeight - y(value) > 18) {
          parts.push(`<text x="${(x + (barWidth - 3) / 2).toFixed(1)}" y="${(y(value) + 13).toFixed(1)}" text-anchor="middle" font-size="10" fill="#ffffff">${escapeXml(note)}</text>`);
        }
      });
      parts.push(`<text x="${(left + si * groupWidth + groupWidth / 2).toFixed(1)}" y="${y0 + panelHeight + 16}" text-anchor="middle">${escapeXml(`${s.id} ${s.title}`)}</text>`);
    });
  };
  const ratioNote = (/** @type {string} */ scenarioId, /** @type {string} */ serverId) => {
    const value = serverId === 'baseline' ? null : rpsRatio(results, scenarioId, serverId);
    return value === null ? undefined : `${value.toFixed(2)}x`;
  };
  panel('requests per second (median; inside the bar: ratio to the baseline)', top + 20, (summary) => summary?.rps ?? null, (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0)), undefined, ratioNote);
  panel('p99 latency (ms)', top + 20 + panelHeight + gap, (summary) => summary?.p99Ms ?? null, (v) => v.toFixed(2), results.servers.some((/** @type {any} */ s) => s.id === 'edge') ? TARGETS.p99Ms : undefined);
  const legendY = height - 16;
  servers.forEach((/** @type {any} */ srv, /** @type {number} */ i) => {
    const x = left + i * 220;
    const color = COLORS[/** @type {keyof typeof COLORS} */ (srv.id)] ?? '#555';
    parts.push(`<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${x + 18}" y="${legendY}">${escapeXml(srv.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
