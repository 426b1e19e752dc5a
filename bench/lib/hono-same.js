#!/usr/bin/env node
// The floor of registry-edge's stack for one scenario: a bare hono app on @hono/node-server that
// sends exactly the status and headers registry-edge sends there (Location, Content-Length,
// Docker-Distribution-Api-Version where we send it, a fresh X-Request-Id per request, made the
// way registry-edge makes one) and writes a log line of the same length per request to stdout
// through registry-edge's own line sink (dist/src/log-sink.js), with the same batching. It
// decides nothing. What registry-edge costs beyond this layer is its own work (classifying,
// routing, metrics, the log line's fields); what this layer costs beyond bare hono is what
// any server giving the same answer on this stack pays.
// Usage: node bench/lib/hono-same.js --answers FILE [--port N] [--host H]
//   FILE: { "answers": { "<path> <x-forwarded-for or empty>": { status, headers, lineChars } } },
//   as bench/lib/same-answer.js probes them from registry-edge.
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { announceListening, listenFlags } from './listen-flags.js';
import { LineSink } from '../../dist/src/log-sink.js';
import { newRequestId } from '../../dist/src/server/pull-event.js';

const { host, port } = listenFlags(process.argv);
const answersAt = process.argv.indexOf('--answers');
if (answersAt < 0) throw new Error('--answers FILE is required');
/** @type {{ answers: Record<string, { status: number, headers: Record<string, string>, lineChars: number }> }} */
const spec = JSON.parse(readFileSync(process.argv[answersAt + 1] ?? '', 'utf8'));

// The sink registry-edge's logger writes through, with the options src/log.ts gives it.
const sink = new LineSink({ fd: 1, chunkBytes: 64 * 1024, maxPendingBytes: 16 * 1024 * 1024, flushIntervalMs: 100 });
const head = `{"level":"info","time":`;
const pidPart = `,"pid":${process.pid},"request_id":"`;

/**
 * One prepared answer: its headers without the id, and the padding that brings its line to
 * the length of registry-edge's line for the same request.
 * @param {{ status: number, headers: Record<string, string>, lineChars: number }} answer
 */
function prepare(answer) {
  const fixed = `${head}${Date.now()}${pidPart}${newRequestId()}","msg":"request","pad":""}\n`.length;
  return { ...answer, pad: 'x'.repeat(Math.max(0, answer.lineChars - fixed)) };
}
const prepared = new Map(Object.entries(spec.answers).map(([key, answer]) => [key, prepare(answer)]));
const only = prepared.size === 1 ? [...prepared.values()][0] : undefined;

/** X-Forwarded-For from the raw header list, as registry-edge reads it. @param {string[]} raw */
function forwardedFor(raw) {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.length === 15 && raw[i]?.toLowerCase() === 'x-forwarded-for') return raw[i + 1];
  return '';
}

const app = new Hono({ getPath: () => '/' });
app.all('*', (c) => {
  const incoming = c.env.incoming;
  const answer = only ?? prepared.get(`${incoming.url} ${forwardedFor(incoming.rawHeaders)}`);
  if (answer === undefined) return new globalThis.Response('no such answer\n', { status: 404 });
  const id = newRequestId();
  sink.write(`${head}${Date.now()}${pidPart}${id}","msg":"request","pad":"${answer.pad}"}\n`);
  const h = answer.headers;
  // Literals as registry-edge builds them: a plain object @hono/node-server hands to writeHead.
  const headers = h.location !== undefined
    ? { Location: h.location, 'Content-Length': '0', 'X-Request-Id': id }
    : { 'Docker-Distribution-Api-Version': h['docker-distribution-api-version'] ?? '', 'Content-Length': '0', 'X-Request-Id': id };
  return new globalThis.Response(null, { status: answer.status, headers });
});

const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => announceListening(host, info.port));
/** @type {import('node:http').Server} */ (server).keepAliveTimeout = 60_000;
// Lines still pending are written first: the bench may kill a server that keeps connections open.
const stop = () => {
  sink.flushSync();
  server.close(() => {
    sink.close();
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
