// The load generator, run as its own process so it can be pinned to a core other than the
// server's. It takes jobs over IPC, runs autocannon, and keeps every response time itself:
// autocannon's own histogram has whole-millisecond resolution, too coarse for a 3 ms budget.
import autocannon from 'autocannon';
import process from 'node:process';
import { performance } from 'node:perf_hooks';

/**
 * @typedef {{ method: string, path: string, headers: Record<string, string> }} BenchRequest
 * @typedef {{ id: number, url: string, connections: number, duration: number, requests: BenchRequest[], rotate: boolean, timeoutS?: number }} LoadJob
 */

/** A growable list of float latencies (ms). */
class Samples {
  constructor() {
    this.values = new Float64Array(1 << 16);
    this.length = 0;
  }
  /** @param {number} value */
  push(value) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length] = value;
    this.length += 1;
  }
  sorted() {
    return this.values.slice(0, this.length).sort();
  }
}

/** @param {Float64Array} sorted @param {number} fraction */
function quantile(sorted, fraction) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? null;
}

/** @param {LoadJob} job */
async function run(job) {
  const samples = new Samples();
  let nextOffset = 0;
  const perConnectionStride = Math.max(1, Math.floor(job.requests.length / Math.max(1, job.connections)));
  /** @type {any} */
  const options = {
    url: job.url,
    connections: job.connections,
    duration: job.duration,
    timeout: job.timeoutS ?? 10,
    // With rotation each connection installs its own list in setupClient; handing autocannon
    // the whole list too would make it build every request twice per connection.
    requests: job.rotate ? job.requests.slice(0, 1) : job.requests,
  };
  if (job.rotate && job.requests.length > 1) {
    // Every connection starts the list at its own offset: otherwise all of them would walk
    // the same pull in lock-step and the mix would look like one client at a time.
    options.setupClient = (/** @type {any} */ client) => {
      const offset = (nextOffset * perConnectionStride) % job.requests.length;
      nextOffset += 1;
      client.setRequests([...job.requests.slice(offset), ...job.requests.slice(0, offset)].map((r) => ({ ...r, headers: { ...r.headers } })));
    };
  }
  const instance = autocannon(options);
  // Only requests sent after every connection is set up count: building the connections'
  // request lists blocks the generator (most of a second for S5), and the first requests
  // would otherwise carry that stall as latency. autocannon's duration timer starts then too.
  let loadStartedAt = Infinity;
  let lastAnswerAt = 0;
  let answered = 0;
  let cpuAtStart = process.cpuUsage();
  instance.on('start', () => {
    loadStartedAt = performance.now();
    cpuAtStart = process.cpuUsage();
  });
  instance.on('response', (/** @type {unknown} */ _client, /** @type {number} */ _status, /** @type {number} */ _bytes, /** @type {number} */ responseTime) => {
    answered += 1;
    const now = performance.now();
    if (now - responseTime < loadStartedAt) return;
    lastAnswerAt = now;
    samples.push(responseTime);
  });
  /** @type {any} */
  const result = await instance;
  const windowMs = Math.max(0, lastAnswerAt - loadStartedAt);
  const cpu = process.cpuUsage(cpuAtStart);
  const sorted = samples.sorted();
  /** @type {Record<string, number>} */
  const statusCounts = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statusCounts[code] = /** @type {{ count: number }} */ (stat).count;
  }
  return {
    requests: sorted.length,
    answered,
    durationS: windowMs / 1000,
    rps: windowMs > 0 ? (sorted.length * 1000) / windowMs : 0,
    latencyMs: {
      p50: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      p99: quantile(sorted, 0.99),
      max: sorted.length ? sorted[sorted.length - 1] : null,
      mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null,
    },
    statusCounts,
    errors: result.errors ?? 0,
    timeouts: result.timeouts ?? 0,
    // Near 1 means the generator, not the server, set the pace.
    loadgenCpuShare: windowMs > 0 ? (cpu.user + cpu.system) / 1000 / windowMs : 0,
  };
}

process.on('message', (/** @type {LoadJob} */ job) => {
  run(job).then(
    (result) => process.send?.({ id: job.id, result }),
    (error) => process.send?.({ id: job.id, error: String(error?.stack ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
