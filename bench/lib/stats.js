// Summaries the report is built from. Pure functions over plain numbers.

/** @param {(number | null | undefined)[]} values @returns {number[]} */
function finiteSorted(values) {
  return /** @type {number[]} */ (values.filter((v) => typeof v === 'number' && Number.isFinite(v))).sort((a, b) => a - b);
}

/** Median of the finite numbers in VALUES, or null when there are none. @param {(number | null | undefined)[]} values */
export function median(values) {
  const finite = finiteSorted(values);
  if (finite.length === 0) return null;
  const middle = Math.floor(finite.length / 2);
  return finite.length % 2 ? /** @type {number} */ (finite[middle]) : (/** @type {number} */ (finite[middle - 1]) + /** @type {number} */ (finite[middle])) / 2;
}

/** @param {(number | null | undefined)[]} values */
export function maximum(values) {
  const finite = finiteSorted(values);
  return finite.length ? /** @type {number} */ (finite[finite.length - 1]) : null;
}

/** @param {(number | null | undefined)[]} values */
export function minimum(values) {
  const finite = finiteSorted(values);
  return finite.length ? /** @type {number} */ (finite[0]) : null;
}

/** @param {number | null | undefined} value @param {number | null | undefined} reference */
export function ratio(value, reference) {
  if (typeof value !== 'number' || typeof reference !== 'number' || reference <= 0) return null;
  return value / reference;
}

/** @param {number | null | undefined} value @param {number | null | undefined} reference */
export function difference(value, reference) {
  if (typeof value !== 'number' || typeof reference !== 'number') return null;
  return value - reference;
}

/**
 * The value at FRACTION of an ascending array (nearest rank: the smallest value with at least
 * that share of samples at or below it), or null when empty.
 * @param {ArrayLike<number>} sorted @param {number} fraction
 */
export function quantile(sorted, fraction) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? null;
}

/**
 * Latency summary of raw samples in ms (any order; the array is sorted in place).
 * @param {Float64Array} samples
 */
export function latencySummary(samples) {
  samples.sort();
  let sum = 0;
  for (let i = 0; i < samples.length; i += 1) sum += samples[i] ?? 0;
  return {
    count: samples.length,
    p50: quantile(samples, 0.5),
    p90: quantile(samples, 0.9),
    p99: quantile(samples, 0.99),
    p999: quantile(samples, 0.999),
    max: samples.length ? (samples[samples.length - 1] ?? null) : null,
    mean: samples.length ? sum / samples.length : null,
  };
}

/**
 * CPU µs per answered request of one round, or null when the server's CPU was not readable.
 * CPU time covers every answer of a round, including those sent before the timed window.
 * @param {{ cpuUs: number | null, answered: number }} round
 */
export function roundCpuPerRequest(round) {
  return typeof round.cpuUs === 'number' && round.answered > 0 ? round.cpuUs / round.answered : null;
}

/**
 * One server's rounds of one scenario, folded into the numbers the tables show. CPU per
 * request is the primary figure: its best (lowest) round is what a quiet machine would show,
 * the median says how steady it was. req/s and latencies are medians over rounds.
 * serverBusy: the share of the round the server spent on CPU; well under 1 means it waited
 * for the load generator (then each request costs a little more: fewer share a wake-up).
 * @param {{ rps: number, requests: number, answered: number, durationS: number, latencyMs: { p50: number | null, p99: number | null, max: number | null }, cpuUs: number | null, errors: number, timeouts: number, statusCounts: Record<string, number>, bucketHeads: number | null, loadgenCpuShare: number }[]} rounds
 */
export function summarizeRounds(rounds) {
  const perRound = rounds.map(roundCpuPerRequest);
  /** @type {Record<string, number>} */
  const statusCounts = {};
  for (const r of rounds) {
    for (const [code, count] of Object.entries(r.statusCounts)) statusCounts[code] = (statusCounts[code] ?? 0) + count;
  }
  const heads = rounds.map((r) => r.bucketHeads).filter((h) => typeof h === 'number');
  return {
    cpuUsBest: perRound.every((v) => v !== null) ? minimum(perRound) : null,
    cpuUsMedian: perRound.every((v) => v !== null) ? median(perRound) : null,
    cpuUsRounds: perRound,
    serverBusy: median(rounds.map((r) => (typeof r.cpuUs === 'number' && r.durationS > 0 ? r.cpuUs / (r.durationS * 1e6) : null))),
    rps: median(rounds.map((r) => r.rps)),
    rpsBest: maximum(rounds.map((r) => r.rps)),
    p50Ms: median(rounds.map((r) => r.latencyMs.p50)),
    p99Ms: median(rounds.map((r) => r.latencyMs.p99)),
    maxMs: maximum(rounds.map((r) => r.latencyMs.max)),
    requests: rounds.reduce((sum, r) => sum + r.requests, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
    statusCounts,
    bucketHeads: heads.length ? heads.reduce((a, b) => a + /** @type {number} */ (b), 0) : null,
    loadgenCpuShare: maximum(rounds.map((r) => r.loadgenCpuShare)),
  };
}

/**
 * Of a server's fixed-rate rounds, the one whose p99 is the median (the lower middle one of an
 * even count) and the one with the highest p99. A p99 over one 2 s round is decided by its
 * slowest 1% alone, so one pause of the machine's other work moves it by milliseconds; the
 * median round says what the server does, the worst what a bad moment looked like.
 * @template {{ latencyMs: { p99: number | null } }} R @param {R[]} rounds
 */
export function medianAndWorstRound(rounds) {
  const byP99 = [...rounds].sort((a, b) => (a.latencyMs.p99 ?? Infinity) - (b.latencyMs.p99 ?? Infinity));
  return { typical: byP99[Math.floor((byP99.length - 1) / 2)], worst: byP99[byP99.length - 1] };
}
