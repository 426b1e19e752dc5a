#!/usr/bin/env node
// The floor for any Node HTTP server on this machine: raw node:http answering every request
// with the same 307, no routing, no logging. registry-edge is reported as a ratio of this.
// Usage: node bench/baseline.js [--port N] [--host H]
import { createServer } from 'node:http';
import process from 'node:process';

const flag = (/** @type {string} */ name, /** @type {string} */ fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? String(process.argv[at + 1]) : fallback;
};
const host = flag('--host', '127.0.0.1');
const port = Number(flag('--port', '0'));
const location = 'http://127.0.0.1:9/v2/bench/fixed-redirect';

const server = createServer((_req, res) => {
  res.writeHead(307, { location, 'content-length': '0' });
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(port, host, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  // Same start-up line as `registry-edge serve`, so the bench drives both the same way.
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'listening', host, port: bound })}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
