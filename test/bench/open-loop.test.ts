// The bench's open-loop generator: the fixed timeline, latency counted from the due time (no
// coordinated omission), the connection pool, the HTTP framing it relies on, and one short
// run against a real local server.
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

interface Summary { count: number; p50: number | null; p99: number | null; p999: number | null; max: number | null }
interface OpenLoopInstance {
  total: number;
  sent: number;
  dueAt(index: number): number;
  dueBy(now: number): number;
  tick(now: number): number;
  answer(connection: number, status: number, now: number): void;
  fail(connection: number, now: number): void;
  reconnected(connection: number, now: number): void;
  readonly done: boolean;
  summary(): { scheduled: number; sent: number; answered: number; failed: number; latencyMs: Summary; sendLagMs: Summary; statusCounts: Record<string, number> };
}
interface OpenLoopModule {
  OpenLoop: new (options: { ratePerS: number; durationS: number; startMs: number; connections: number; send: (connection: number, index: number) => void }) => OpenLoopInstance;
  runOpenLoop(job: { url: string; requests: { method: string; path: string; headers: Record<string, string> }[]; ratePerS: number; durationS: number; connections: number }): Promise<{
    answered: number; failed: number; timedOut: number; scheduled: number; latencyMs: Summary; statusCounts: Record<string, number>; achievedRps: number;
  }>;
}
interface WireModule {
  serializeRequest(request: { method: string; path: string; headers: Record<string, string> }, host: string): Buffer;
  parseResponse(buf: Buffer): { status: number; end: number; keepAlive: boolean } | { error: string } | null;
}
const ROOT = resolve(import.meta.dirname, '..', '..');
// Computed paths keep TypeScript from demanding declarations for the plain-JS bench code.
const openLoopPath = join(ROOT, 'bench', 'lib', 'open-loop.js');
const wirePath = join(ROOT, 'bench', 'lib', 'http-wire.js');
const loadOpenLoop = async (): Promise<OpenLoopModule> => (await import(openLoopPath)) as OpenLoopModule;
const loadWire = async (): Promise<WireModule> => (await import(wirePath)) as WireModule;

/**
 * Drives an OpenLoop with a simulated clock and a simulated single-threaded server that takes
 * SERVICE ms per request, except that the request with index STALL_AT takes STALL ms.
 */
async function simulate(options: { ratePerS: number; durationS: number; connections: number; serviceMs: number; stallAt?: number; stallMs?: number }) {
  const { OpenLoop } = await loadOpenLoop();
  const queue: { connection: number; index: number }[] = [];
  const loop = new OpenLoop({ ...options, startMs: 0, send: (connection, index) => queue.push({ connection, index }) });
  let now = 0;
  let serverFreeAt = 0;
  const inService: { connection: number; doneAt: number }[] = [];
  for (let guard = 0; guard < 1_000_000 && !loop.done; guard += 1) {
    const wait = loop.tick(now);
    // The server takes queued requests one at a time, in arrival order.
    while (queue.length > 0) {
      const { connection, index } = queue.shift() as { connection: number; index: number };
      const start = Math.max(now, serverFreeAt);
      serverFreeAt = start + (index === options.stallAt ? (options.stallMs ?? 0) : options.serviceMs);
      inService.push({ connection, doneAt: serverFreeAt });
    }
    const next = inService.sort((a, b) => a.doneAt - b.doneAt)[0];
    if (next && next.doneAt <= now + Math.max(0, wait)) {
      now = next.doneAt;
      inService.shift();
      loop.answer(next.connection, 307, now);
    } else if (wait !== Infinity) now += Math.max(wait, 0);
  }
  return loop.summary();
}

describe('open-loop schedule', () => {
  it('puts request i at start + i / rate and releases them as their time comes', async () => {
    const { OpenLoop } = await loadOpenLoop();
    const sent: number[] = [];
    const loop = new OpenLoop({ ratePerS: 1000, durationS: 0.5, startMs: 100, connections: 8, send: (_c, index) => sent.push(index) });
    expect(loop.total).toBe(500);
    expect(loop.dueAt(0)).toBe(100);
    expect(loop.dueAt(10)).toBe(110);
    expect(loop.dueBy(99.9)).toBe(0);
    expect(loop.dueBy(109.99)).toBe(10);
    expect(loop.dueBy(10_000)).toBe(500);
    expect(loop.tick(50)).toBe(50);
    expect(sent).toEqual([]);
    // At 103.5 ms requests 0..3 are due: four idle connections take one each.
    expect(loop.tick(103.5)).toBeCloseTo(0.5, 9);
    expect(sent).toEqual([0, 1, 2, 3]);
  });

  it('queues due requests when every connection is busy and sends them on the next free one', async () => {
    const { OpenLoop } = await loadOpenLoop();
    const sent: [number, number][] = [];
    const loop = new OpenLoop({ ratePerS: 1000, durationS: 0.01, startMs: 0, connections: 2, send: (c, index) => sent.push([c, index]) });
    loop.tick(4.2);
    expect(sent).toEqual([[0, 0], [1, 1]]);
    loop.answer(1, 200, 6);
    // Requests 2..6 are due by now; the freed connection takes the oldest.
    expect(sent).toEqual([[0, 0], [1, 1], [1, 2]]);
    const summary = loop.summary();
    expect(summary.answered).toBe(1);
    expect(summary.latencyMs.p50).toBe(5); // due at 1 ms, answered at 6 ms
    expect(summary.sendLagMs.max).toBeCloseTo(4.2, 9); // request 0 was due at 0 ms and left at 4.2 ms
  });

  it('charges a stall to every request that was due during it, not only to the one that met it', async () => {
    // 1000 req/s for 1 s, 0.1 ms per request, one 50 ms stall at request 300.
    const open = await simulate({ ratePerS: 1000, durationS: 1, connections: 1, serviceMs: 0.1, stallAt: 300, stallMs: 50 });
    expect(open.answered).toBe(1000);
    expect(open.latencyMs.p50).toBeCloseTo(0.1, 6);
    // Requests 300..349 were due while the server stalled: about 5% of all, so p99 is tens of ms.
    expect(open.latencyMs.max).toBeCloseTo(50, 6);
    expect(open.latencyMs.p99 ?? 0).toBeGreaterThan(35);
    // Without the stall the same run is flat.
    const calm = await simulate({ ratePerS: 1000, durationS: 1, connections: 1, serviceMs: 0.1 });
    expect(calm.latencyMs.p99).toBeCloseTo(0.1, 6);
  });

  it('counts a broken connection\'s request as failed and reuses the connection once it is back', async () => {
    const { OpenLoop } = await loadOpenLoop();
    const sent: [number, number][] = [];
    const loop = new OpenLoop({ ratePerS: 100, durationS: 0.03, startMs: 0, connections: 1, send: (c, index) => sent.push([c, index]) });
    loop.tick(0);
    loop.fail(0, 5);
    loop.tick(12);
    expect(sent).toEqual([[0, 0]]);
    loop.reconnected(0, 12);
    expect(sent).toEqual([[0, 0], [0, 1]]);
    loop.answer(0, 200, 13);
    loop.tick(20);
    loop.answer(0, 200, 21);
    expect(loop.done).toBe(true);
    expect(loop.summary()).toMatchObject({ scheduled: 3, sent: 3, answered: 2, failed: 1, statusCounts: { 200: 2 } });
  });
});

describe('open-loop HTTP framing', () => {
  it('serialises a GET with its headers', async () => {
    const { serializeRequest } = await loadWire();
    const bytes = serializeRequest({ method: 'GET', path: '/v2/', headers: { 'x-forwarded-for': '192.0.2.1, 35.191.0.1' } }, '127.0.0.1:8080');
    expect(bytes.toString('latin1')).toBe('GET /v2/ HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-forwarded-for: 192.0.2.1, 35.191.0.1\r\n\r\n');
  });

  it.each([
    ['Content-Length', 'HTTP/1.1 307 Temporary Redirect\r\nLocation: http://x/\r\nContent-Length: 5\r\n\r\nhello', { status: 307, keepAlive: true }],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', { status: 200, keepAlive: true }],
    ['Connection: close', 'HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n', { status: 404, keepAlive: false }],
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', { status: 200, keepAlive: false }],
    ['204 without a length', 'HTTP/1.1 204 No Content\r\n\r\n', { status: 204, keepAlive: true }],
  ])('finds the end of a response framed by %s, and waits for the rest of a split one', async (_name, text, expected) => {
    const { parseResponse } = await loadWire();
    const next = 'HTTP/1.1 200 OK\r\n';
    const whole = Buffer.from(text + next, 'latin1');
    expect(parseResponse(whole)).toEqual({ ...expected, end: text.length });
    for (const cut of [10, text.length - 1]) expect(parseResponse(whole.subarray(0, cut))).toBeNull();
  });

  it('rejects what it cannot frame', async () => {
    const { parseResponse } = await loadWire();
    expect(parseResponse(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toEqual({ error: expect.stringContaining('not an HTTP/1.x status line') });
    expect(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\n\r\nbody until close'))).toEqual({ error: 'response without Content-Length or chunked encoding' });
  });
});

describe('open-loop run', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((done) => (server ? server.close(() => done(undefined)) : done(undefined)));
    server = undefined;
  });

  it('sends the scheduled number of requests to a real server over keep-alive connections', async () => {
    let connections = 0;
    server = createServer((req, res) => {
      res.writeHead(req.url === '/v2/' ? 200 : 307, { location: 'http://127.0.0.1:9/x', 'content-length': '0' });
      res.end();
    });
    server.on('connection', () => (connections += 1));
    await new Promise((done) => server?.listen(0, '127.0.0.1', () => done(undefined)));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const { runOpenLoop } = await loadOpenLoop();
    const result = await runOpenLoop({
      url: `http://127.0.0.1:${port}`,
      requests: [{ method: 'GET', path: '/v2/', headers: {} }, { method: 'GET', path: '/v2/a/manifests/1', headers: {} }],
      ratePerS: 400,
      durationS: 0.25,
      connections: 4,
    });
    expect(result).toMatchObject({ scheduled: 100, answered: 100, failed: 0, timedOut: 0, statusCounts: { 200: 50, 307: 50 } });
    expect(result.latencyMs.count).toBe(100);
    expect(result.latencyMs.p50).toBeGreaterThan(0);
    expect(connections).toBe(4);
  });
});
