/**
 * A connection that finished its TLS handshake but sends no request holds a connection slot:
 * the header timeout cuts it on HTTP/2 as node cuts it on HTTP/1.1, whatever the keep-alive
 * timeout (0 included, where nothing else would ever close it), and each cut is counted in
 * registry_edge_tls_connections_timed_out_total. Once a session made a request, the keep-alive
 * timeout is its idle timeout instead.
 */
import { connect as http2Connect } from 'node:http2';
import { readFile } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCa, type Issued } from '../support/test-ca.js';
import { handshake, startDemoDoor, type DemoDoor } from '../support/tls-door.js';

const HEADERS_TIMEOUT_MS = 300;
const KEEP_ALIVE_TIMEOUT_MS = 900;
/** Room for a loaded machine: a cut that has not come by then never will. */
const GIVE_UP_MS = 5000;
/** The HTTP/2 client preface: the magic octets, then an empty SETTINGS frame. */
const PREFACE_MAGIC = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 0x04, 0, 0, 0, 0, 0]);

let ca: TestCa;
let server: Issued;
let caPem: Buffer;
/** keep_alive_timeout_ms: 0, so only the header timeout can cut a connection that sends no request. */
let noKeepAlive: DemoDoor;
let keepAlive: DemoDoor;

beforeAll(async () => {
  ca = await TestCa.create('ec');
  server = await ca.issue('door');
  caPem = await readFile(ca.root.cert);
  const files = { cert: server.cert, key: server.key };
  noKeepAlive = await startDemoDoor(files, { limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, keepAliveTimeoutMs: 0 } });
  keepAlive = await startDemoDoor(files, { limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS } });
});

afterAll(async () => {
  await noKeepAlive?.close();
  await keepAlive?.close();
  await ca?.close();
});

/** Milliseconds until the server closes `socket`; rejects when it has not after GIVE_UP_MS. */
function closedAfter(socket: TLSSocket): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server still held the connection after ${GIVE_UP_MS} ms`));
    }, GIVE_UP_MS);
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve(performance.now() - started);
    });
  });
}

function timedOut(door: DemoDoor, protocol: string, reason: string): Promise<number> {
  return door.sample('registry_edge_tls_connections_timed_out_total', { protocol, reason }).then((value) => value ?? 0);
}

describe('HTTP/2 (ALPN h2) sessions that send no request', () => {
  it.each([
    ['nothing after the handshake', 'no_preface', []],
    ['half of the preface', 'no_preface', [PREFACE_MAGIC.subarray(0, 16)]],
    ['the magic octets but no SETTINGS', 'no_preface', [PREFACE_MAGIC]],
    ['the whole preface and no stream', 'no_request', [PREFACE_MAGIC, EMPTY_SETTINGS]],
  ] as const)('%s: cut after the header timeout and counted as %s', async (_label, reason, bytes) => {
    const before = await timedOut(noKeepAlive, 'h2', reason);
    const { socket } = await handshake(noKeepAlive.port, { ca: caPem, ALPNProtocols: ['h2'] });
    expect(socket.alpnProtocol).toBe('h2');
    for (const chunk of bytes) socket.write(chunk);
    const elapsed = await closedAfter(socket);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(await timedOut(noKeepAlive, 'h2', reason)).toBe(before + 1);
  });

  it("node's own HTTP/2 client, connected and silent, is cut the same way", async () => {
    const before = await timedOut(noKeepAlive, 'h2', 'no_request');
    const session = http2Connect(noKeepAlive.url, { ca: caPem });
    session.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    await closed;
    expect(await timedOut(noKeepAlive, 'h2', 'no_request')).toBe(before + 1);
  });

  it('a session that made a request is held to the keep-alive timeout, not the header timeout, and is not counted', async () => {
    const session = http2Connect(keepAlive.url, { ca: caPem });
    session.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => session.once('close', () => resolve(performance.now())));
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': '/v2/' });
      stream.on('response', (headers) => resolve(Number(headers[':status'])));
      stream.on('error', reject);
      stream.resume();
      stream.end();
    });
    expect(status).toBe(200);
    const answeredAt = performance.now();
    const idle = (await closed) - answeredAt;
    expect(idle).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 100);
    expect(idle).toBeLessThan(GIVE_UP_MS);
    expect(await timedOut(keepAlive, 'h2', 'no_request')).toBe(0);
    expect(await timedOut(keepAlive, 'h2', 'no_preface')).toBe(0);
  });
});

describe('HTTP/1.1 over TLS', () => {
  it('a connection that sends no request is cut by the header timeout and counted as request_timeout', async () => {
    const before = await timedOut(noKeepAlive, 'http/1.1', 'request_timeout');
    const { socket } = await handshake(noKeepAlive.port, { ca: caPem, ALPNProtocols: ['http/1.1'] });
    await closedAfter(socket);
    expect(await timedOut(noKeepAlive, 'http/1.1', 'request_timeout')).toBe(before + 1);
  });

  it('every reason is exported at zero before it happens', async () => {
    const text = await keepAlive.registry.metrics();
    for (const [protocol, reason] of [['h2', 'no_preface'], ['h2', 'no_request'], ['http/1.1', 'request_timeout']]) {
      expect(text).toContain(`registry_edge_tls_connections_timed_out_total{protocol="${protocol}",reason="${reason}"}`);
    }
  });
});
