// New TLS connections as fast as CONCURRENCY loops can make them, for DURATION seconds: each
// a full handshake (no session reuse), timed from connect to secureConnect, then closed.
// Prints one JSON line: { handshakes, errors, durationS, latencyMs: { p50, p99, max } }.
// Usage: node bench/lib/handshake-child.js PORT CONCURRENCY DURATION_S
import { connect } from 'node:tls';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const [port, concurrency, durationS] = process.argv.slice(2).map(Number);
/** @type {number[]} */
const latencies = [];
let errors = 0;
const started = performance.now();
const deadline = started + (durationS ?? 1) * 1000;

function once() {
  return new Promise((resolve) => {
    const begin = performance.now();
    // The client does not check the chain: verifying would only add client-side CPU.
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      latencies.push(performance.now() - begin);
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', () => {
      errors += 1;
      resolve(undefined);
    });
  });
}

async function loop() {
  while (performance.now() < deadline) await once();
}

await Promise.all(Array.from({ length: concurrency ?? 1 }, loop));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (/** @type {number} */ q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] : null);
process.stdout.write(`${JSON.stringify({ handshakes: latencies.length, errors, durationS: elapsed, latencyMs: { p50: at(0.5), p99: at(0.99), max: at(1) } })}\n`);
