#!/usr/bin/env node
// The floor of registry-edge's own stack: a bare hono app on @hono/node-server answering every
// request with the same fixed 307 as bench/baseline.js (raw node:http). The difference between
// the two is what the framework costs; the difference between this and registry-edge is our code.
// The response is built the way registry-edge builds its redirects (a plain Response with a
// headers object), so the comparison is not skewed by hono's c.redirect helper.
// Usage: node bench/lib/hono-baseline.js [--port N] [--host H]
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import process from 'node:process';
import { announceListening, FIXED_LOCATION, listenFlags } from './listen-flags.js';

const { host, port } = listenFlags(process.argv);

const app = new Hono();
// `Response` is looked up per request: @hono/node-server swaps in its lightweight one when the
// server starts, and registry-edge gets that one the same way.
app.all('*', () => new globalThis.Response(null, { status: 307, headers: { Location: FIXED_LOCATION, 'Content-Length': '0' } }));

const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => announceListening(host, info.port));
// As bench/baseline.js: idle keep-alive connections between rounds must not be dropped.
/** @type {import('node:http').Server} */ (server).keepAliveTimeout = 60_000;
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
