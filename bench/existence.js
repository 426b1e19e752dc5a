// Existence-check benchmark: measures the numbers issue 4 asks for against real local
// bucket servers on 127.0.0.1. Run after `npm run build`:
//   node bench/existence.js [--json]
// Exits 1 when a target is missed.
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { createExistenceChecker } from '../dist/src/blobs/index.js';

const KEY = '/containers/images/{digest}';
const jsonOnly = process.argv.includes('--json');

function say(line) {
  if (!jsonOnly) console.log(line);
}

function digest(n) {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

function checkConfig(overrides = {}) {
  return {
    timeout_ms: 5000,
    ttl_s: 21600,
    negative_ttl_s: 60,
    max_entries: 100_000,
    max_inflight: 256,
    failure_threshold: 3,
    cooldown_ms: 10_000,
    ...overrides,
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function round(ms) {
  return Math.round(ms * 1000) / 1000;
}

/** HTTP bucket answering 200 to every HEAD after `delayMs`, counting requests and connections. */
async function countingBucket(name, delayMs) {
  const counts = { requests: 0, connections: 0 };
  const server = http.createServer((req, res) => {
    counts.requests++;
    const answer = () => res.writeHead(200, { 'content-length': '1' }).end();
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  server.on('connection', () => counts.connections++);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    counts,
    bucket: { name, url, regions: [], networks: [] },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** TCP server that accepts connections and never answers. */
async function silentBucket(name) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    bucket: { name, url, regions: [], networks: [] },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

async function coalescing() {
  const rounds = 20;
  const concurrency = 50;
  const server = await countingBucket('counting', 20);
  const checker = createExistenceChecker({ key: KEY, check: checkConfig() });
  const headsPerRound = [];
  for (let round = 0; round < rounds; round++) {
    const before = server.counts.requests;
    const answers = await Promise.all(
      Array.from({ length: concurrency }, () => checker.check(server.bucket, digest(round + 1))),
    );
    if (answers.some((a) => a !== 'present')) throw new Error(`round ${round}: unexpected answers`);
    headsPerRound.push(server.counts.requests - before);
  }
  await checker.close();
  await server.close();
  const maxHeads = Math.max(...headsPerRound);
  say(`cold cache, ${concurrency} concurrent checks of one new blob, ${rounds} blobs: HEADs per blob max ${maxHeads} (target 1)`);
  return { concurrency, rounds, max_heads_per_blob: maxHeads, ok: maxHeads === 1 };
}

async function silent() {
  const timeoutMs = 200;
  const server = await silentBucket('silent');
  const checker = createExistenceChecker({ key: KEY, check: checkConfig({ timeout_ms: timeoutMs, failure_threshold: 3 }) });
  // A burst hits the bucket before anyone knows it is dead.
  const first = await Promise.all(
    Array.from({ length: 20 }, async (_, n) => {
      const started = performance.now();
      await checker.check(server.bucket, digest(n));
      return performance.now() - started;
    }),
  );
  const firstMax = Math.max(...first);
  const available = checker.available(server.bucket);
  const latencies = [];
  const concurrency = 50;
  for (let batch = 0; batch < 200; batch++) {
    const results = await Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        const started = performance.now();
        await checker.check(server.bucket, digest(1000 + batch * concurrency + i));
        return performance.now() - started;
      }),
    );
    latencies.push(...results);
  }
  latencies.sort((a, b) => a - b);
  const stats = checker.stats();
  await checker.close();
  await server.close();
  const p99 = percentile(latencies, 0.99);
  say(
    `silent bucket, timeout_ms ${timeoutMs}: first ${first.length} checks waited max ${round(firstMax)} ms; ` +
      `then ${latencies.length} checks while open: p50 ${round(percentile(latencies, 0.5))} ms, ` +
      `p99 ${round(p99)} ms, max ${round(latencies[latencies.length - 1])} ms (target p99 < 50)`,
  );
  return {
    timeout_ms: timeoutMs,
    first_max_ms: round(firstMax),
    open_checks: latencies.length,
    open_p50_ms: round(percentile(latencies, 0.5)),
    open_p99_ms: round(p99),
    open_max_ms: round(latencies[latencies.length - 1]),
    heads_sent: stats.heads.timeout,
    ok: !available && firstMax <= timeoutMs + 100 && p99 < 50,
  };
}

async function amplification() {
  const requests = 100_000;
  const maxInflight = 256;
  const server = await countingBucket('slow', 50);
  const checker = createExistenceChecker({ key: KEY, check: checkConfig({ max_inflight: maxInflight }) });
  const started = performance.now();
  await Promise.all(Array.from({ length: requests }, (_, n) => checker.check(server.bucket, digest(n + 1))));
  const elapsed = performance.now() - started;
  const stats = checker.stats();
  await checker.close();
  await server.close();
  say(
    `${requests} concurrent checks of distinct digests, max_inflight ${maxInflight}: ` +
      `${server.counts.requests} HEADs sent, ${stats.overflow} answered unknown at once, ${Math.round(elapsed)} ms`,
  );
  return {
    requests,
    max_inflight: maxInflight,
    heads_sent: server.counts.requests,
    overflow: stats.overflow,
    elapsed_ms: Math.round(elapsed),
    ok: server.counts.requests <= maxInflight,
  };
}

async function headThroughput() {
  const total = 20_000;
  const concurrency = 64;
  const server = await countingBucket('fast', 0);
  const checker = createExistenceChecker({ key: KEY, check: checkConfig() });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await checker.check(server.bucket, digest(++next));
    }),
  );
  const elapsed = performance.now() - started;
  await checker.close();
  await server.close();
  const perSecond = Math.round((total / elapsed) * 1000);
  say(
    `${total} cold checks, ${concurrency} at a time: ${perSecond} HEADs/s over ${server.counts.connections} connections`,
  );
  return { checks: total, concurrency, heads_per_s: perSecond, connections: server.counts.connections };
}

async function warmPeek() {
  const server = await countingBucket('warm', 0);
  const checker = createExistenceChecker({ key: KEY, check: checkConfig() });
  const digests = Array.from({ length: 1000 }, (_, n) => digest(n));
  for (const d of digests) await checker.check(server.bucket, d);
  const iterations = 2_000_000;
  let present = 0;
  // Warm up the JIT before timing.
  for (let i = 0; i < 200_000; i++) if (checker.peek(server.bucket, digests[i % 1000]) === 'present') present++;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) if (checker.peek(server.bucket, digests[i % 1000]) === 'present') present++;
  const elapsed = performance.now() - started;
  await checker.close();
  await server.close();
  const nsPerPeek = Math.round((elapsed * 1e6) / iterations);
  say(`warm-cache peek: ${nsPerPeek} ns per call (${iterations} calls)`);
  return { calls: iterations, ns_per_peek: nsPerPeek, ok: present === iterations + 200_000 };
}

const results = {
  coalescing: await coalescing(),
  silent_bucket: await silent(),
  amplification: await amplification(),
  head_throughput: await headThroughput(),
  warm_peek: await warmPeek(),
};
const failed = Object.entries(results).filter(([, r]) => r.ok === false).map(([name]) => name);
if (jsonOnly) console.log(JSON.stringify(results, null, 2));
else say(failed.length === 0 ? 'all existence-check targets met' : `targets missed: ${failed.join(', ')}`);
process.exitCode = failed.length === 0 ? 0 : 1;
