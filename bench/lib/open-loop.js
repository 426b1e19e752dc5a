// Open-loop load: requests leave on a fixed timeline (request i is due at start + i/rate),
// whatever the server is doing, and each latency is measured from the time the request was
// DUE, not from when a connection got free to send it. A closed-loop generator (autocannon,
// wrk) waits for an answer before it sends the next request, so a 50 ms stall delays one
// request and silently omits the ~50 that should have been sent meanwhile ("coordinated
// omission"); here those 50 are late and their latencies say so.
//
// `OpenLoop` is the bookkeeping alone (pure, a clock passed in); `runOpenLoop` drives it over
// keep-alive sockets.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setImmediate } from 'node:timers';
import { parseResponse, serializeRequest } from './http-wire.js';
import { latencySummary } from './stats.js';

/** Waited on (never notified) for sub-millisecond naps: a sleeping generator is woken promptly by the scheduler, a spinning one is preempted. */
const NAP = new Int32Array(new SharedArrayBuffer(4));

export class OpenLoop {
  /**
   * @param {{ ratePerS: number, durationS: number, startMs: number, connections: number, send: (connection: number, index: number) => void }} options
   */
  constructor({ ratePerS, durationS, startMs, connections, send }) {
    if (!(ratePerS > 0) || !(durationS > 0) || !(connections >= 1)) throw new Error('open loop needs a rate, a duration and at least one connection');
    this.intervalMs = 1000 / ratePerS;
    this.total = Math.max(1, Math.floor(ratePerS * durationS));
    this.startMs = startMs;
    this.send = send;
    /** How many requests are due so far (their time has come); the ones not sent yet wait in line. */
    this.released = 0;
    this.sent = 0;
    this.answered = 0;
    /** Answers that arrived on a connection with no request outstanding (a server answering twice). */
    this.unexpected = 0;
    this.failed = 0;
    /** @type {number[]} connections with nothing in flight */
    this.idle = [];
    for (let c = connections - 1; c >= 0; c -= 1) this.idle.push(c);
    /** @type {Int32Array} the request index each connection is waiting on, -1 for none */
    this.inFlight = new Int32Array(connections).fill(-1);
    this.latencyMs = new Float64Array(this.total);
    /** How late each request left compared with its due time: the generator's own error. */
    this.sendLagMs = new Float64Array(this.total);
    /** Answer time minus actual send time: what a closed-loop tool would report. */
    this.serviceMs = new Float64Array(this.total);
    /** @type {Float64Array} when each request actually left */
    this.sentAtMs = new Float64Array(this.total);
    /** Per request: 0 not answered yet, 1 answered, 2 failed. */
    this.outcome = new Uint8Array(this.total);
    /** @type {Record<string, number>} */
    this.statusCounts = {};
  }

  /** @param {number} index */
  dueAt(index) {
    return this.startMs + index * this.intervalMs;
  }

  /** How many requests are due at NOW. @param {number} now */
  dueBy(now) {
    if (now < this.startMs) return 0;
    return Math.min(this.total, Math.floor((now - this.startMs) / this.intervalMs) + 1);
  }

  /** @param {number} now */
  dispatch(now) {
    this.released = Math.max(this.released, this.dueBy(now));
    while (this.sent < this.released && this.idle.length > 0) {
      const connection = /** @type {number} */ (this.idle.pop());
      const index = this.sent;
      this.sent += 1;
      this.inFlight[connection] = index;
      this.sendLagMs[index] = now - this.dueAt(index);
      this.sentAtMs[index] = now;
      this.send(connection, index);
    }
  }

  /**
   * Sends what is due; returns how many ms until the next request falls due (Infinity once
   * every request has been released).
   * @param {number} now
   */
  tick(now) {
    this.dispatch(now);
    return this.released < this.total ? this.dueAt(this.released) - now : Infinity;
  }

  /** @param {number} connection @param {number} now @param {1 | 2} outcome */
  finish(connection, now, outcome) {
    const index = this.inFlight[connection] ?? -1;
    if (index < 0) throw new Error(`connection ${connection} answered with nothing in flight`);
    this.inFlight[connection] = -1;
    this.latencyMs[index] = now - this.dueAt(index);
    this.serviceMs[index] = now - (this.sentAtMs[index] ?? now);
    this.outcome[index] = outcome;
  }

  /** CONNECTION got the answer to its request at NOW. @param {number} connection @param {number} status @param {number} now */
  answer(connection, status, now) {
    if ((this.inFlight[connection] ?? -1) < 0) {
      // Counted and reported, not thrown: one odd answer must not end a whole bench run.
      this.unexpected += 1;
      return;
    }
    this.finish(connection, now, 1);
    this.answered += 1;
    this.statusCounts[status] = (this.statusCounts[status] ?? 0) + 1;
    this.idle.push(connection);
    this.dispatch(now);
  }

  /**
   * CONNECTION broke with a request in flight (counted as failed); it rejoins the pool with
   * `reconnected` once a new socket is up.
   * @param {number} connection @param {number} now
   */
  fail(connection, now) {
    if ((this.inFlight[connection] ?? -1) >= 0) {
      this.finish(connection, now, 2);
      this.failed += 1;
    }
  }

  /** @param {number} connection @param {number} now */
  reconnected(connection, now) {
    this.idle.push(connection);
    this.dispatch(now);
  }

  get done() {
    return this.answered + this.failed >= this.total;
  }

  /** Latencies of the answered requests only (failed ones are counted, not timed). */
  summary() {
    const answered = new Float64Array(this.answered);
    const service = new Float64Array(this.answered);
    let n = 0;
    for (let i = 0; i < this.sent; i += 1) {
      if (this.outcome[i] !== 1) continue;
      answered[n] = /** @type {number} */ (this.latencyMs[i]);
      service[n] = /** @type {number} */ (this.serviceMs[i]);
      n += 1;
    }
    const lag = this.sendLagMs.slice(0, this.sent);
    return {
      scheduled: this.total,
      sent: this.sent,
      answered: this.answered,
      unexpected: this.unexpected,
      failed: this.failed,
      latencyMs: latencySummary(answered),
      serviceMs: latencySummary(service),
      sendLagMs: latencySummary(lag),
      statusCounts: this.statusCounts,
    };
  }
}

/**
 * Runs one open-loop measurement against URL over CONNECTIONS keep-alive sockets, after a
 * short unrecorded lead-in at the same rate (the generator's own JIT warm-up would otherwise
 * show up as the server's latency).
 * @param {{ url: string, requests: { method: string, path: string, headers: Record<string, string> }[], ratePerS: number, durationS: number, connections: number, warmupS?: number, timeoutS?: number }} job
 */
export async function runOpenLoop(job) {
  const target = new URL(job.url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 80);
  const payloads = job.requests.map((r) => serializeRequest(r, target.host));
  /** @type {import('node:net').Socket[]} */
  const sockets = [];
  /** @type {Buffer[]} */
  const pending = [];
  /** @type {OpenLoop | undefined} */
  let loop;
  let wake = () => {};

  /** @param {number} c @returns {Promise<void>} */
  const open = (c) =>
    new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      pending[c] = Buffer.alloc(0);
      socket.once('connect', () => resolve());
      socket.once('error', reject);
      socket.on('data', (chunk) => {
        const held = /** @type {Buffer} */ (pending[c]);
        let buf = held.length ? Buffer.concat([held, chunk]) : chunk;
        for (;;) {
          const parsed = parseResponse(buf);
          if (parsed === null) break;
          if ('error' in parsed) {
            socket.destroy(new Error(parsed.error));
            return;
          }
          buf = buf.subarray(parsed.end);
          loop?.answer(c, parsed.status, performance.now());
          if (!parsed.keepAlive) {
            socket.destroy();
            break;
          }
        }
        pending[c] = buf;
        if (loop?.done) wake();
      });
      socket.once('close', () => {
        const current = loop;
        if (!current || sockets[c] !== socket) return;
        current.fail(c, performance.now());
        if (current.done) return wake();
        // The server closed the connection: a fresh socket takes its place in the pool.
        open(c).then(
          () => current.reconnected(c, performance.now()),
          () => {},
        );
      });
      sockets[c] = socket;
    });

  /** One schedule over the open sockets; resolves with its loop and whether it ran out of time. @param {number} durationS */
  const drive = async (durationS) => {
    // A short lead so the first due requests do not queue behind the previous phase.
    const startMs = performance.now() + 20;
    const active = new OpenLoop({
      ratePerS: job.ratePerS,
      durationS,
      startMs,
      connections: job.connections,
      send: (c, index) => void sockets[c]?.write(/** @type {Buffer} */ (payloads[index % payloads.length])),
    });
    loop = active;
    let stopped = false;
    const pump = () => {
      if (stopped) return;
      const wait = active.tick(performance.now());
      if (wait === Infinity) return;
      // Timers fire up to a millisecond late, so the last stretch before a due time naps in
      // steps of at most 0.25 ms, letting socket reads run between naps. A generator that
      // spins is treated as a CPU hog by the scheduler and preempted for whole time slices
      // (measured here: it then fell hundreds of ms behind); napping costs ~0.05 ms of send
      // lag instead, which the report shows.
      if (wait > 2) setTimeout(pump, wait - 1.5);
      else {
        if (wait > 0.03) Atomics.wait(NAP, 0, 0, Math.min(wait - 0.02, 0.25));
        setImmediate(pump);
      }
    };
    const finished = new Promise((resolve) => (wake = () => resolve(false)));
    pump();
    /** @type {NodeJS.Timeout | undefined} */
    let deadline;
    const timedOut = await Promise.race([finished, new Promise((resolve) => (deadline = setTimeout(() => resolve(true), (durationS + (job.timeoutS ?? 5)) * 1000)))]);
    clearTimeout(deadline);
    stopped = true;
    return { active, timedOut, wallMs: performance.now() - startMs };
  };

  await Promise.all(Array.from({ length: job.connections }, (_, c) => open(c)));
  try {
    let leadIn = 0;
    if ((job.warmupS ?? 0.25) > 0) {
      const lead = await drive(job.warmupS ?? 0.25);
      if (lead.timedOut) throw new Error(`the server did not answer the open-loop lead-in within ${job.timeoutS ?? 5} s`);
      leadIn = lead.active.answered;
    }
    const cpuBefore = process.cpuUsage();
    const { active, timedOut, wallMs } = await drive(job.durationS);
    const cpu = process.cpuUsage(cpuBefore);
    const summary = active.summary();
    return {
      ...summary,
      ratePerS: job.ratePerS,
      connections: job.connections,
      durationS: job.durationS,
      timedOut: timedOut ? summary.scheduled - summary.answered - summary.failed : 0,
      // Everything the server answered during the job, for CPU per request.
      answeredWithLeadIn: summary.answered + leadIn,
      achievedRps: wallMs > 0 ? (summary.answered * 1000) / wallMs : 0,
      loadgenCpuShare: wallMs > 0 ? (cpu.user + cpu.system) / 1000 / wallMs : 0,
    };
  } finally {
    loop = undefined;
    for (const socket of sockets) socket.destroy();
  }
}
