#!/usr/bin/env node
// The floor for any Node HTTP server on this machine: raw node:http answering every request
// with the same 307, no routing, no logging. The bench reports every layer above it.
// Usage: node bench/baseline.js [--port N] [--host H]
import { createServer } from 'node:http';
import process from 'node:process';
import { announceListening, FIXED_LOCATION, listenFlags } from './lib/listen-flags.js';

const { host, port } = listenFlags(process.argv);

const server = createServer((_req, res) => {
  res.writeHead(307, { location: FIXED_LOCATION, 'content-length': '0' });
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(port, host, () => {
  const address = server.address();
  announceListening(host, typeof address === 'object' && address ? address.port : port);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
