// The reload-memory curve (bench/reload-memory.js): samples in, CSV and a summary out. Pure.

const MiB = 1024 * 1024;

/**
 * The networks of the synthetic city file the reload-memory test and curve load: 96 Ki /24s over
 * 64 places, a ~0.6 MB database (one copy kept per reload would be 60 MB after 100).
 * @returns {Generator<[string, { country: { iso_code: string }, location: { latitude: number, longitude: number } }]>}
 */
export function* syntheticCityNetworks() {
  for (let i = 0; i < 96 * 1024; i++) {
    const place = i % 64;
    yield [`${11 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`, { country: { iso_code: `C${place}` }, location: { latitude: place - 32, longitude: place * 2 - 64 } }];
  }
}

/**
 * @typedef {{ t: number, reloads: number, pid: number, role: string, rss: number, anon?: number,
 *   file?: number, heapUsed: number, heapCommitted: number, external: number }} Sample
 *   one process's figures at `t` seconds into the run, in bytes
 */

export const CSV_HEADER = 't_s,reloads,pid,role,rss_mib,rss_anon_mib,rss_file_mib,heap_used_mib,heap_committed_mib,external_mib';

/** @param {number | undefined} bytes */
const mib = (bytes) => (bytes === undefined ? '' : (bytes / MiB).toFixed(2));

/** @param {Sample[]} samples */
export function toCsv(samples) {
  const rows = samples.map((s) => [s.t.toFixed(1), s.reloads, s.pid, s.role, mib(s.rss), mib(s.anon), mib(s.file), mib(s.heapUsed), mib(s.heapCommitted), mib(s.external)].join(','));
  return `${[CSV_HEADER, ...rows].join('\n')}\n`;
}

/** Seconds at each end of a run that are compared: a minute, or a quarter of a shorter run. @param {number} duration */
export const windowSeconds = (duration) => Math.min(60, duration / 4);

/** @param {number[]} values */
const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;

/**
 * Per process, mean RSS (and anonymous RSS) of the first window against the last one.
 * @param {Sample[]} samples
 * @param {number} duration
 */
export function summarize(samples, duration) {
  const window = windowSeconds(duration);
  const pids = [...new Set(samples.map((s) => s.pid))];
  return pids.map((pid) => {
    const own = samples.filter((s) => s.pid === pid);
    const first = own.filter((s) => s.t <= window);
    const last = own.filter((s) => s.t >= duration - window);
    if (first.length === 0 || last.length === 0) return { pid, role: own[0]?.role ?? '?', complete: false };
    const rssFirst = mean(first.map((s) => s.rss));
    const rssLast = mean(last.map((s) => s.rss));
    const anon = first.every((s) => s.anon !== undefined) && last.every((s) => s.anon !== undefined);
    const anonFirst = anon ? mean(first.map((s) => s.anon ?? 0)) : undefined;
    const anonLast = anon ? mean(last.map((s) => s.anon ?? 0)) : undefined;
    return {
      pid,
      role: own[0]?.role ?? '?',
      complete: true,
      rssFirst,
      rssLast,
      rssRatio: rssLast / rssFirst,
      anonFirst,
      anonLast,
      anonRatio: anonFirst === undefined || anonLast === undefined ? undefined : anonLast / anonFirst,
    };
  });
}

/**
 * One line: what ran, and each process's first-window against last-window RSS.
 * @param {{ node: string, mode: string, duration: number, reloads: number, answered: number, failed: number }} run
 * @param {ReturnType<typeof summarize>} rows
 */
export function summaryLine(run, rows) {
  const window = windowSeconds(run.duration);
  const parts = rows.map((r) => {
    if (!r.complete) return `${r.role} ${r.pid}: incomplete`;
    const anon = r.anonRatio === undefined ? '' : `, anon ${mib(r.anonFirst)} -> ${mib(r.anonLast)} (${r.anonRatio.toFixed(3)}x)`;
    return `${r.role}: RSS ${mib(r.rssFirst)} -> ${mib(r.rssLast)} MiB (${r.rssRatio?.toFixed(3)}x)${anon}`;
  });
  const label = window === 60 ? 'first minute vs last minute' : `first ${window} s vs last ${window} s`;
  return `reload-memory node ${run.node} ${run.mode}: ${run.duration} s, ${run.reloads} reloads, ${run.answered} requests answered, ${run.failed} failed; ${label}: ${parts.join('; ')}`;
}
