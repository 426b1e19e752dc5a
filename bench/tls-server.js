#!/usr/bin/env node
// The server side of bench/tls.js's comparison rows: a warm blob redirect answered plain or over
// TLS by one of three stacks, so the report can set registry-edge's TLS cost beside node's own:
//   --stack node     node:http / node:https with a fixed 307 (the floor: what node pays for TLS);
//   --stack node-h2  the same 307 over TLS from node:http2's createSecureServer({ allowHTTP1 }),
//                    the server kind the TLS door uses, to HTTP/1.1 clients (plain: node:http);
//   --stack hono     a bare hono app through @hono/node-server over node:http / node:https;
//   --stack factory  the same hono app plain, and over TLS through registry-edge's TLS listener
//                    factory (dist/src/server/tls-server.js: HTTP/2 with HTTP/1.1 allowed).
// Every stack answers the same headers registry-edge does (X-Request-Id, Location,
// Content-Length: 0; node adds Date, Connection and Keep-Alive), keep-alive 60 s.
// Usage: node bench/tls-server.js --mode plain|tls [--stack node|node-h2|hono|factory] [--cert F --key F] [--port N]
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';

const flag = (/** @type {string} */ name, /** @type {string} */ fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? String(process.argv[at + 1]) : fallback;
};
const mode = flag('--mode', 'plain');
const stack = flag('--stack', 'factory');
const port = Number(flag('--port', '0'));
const BUCKET = 'https://bucket.example/blobs/containers/images/';
// registry-edge sends a fresh UUID; a fixed one of the same length keeps the bytes equal.
const REQUEST_ID = '00000000-0000-4000-8000-000000000000';
const KEEP_ALIVE_MS = 60_000;

const app = new Hono();
app.get('/v2/', (c) => c.json({}));
app.on(['GET', 'HEAD'], '/v2/:name{.+}/blobs/:digest', (c) => {
  c.header('X-Request-Id', REQUEST_ID);
  return c.redirect(`${BUCKET}${c.req.param('digest')}`, 307);
});

/** The floor: node's own server, no framework, the redirect written in one call. */
const fixedRedirect = (/** @type {import('node:http').IncomingMessage} */ req, /** @type {import('node:http').ServerResponse} */ res) => {
  const url = req.url ?? '/';
  res.writeHead(307, { 'X-Request-Id': REQUEST_ID, Location: `${BUCKET}${url.slice(url.lastIndexOf('/') + 1)}`, 'Content-Length': '0' });
  res.end();
};

const tlsFiles = () => ({ cert: readFileSync(flag('--cert', '')), key: readFileSync(flag('--key', '')) });

/** node's own server for the floor rows, no framework. @returns {import('node:http').Server} */
function bareNodeServer() {
  if (mode !== 'tls') return createHttpServer(fixedRedirect);
  if (stack === 'node') return createHttpsServer(tlsFiles(), fixedRedirect);
  // allowHTTP1 hands an HTTP/1.1 connection to node:http's own connection handling.
  const server = createSecureServer({ ...tlsFiles(), allowHTTP1: true }, /** @type {never} */ (fixedRedirect));
  return /** @type {import('node:http').Server} */ (/** @type {unknown} */ (server));
}

/** @returns {Promise<{ port: number, stop: () => Promise<void> }>} */
async function startNodeServer() {
  const server = stack === 'node' || stack === 'node-h2'
    ? bareNodeServer()
    : /** @type {import('node:http').Server} */ (createAdaptorServer({ fetch: app.fetch, ...(mode === 'tls' ? { createServer: createHttpsServer, serverOptions: tlsFiles() } : {}) }));
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve(undefined));
    }),
  };
}

/** @returns {Promise<{ port: number, stop: () => Promise<void> }>} */
async function startFactoryTls() {
  const { TlsContextHolder } = await import('../dist/src/server/tls-context.js');
  const { startTlsServer } = await import('../dist/src/server/tls-server.js');
  const holder = TlsContextHolder.open({ cert: flag('--cert', ''), key: flag('--key', '') });
  const limits = {
    handshakeTimeoutMs: 10_000,
    headersTimeoutMs: 60_000,
    requestTimeoutMs: 120_000,
    keepAliveTimeoutMs: KEEP_ALIVE_MS,
    maxConnections: 0,
    http2: { enabled: true, maxConcurrentStreams: 100, maxHeaderListBytes: 16_384 },
  };
  const running = await startTlsServer('127.0.0.1', port, { fetch: app.fetch, holder, limits }, 1000);
  return { port: running.port, stop: () => running.shutdown() };
}

const started = stack === 'factory' && mode === 'tls' ? await startFactoryTls() : await startNodeServer();
process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'listening', host: '127.0.0.1', port: started.port, mode, stack })}\n`);
const exit = () => void started.stop().then(() => process.exit(0));
process.on('SIGTERM', exit);
process.on('SIGINT', exit);
