// The load generator, run as its own process so it can be pinned to a core other than the
// server's. It takes jobs over IPC: flat-out (closed-loop) rounds run autocannon and keep
// every response time themselves (autocannon's own histogram has whole-millisecond
// resolution, too coarse for a 3 ms budget); fixed-rate rounds run bench/lib/open-loop.js.
import autocannon from 'autocannon';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { runOpenLoop } from './open-loop.js';
import { latencySummary } from './stats.js';

/**
 * @typedef {{ method: string, path: string, headers: Record<string, string> }} BenchRequest
 * @typedef {{ id: number, kind?: 'closed', url: string, connections: number, duration: number, requests: BenchRequest[], rotate: boolean, timeoutS?: number }} LoadJob
 * @typedef {{ id: number, kind: 'open', url: string, connections: number, durationS: number, ratePerS: number, requests: BenchRequest[] }} OpenJob
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
  taken() {
    return this.values.slice(0, this.length);
  }
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
  const latencyMs = latencySummary(samples.taken());
  /** @type {Record<string, number>} */
  const statusCounts = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statusCounts[code] = /** @type {{ count: number }} */ (stat).count;
  }
  return {
    requests: latencyMs.count,
    answered,
    durationS: windowMs / 1000,
    rps: windowMs > 0 ? (latencyMs.count * 1000) / windowMs : 0,
    latencyMs,
    statusCounts,
    errors: result.errors ?? 0,
    timeouts: result.timeouts ?? 0,
    // Near 1 means the generator, not the server, set the pace.
    loadgenCpuShare: windowMs > 0 ? (cpu.user + cpu.system) / 1000 / windowMs : 0,
  };
}

process.on('message', (/** @type {LoadJob | OpenJob} */ job) => {
  (job.kind === 'open' ? runOpenLoop(job) : run(job)).then(
    (result) => process.send?.({ id: job.id, result }),
    (error) => process.send?.({ id: job.id, error: String(error?.stack ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
