#!/usr/bin/env node
// The server side of bench/tls.js: one small hono app answering a warm blob redirect, served
// plain (@hono/node-server, as the plain listener does) or through registry-edge's TLS
// listener factory (dist/src/server/tls-server.js: HTTP/2 with HTTP/1.1 allowed). The same app
// both ways, so the difference measured is the transport.
// Usage: node bench/tls-server.js --mode plain|tls [--cert FILE --key FILE] [--port N]
import process from 'node:process';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { TlsContextHolder } from '../dist/src/server/tls-context.js';
import { startTlsServer } from '../dist/src/server/tls-server.js';

const flag = (/** @type {string} */ name, /** @type {string} */ fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? String(process.argv[at + 1]) : fallback;
};
const mode = flag('--mode', 'plain');
const port = Number(flag('--port', '0'));
const BUCKET = 'https://bucket.example/containers/images/';

const app = new Hono();
app.get('/v2/', (c) => c.json({}));
app.on(['GET', 'HEAD'], '/v2/:name{.+}/blobs/:digest', (c) => c.redirect(`${BUCKET}${c.req.param('digest')}`, 307));

/** @param {number} bound */
const listening = (bound) => process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'listening', host: '127.0.0.1', port: bound, mode })}\n`);

/** @type {() => Promise<void>} */
let stop;
if (mode === 'tls') {
  const holder = TlsContextHolder.open({ cert: flag('--cert', ''), key: flag('--key', '') });
  const limits = {
    handshakeTimeoutMs: 10_000,
    headersTimeoutMs: 60_000,
    requestTimeoutMs: 120_000,
    keepAliveTimeoutMs: 60_000,
    maxConnections: 0,
    http2: { enabled: true, maxConcurrentStreams: 100, maxHeaderListBytes: 16_384 },
  };
  const running = await startTlsServer('127.0.0.1', port, { fetch: app.fetch, holder, limits }, 1000);
  listening(running.port);
  stop = () => running.shutdown();
} else {
  const server = /** @type {import('node:http').Server} */ (createAdaptorServer({ fetch: app.fetch }));
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  listening(typeof address === 'object' && address ? address.port : port);
  stop = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve(undefined));
  });
}
const exit = () => void stop().then(() => process.exit(0));
process.on('SIGTERM', exit);
process.on('SIGINT', exit);
