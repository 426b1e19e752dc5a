import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedWithin, openSocket, parseResponses, rawRequest, startHostileEdge, type HostileSetup } from '../support/hostile.js';
import { sleep } from '../support/wait.js';

// Node checks the header timeout every 250 ms (serve.ts), so a cut comes between the timeout
// and the timeout plus one interval; the upper bounds below leave room for a loaded CI machine.
const HEADERS_TIMEOUT_MS = 500;
const KEEP_ALIVE_TIMEOUT_MS = 300;
const MAX_CONNECTIONS = 6;

const opened: Socket[] = [];
afterEach(() => {
  while (opened.length > 0) opened.pop()?.destroy();
});

async function open(port: number): Promise<Socket> {
  const socket = await openSocket(port);
  opened.push(socket);
  return socket;
}

function collect(socket: Socket): { text: () => string } {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined);
  return { text: () => Buffer.concat(chunks).toString('latin1') };
}

describe('slow and idle clients', () => {
  let setup: HostileSetup;
  beforeAll(async () => {
    setup = await startHostileEdge({
      listen: {
        host: '127.0.0.1',
        port: 0,
        headers_timeout_ms: HEADERS_TIMEOUT_MS,
        request_timeout_ms: 1000,
        keep_alive_timeout_ms: KEEP_ALIVE_TIMEOUT_MS,
      },
    });
  });
  afterAll(async () => {
    await setup?.close();
  });

  it('cuts off a client that sends its headers one byte at a time, with 408, soon after headers_timeout_ms', async () => {
    const socket = await open(setup.edge.port);
    const received = collect(socket);
    const request = 'GET /v2/a/manifests/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'z'.repeat(1000) + '\r\n\r\n';
    const started = performance.now();
    let sent = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed && sent < request.length) socket.write(request[sent++] ?? '');
    }, 20);
    try {
      expect(await closedWithin(socket, 5000)).toBe(true);
    } finally {
      clearInterval(drip);
    }
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
    expect(sent).toBeLessThan(request.length);
    expect(parseResponses(Buffer.from(received.text(), 'latin1')).map((r) => r.status)).toEqual([408]);
  });

  it('answers 408 and closes a connection that never sends a byte, after the same header timeout', async () => {
    const socket = await open(setup.edge.port);
    const received = collect(socket);
    const started = performance.now();
    expect(await closedWithin(socket, 5000)).toBe(true);
    expect(performance.now() - started).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
    expect(parseResponses(Buffer.from(received.text(), 'latin1')).map((r) => r.status)).toEqual([408]);
  });

  it('closes an idle keep-alive connection after keep_alive_timeout_ms, having served it first', async () => {
    const socket = await open(setup.edge.port);
    const received = collect(socket);
    socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
    const answered = performance.now();
    expect(await closedWithin(socket, 5000)).toBe(true);
    const idle = performance.now() - answered;
    expect(parseResponses(Buffer.from(received.text(), 'latin1')).map((r) => r.status)).toEqual([200]);
    // Node adds a fixed 1 s to keepAliveTimeout on the socket (clients are told the exact value
    // in Keep-Alive: timeout=, so they give up first and never race the close).
    expect(idle).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 50);
    expect(idle).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + 1000 + 2500);
  });

  // The plain port speaks no h2c: an HTTP/2 client preface is a malformed HTTP/1.1 request.
  it('answers an HTTP/2 prior-knowledge preface (h2c) with 400 and closes at once', async () => {
    const socket = await open(setup.edge.port);
    const received = collect(socket);
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00');
    expect(await closedWithin(socket, HEADERS_TIMEOUT_MS - 100)).toBe(true);
    expect(parseResponses(Buffer.from(received.text(), 'latin1')).map((r) => r.status)).toEqual([400]);
  });

  it('cuts half an HTTP/2 preface that goes silent after the header timeout, with 408', async () => {
    const socket = await open(setup.edge.port);
    const received = collect(socket);
    const started = performance.now();
    socket.write('PRI * HTTP/2.0\r\n\r\n');
    expect(await closedWithin(socket, 5000)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(parseResponses(Buffer.from(received.text(), 'latin1')).map((r) => r.status)).toEqual([408]);
  });

  it('keeps a keep-alive connection that stays busy within the timeout', async () => {
    const socket = await open(setup.edge.port);
    const received = collect(socket);
    for (let i = 0; i < 4; i++) {
      socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(KEEP_ALIVE_TIMEOUT_MS / 3);
    }
    expect(socket.destroyed).toBe(false);
    expect(parseResponses(Buffer.from(received.text(), 'latin1')).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });
});

describe('listen.max_connections', () => {
  let setup: HostileSetup;
  beforeAll(async () => {
    setup = await startHostileEdge({
      listen: { host: '127.0.0.1', port: 0, max_connections: MAX_CONNECTIONS, headers_timeout_ms: 10_000, request_timeout_ms: 10_000 },
    });
  });
  afterAll(async () => {
    await setup?.close();
  });

  it(`holds ${MAX_CONNECTIONS} sockets open, drops the 5 beyond them, and serves the ${MAX_CONNECTIONS} it kept`, async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS + 5; i++) {
      const socket = await open(setup.edge.port);
      socket.on('error', () => undefined);
      sockets.push(socket);
      // Let the server accept (or drop) each one in order, so which ones stay is deterministic.
      await sleep(20);
    }
    const closed = await Promise.all(sockets.map((s) => closedWithin(s, 1500)));
    expect(closed.slice(0, MAX_CONNECTIONS)).toEqual(new Array(MAX_CONNECTIONS).fill(false));
    expect(closed.slice(MAX_CONNECTIONS)).toEqual(new Array(5).fill(true));

    const kept = sockets.slice(0, MAX_CONNECTIONS);
    const answers = await Promise.all(
      kept.map(
        (socket) =>
          new Promise<number>((resolve) => {
            const chunks: Buffer[] = [];
            socket.on('data', (d: Buffer) => {
              chunks.push(d);
              const [first] = parseResponses(Buffer.concat(chunks));
              if (first !== undefined) resolve(first.status);
            });
            socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
          }),
      ),
    );
    expect(answers).toEqual(new Array(MAX_CONNECTIONS).fill(200));
  });

  it('accepts new connections again once the held ones are gone', async () => {
    // The server learns of the closes asynchronously: early attempts may still be dropped.
    let status = 0;
    for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
      status = await rawRequest(setup.edge.port, '/v2/').then(
        (res) => res.status,
        () => 0,
      );
      if (status !== 200) await sleep(50);
    }
    expect(status).toBe(200);
  });
});
