/**
 * What hostile or broken clients get from the TLS port: garbage and plain HTTP are cut and
 * counted, slow handshakes and slow headers time out, max_connections holds, HTTP/2 limits are
 * announced and enforced, mutual TLS refuses strangers, and the server keeps serving.
 */
import { randomBytes } from 'node:crypto';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCa, type Issued } from '../support/test-ca.js';
import { handshake, httpsGet, startDemoDoor, type DemoDoor } from '../support/tls-door.js';

let ca: TestCa;
let otherCa: TestCa;
let server: Issued;
let client: Issued;
let strangerClient: Issued;
let caPem: Buffer;
let door: DemoDoor;

beforeAll(async () => {
  ca = await TestCa.create('ec');
  otherCa = await TestCa.create('ec', 'stranger root');
  [server, client, strangerClient] = await Promise.all([
    ca.issue('door'),
    ca.issue('puller', { usage: 'clientAuth', altNames: ['DNS:node-1.example'] }),
    otherCa.issue('stranger', { usage: 'clientAuth', altNames: ['DNS:stranger.example'] }),
  ]);
  caPem = await readFile(ca.root.cert);
  door = await startDemoDoor({ cert: server.cert, key: server.key }, { limits: { handshakeTimeoutMs: 300, headersTimeoutMs: 300, keepAliveTimeoutMs: 400 } });
});

afterAll(async () => {
  await door?.close();
  await ca?.close();
  await otherCa?.close();
});

/** Opens a TCP connection, sends `bytes` (if any), and resolves when the server closes it. */
function rawExchange(port: number, bytes?: Buffer | string): Promise<{ received: Buffer; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = netConnect({ host: '127.0.0.1', port }, () => {
      if (bytes !== undefined) socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ received: Buffer.concat(chunks), socket }));
    setTimeout(() => reject(new Error('the server never closed the connection')), 5000).unref();
  });
}

async function failures(reason: string): Promise<number> {
  return (await door.sample('registry_edge_tls_handshake_failures_total', { reason })) ?? 0;
}

async function stillServes(target: DemoDoor = door): Promise<void> {
  expect((await httpsGet(`${target.url}/v2/`, { ca: caPem })).status).toBe(200);
}

describe('bytes that are not TLS', () => {
  it('binary garbage is cut and counted as malformed', async () => {
    const before = await failures('malformed');
    // 0x16 0x03 0x01 starts a TLS record; the rest is noise in place of a ClientHello.
    const { received } = await rawExchange(door.port, Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), randomBytes(64)]));
    expect(received.toString('latin1')).not.toContain('HTTP/');
    await expect.poll(() => failures('malformed')).toBe(before + 1);
    await stillServes();
  });

  it('random bytes from the first byte are cut too', async () => {
    const before = (await failures('malformed')) + (await failures('other'));
    await rawExchange(door.port, Buffer.from('\x00\x01\x02\x03garbage garbage garbage\r\n\r\n', 'latin1'));
    await expect.poll(async () => (await failures('malformed')) + (await failures('other'))).toBe(before + 1);
    await stillServes();
  });

  it('a plain HTTP request on the TLS port is counted as plain_http', async () => {
    const before = await failures('plain_http');
    await rawExchange(door.port, 'GET /v2/ HTTP/1.1\r\nHost: edge\r\n\r\n');
    await expect.poll(() => failures('plain_http')).toBe(before + 1);
    await stillServes();
  });
});

describe('slow clients', () => {
  it('a handshake that never starts is cut after handshake_timeout_ms and counted as timeout', async () => {
    const before = await failures('timeout');
    const started = Date.now();
    await rawExchange(door.port);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await expect.poll(() => failures('timeout')).toBe(before + 1);
  });

  it('a handshake stalled half-way (a partial ClientHello) is cut the same way', async () => {
    const before = await failures('timeout');
    await rawExchange(door.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
    await expect.poll(() => failures('timeout')).toBe(before + 1);
  });

  it('HTTP/1.1 headers that never finish are cut after the header timeout', async () => {
    const { socket } = await handshake(door.port, { ca: caPem, ALPNProtocols: ['http/1.1'] });
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    const started = Date.now();
    socket.write('GET /v2/ HTTP/1.1\r\nHost: edge\r\nX-Slow: ');
    expect((await closed) - started).toBeLessThan(3000);
    await stillServes();
  });

  it('an HTTP/1.1 connection that never sends a request is cut after the header timeout', async () => {
    const { socket } = await handshake(door.port, { ca: caPem, ALPNProtocols: ['http/1.1'] });
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(Date.now() - started).toBeLessThan(3000);
    await stillServes();
  });

  it('an HTTP/1.1 keep-alive connection idle after its answer is closed after the keep-alive timeout', async () => {
    const { socket } = await handshake(door.port, { ca: caPem, ALPNProtocols: ['http/1.1'] });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const answered = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    socket.write('GET /v2/ HTTP/1.1\r\nHost: edge\r\n\r\n');
    expect(await answered).toMatch(/^HTTP\/1\.1 200 /);
    const idleFrom = Date.now();
    await closed;
    expect(Date.now() - idleFrom).toBeLessThan(3000);
  });
  // HTTP/2 sessions with no request, or idle after one: tls-session-timeouts.test.ts.
});

describe('limits', () => {
  it('max_connections: a connection over the limit is closed at once and counted', async () => {
    const bounded = await startDemoDoor({ cert: server.cert, key: server.key }, { limits: { maxConnections: 1 } });
    try {
      const first = await handshake(bounded.port, { ca: caPem });
      await expect(handshake(bounded.port, { ca: caPem })).rejects.toThrow(/socket disconnected|ECONNRESET/);
      expect(await bounded.sample('registry_edge_tls_connections_dropped_total')).toBe(1);
      first.socket.destroy();
      await expect.poll(async () => (await httpsGet(`${bounded.url}/v2/`, { ca: caPem }).catch(() => ({ status: 0 }))).status).toBe(200);
    } finally {
      await bounded.close();
    }
  });

  it('HTTP/2: a header list over max_header_list_bytes gets 431 with an OCI error, the session lives on', async () => {
    const session = http2Connect(door.url, { ca: caPem });
    session.on('error', () => undefined);
    try {
      const ask = (headers: Record<string, string>): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
        const stream = session.request({ ':path': '/v2/', ...headers });
        let body = '';
        let status = 0;
        stream.on('response', (answer) => (status = Number(answer[':status'])));
        stream.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', reject);
        stream.end();
      });
      const refused = await ask({ 'x-big': 'a'.repeat(20_000) });
      expect(refused.status).toBe(431);
      expect(JSON.parse(refused.body)).toEqual({ errors: [{ code: 'UNSUPPORTED', message: 'request header fields too large', detail: null }] });
      expect((await ask({ 'x-small': 'a'.repeat(1000) })).status).toBe(200);
    } finally {
      session.destroy();
    }
    await stillServes();
  });

  it('HTTP/2: more header fields than node allows resets the stream, not the server', async () => {
    const session = http2Connect(door.url, { ca: caPem });
    session.on('error', () => undefined);
    const headers: Record<string, string> = { ':path': '/v2/' };
    for (let index = 0; index < 200; index += 1) headers[`x-field-${index}`] = 'v';
    const outcome = await new Promise<string>((resolve) => {
      const stream = session.request(headers);
      stream.on('response', (answer) => resolve(String(answer[':status'])));
      stream.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      stream.end();
    });
    session.destroy();
    expect(outcome).toBe('ERR_HTTP2_STREAM_ERROR');
    await stillServes();
  });

  it('HTTP/1.1 parse errors go to the onClientError hook, never to a TLS failure', async () => {
    const seen: string[] = [];
    const hooked = await startDemoDoor({ cert: server.cert, key: server.key }, {
      parts: { onClientError: (error, socket) => { seen.push(error.code ?? ''); socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); } },
    });
    try {
      const { socket } = await handshake(hooked.port, { ca: caPem, ALPNProtocols: ['http/1.1'] });
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.write('GET /v2/ HTTP/1.1\r\nHost: edge\r\nBad Header\r\n\r\n');
      });
      expect(answer.startsWith('HTTP/1.1 400 ')).toBe(true);
      expect(seen).toEqual(['HPE_INVALID_HEADER_TOKEN']);
      expect(await hooked.sample('registry_edge_tls_handshake_failures_total', { reason: 'malformed' })).toBe(0);
    } finally {
      await hooked.close();
    }
  });
});

describe('mutual TLS (client_ca)', () => {
  let mutual: DemoDoor;

  beforeAll(async () => {
    mutual = await startDemoDoor({ cert: server.cert, key: server.key, client_ca: ca.root.cert });
  });
  afterAll(async () => {
    await mutual?.close();
  });

  it('serves a client presenting a certificate from client_ca', async () => {
    const answer = await httpsGet(`${mutual.url}/v2/`, { ca: caPem, cert: await readFile(client.cert), key: await readFile(client.key) });
    expect(answer.status).toBe(200);
  });

  it.each([
    ['no certificate', async () => ({})],
    ['a certificate from another CA', async () => ({ cert: await readFile(strangerClient.cert), key: await readFile(strangerClient.key) })],
  ])('refuses a client with %s and counts client_certificate', async (_name, credentials) => {
    const before = (await mutual.sample('registry_edge_tls_handshake_failures_total', { reason: 'client_certificate' })) ?? 0;
    await expect(httpsGet(`${mutual.url}/v2/`, { ca: caPem, ...(await credentials()) })).rejects.toThrow();
    await expect.poll(() => mutual.sample('registry_edge_tls_handshake_failures_total', { reason: 'client_certificate' })).toBe(before + 1);
    await stillServes(door);
  });
});

describe('draining', () => {
  it('HTTP/1.1 answers carry Connection: close, HTTP/2 sessions get GOAWAY, shutdown resolves', async () => {
    const draining = await startDemoDoor({ cert: server.cert, key: server.key });
    const session = http2Connect(draining.url, { ca: caPem });
    session.on('error', () => undefined);
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    const { socket } = await handshake(draining.port, { ca: caPem, ALPNProtocols: ['http/1.1'] });
    const stopped = draining.running.shutdown();
    expect(draining.running.draining).toBe(true);
    await goaway;
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.write('GET /v2/ HTTP/1.1\r\nHost: edge\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    await stopped;
    session.destroy();
  });
});
