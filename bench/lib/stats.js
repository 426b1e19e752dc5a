// Summaries the report is built from. Pure functions over plain numbers.

/** Median of the finite numbers in VALUES, or null when there are none. @param {(number | null | undefined)[]} values */
export function median(values) {
  const finite = /** @type {number[]} */ (values.filter((v) => typeof v === 'number' && Number.isFinite(v))).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const middle = Math.floor(finite.length / 2);
  return finite.length % 2 ? /** @type {number} */ (finite[middle]) : (/** @type {number} */ (finite[middle - 1]) + /** @type {number} */ (finite[middle])) / 2;
}

/** @param {(number | null | undefined)[]} values */
export function maximum(values) {
  const finite = /** @type {number[]} */ (values.filter((v) => typeof v === 'number' && Number.isFinite(v)));
  return finite.length ? Math.max(...finite) : null;
}

/** @param {number | null | undefined} value @param {number | null | undefined} reference */
export function ratio(value, reference) {
  if (typeof value !== 'number' || typeof reference !== 'number' || reference <= 0) return null;
  return value / reference;
}

/**
 * One server's rounds of one scenario, folded into the numbers the table shows: median
 * req/s and p50/p99 over rounds, the worst max, CPU per request over all rounds together.
 * @param {{ rps: number, requests: number, answered: number, latencyMs: { p50: number | null, p99: number | null, max: number | null }, cpuUs: number | null, errors: number, timeouts: number, statusCounts: Record<string, number>, bucketHeads: number | null, loadgenCpuShare: number }[]} rounds
 */
export function summarizeRounds(rounds) {
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  // CPU time covers every answer of a round, including those sent before the timed window.
  const answered = rounds.reduce((sum, r) => sum + r.answered, 0);
  const cpuRounds = rounds.filter((r) => typeof r.cpuUs === 'number');
  const cpuUs = cpuRounds.length === rounds.length && rounds.length > 0
    ? cpuRounds.reduce((sum, r) => sum + /** @type {number} */ (r.cpuUs), 0)
    : null;
  /** @type {Record<string, number>} */
  const statusCounts = {};
  for (const r of rounds) {
    for (const [code, count] of Object.entries(r.statusCounts)) statusCounts[code] = (statusCounts[code] ?? 0) + count;
  }
  const heads = rounds.map((r) => r.bucketHeads).filter((h) => typeof h === 'number');
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50Ms: median(rounds.map((r) => r.latencyMs.p50)),
    p99Ms: median(rounds.map((r) => r.latencyMs.p99)),
    maxMs: maximum(rounds.map((r) => r.latencyMs.max)),
    cpuUsPerRequest: cpuUs !== null && answered > 0 ? cpuUs / answered : null,
    requests,
    errors: rounds.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
    statusCounts,
    bucketHeads: heads.length ? heads.reduce((a, b) => a + /** @type {number} */ (b), 0) : null,
    loadgenCpuShare: maximum(rounds.map((r) => r.loadgenCpuShare)),
  };
}
