/**
 * The TLS listener with real handshakes: node's clients and Debian's curl against the factory,
 * certificates from a test CA made with openssl.
 */
import { execFile } from 'node:child_process';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secureServerOptions } from '../../src/server/tls-server.js';
import { loadTlsMaterial } from '../../src/server/tls.js';
import { TestCa, type Issued } from '../support/test-ca.js';
import { BUCKET, DEFAULT_LIMITS, handshake, httpsGet, ORIGIN, startDemoDoor, type DemoDoor } from '../support/tls-door.js';

const run = promisify(execFile);
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const BLOB_PATH = `/v2/library/app/blobs/${DIGEST}`;

let ca: TestCa;
let ec: Issued;
let rsa: Issued;
let caPem: Buffer;
let door: DemoDoor;
let rsaDoor: DemoDoor;

beforeAll(async () => {
  ca = await TestCa.create('ec');
  [ec, rsa] = await Promise.all([ca.issue('ec-door'), ca.issue('rsa-door', { keyType: 'rsa' })]);
  caPem = await readFile(ca.root.cert);
  door = await startDemoDoor({ cert: ec.cert, key: ec.key });
  rsaDoor = await startDemoDoor({ cert: rsa.cert, key: rsa.key });
});

afterAll(async () => {
  await door?.close();
  await rsaDoor?.close();
  await ca?.close();
});

function h2Request(session: ClientHttp2Session, path: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path });
    stream.on('response', (headers) => {
      stream.resume();
      stream.on('end', () => resolve({ status: Number(headers[':status']), location: headers.location as string | undefined }));
    });
    stream.on('error', reject);
    stream.end();
  });
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--cacert', ca.root.cert, '-o', '/dev/null', '-D', '-', ...args]);
  return stdout;
}

describe('TLS handshake', () => {
  it.each([
    ['ECDSA P-256', () => door, () => ec],
    ['RSA 2048', () => rsaDoor, () => rsa],
  ])('%s: HTTP/1.1 over TLS answers the ping and redirects blobs', async (_name, which, issued) => {
    const target = which();
    const ping = await httpsGet(`${target.url}/v2/`, { ca: caPem });
    expect(ping.status).toBe(200);
    expect(ping.fingerprint).toBe(target.holder.current.leaf.fingerprint256);
    expect(target.holder.current.files.cert).toBe(issued().cert);
    const blob = await httpsGet(`${target.url}${BLOB_PATH}`, { ca: caPem });
    expect(blob.status).toBe(307);
    expect(blob.location).toBe(`${BUCKET}/${DIGEST}`);
  });

  it('offers h2 and http/1.1 by ALPN and picks what the client prefers', async () => {
    const h2 = await handshake(door.port, { ca: caPem, ALPNProtocols: ['h2', 'http/1.1'] });
    expect(h2.socket.alpnProtocol).toBe('h2');
    h2.socket.destroy();
    const h1 = await handshake(door.port, { ca: caPem, ALPNProtocols: ['http/1.1'] });
    expect(h1.socket.alpnProtocol).toBe('http/1.1');
    h1.socket.destroy();
    const none = await handshake(door.port, { ca: caPem });
    expect(none.socket.alpnProtocol).toBe(false);
    none.socket.destroy();
  });

  it('refuses TLS 1.1 and counts it as protocol_version', async () => {
    const before = (await door.sample('registry_edge_tls_handshake_failures_total', { reason: 'protocol_version' })) ?? 0;
    await expect(handshake(door.port, { ca: caPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow();
    await expect.poll(() => door.sample('registry_edge_tls_handshake_failures_total', { reason: 'protocol_version' })).toBe(before + 1);
  });

  it('serves TLS 1.2 clients too', async () => {
    const answer = await httpsGet(`${door.url}/v2/`, { ca: caPem, maxVersion: 'TLSv1.2' });
    expect(answer.status).toBe(200);
    expect(answer.protocol).toBe('TLSv1.2');
  });

  it('a client that does not trust the certificate is counted as certificate_refused_by_client', async () => {
    // curl (OpenSSL) refuses inside the handshake and sends an alert; node's client checks
    // the chain only after the handshake and just closes, which looks like any other close.
    const before = (await door.sample('registry_edge_tls_handshake_failures_total', { reason: 'certificate_refused_by_client' })) ?? 0;
    await expect(run('curl', ['-sS', '-o', '/dev/null', `${door.url}/v2/`])).rejects.toThrow(/certificate/);
    await expect.poll(() => door.sample('registry_edge_tls_handshake_failures_total', { reason: 'certificate_refused_by_client' })).toBe(before + 1);
  });
});

describe('HTTP/2', () => {
  it('node http2 client: the same 307 and Location as HTTP/1.1, several streams on one session', async () => {
    const session = http2Connect(door.url, { ca: caPem });
    try {
      const answers = await Promise.all([h2Request(session, BLOB_PATH), h2Request(session, '/v2/library/app/manifests/1.0'), h2Request(session, '/v2/')]);
      expect(answers[0]).toEqual({ status: 307, location: `${BUCKET}/${DIGEST}` });
      expect(answers[1]).toEqual({ status: 307, location: `${ORIGIN}/v2/library/app/manifests/1.0` });
      expect(answers[2]?.status).toBe(200);
      const http1 = await httpsGet(`${door.url}${BLOB_PATH}`, { ca: caPem });
      expect(answers[0]?.location).toBe(http1.location);
      expect(session.remoteSettings.maxConcurrentStreams).toBe(DEFAULT_LIMITS.http2.maxConcurrentStreams);
      expect(session.remoteSettings.maxHeaderListSize).toBe(DEFAULT_LIMITS.http2.maxHeaderListBytes);
    } finally {
      session.close();
    }
  });

  it('curl --http2 sees HTTP/2 307 with the Location curl --http1.1 sees', async () => {
    const h2 = await curl(['--http2', `${door.url}${BLOB_PATH}`]);
    const h1 = await curl(['--http1.1', `${door.url}${BLOB_PATH}`]);
    expect(h2.split('\r\n')[0]).toBe('HTTP/2 307 ');
    expect(h1.split('\r\n')[0]).toBe('HTTP/1.1 307 Temporary Redirect');
    const location = (headers: string): string | undefined => /^location: (.*)$/im.exec(headers)?.[1]?.trim();
    expect(location(h2)).toBe(`${BUCKET}/${DIGEST}`);
    expect(location(h1)).toBe(location(h2));
  });

  it('counts handshakes by negotiated protocol and TLS version', async () => {
    const before = (await door.sample('registry_edge_tls_handshakes_total', { protocol: 'h2', version: 'TLSv1.3' })) ?? 0;
    await curl(['--http2', `${door.url}/v2/`]);
    await expect.poll(() => door.sample('registry_edge_tls_handshakes_total', { protocol: 'h2', version: 'TLSv1.3' })).toBe(before + 1);
    const tls12 = (await door.sample('registry_edge_tls_handshakes_total', { protocol: 'http/1.1', version: 'TLSv1.2' })) ?? 0;
    await curl(['--http1.1', '--tls-max', '1.2', `${door.url}/v2/`]);
    await expect.poll(() => door.sample('registry_edge_tls_handshakes_total', { protocol: 'http/1.1', version: 'TLSv1.2' })).toBe(tls12 + 1);
  });

  it('with http2 off, ALPN offers http/1.1 only and curl --http2 falls back to HTTP/1.1', async () => {
    const plainOnly = await startDemoDoor({ cert: ec.cert, key: ec.key }, { limits: { http2: { ...DEFAULT_LIMITS.http2, enabled: false } } });
    try {
      const headers = await run('curl', ['-sS', '--cacert', ca.root.cert, '-o', '/dev/null', '-D', '-', '--http2', `${plainOnly.url}/v2/`]);
      expect(headers.stdout.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
      const offered = await handshake(plainOnly.port, { ca: caPem, ALPNProtocols: ['h2', 'http/1.1'] });
      expect(offered.socket.alpnProtocol).toBe('http/1.1');
      offered.socket.destroy();
    } finally {
      await plainOnly.close();
    }
  });
});

describe('certificate expiry metric', () => {
  it('registry_edge_tls_certificate_expiry_seconds is the time left until notAfter', async () => {
    const now = Date.now();
    const atNow = await startDemoDoor({ cert: ec.cert, key: ec.key }, { now: () => now });
    try {
      const expected = (atNow.holder.current.leaf.notAfter.getTime() - now) / 1000;
      expect(await atNow.sample('registry_edge_tls_certificate_expiry_seconds')).toBe(expected);
      expect(expected).toBeGreaterThan(86_400);
      const text = await atNow.registry.metrics();
      expect(text).toContain('# TYPE registry_edge_tls_certificate_expiry_seconds gauge');
    } finally {
      await atNow.close();
    }
  });
});

describe('secureServerOptions', () => {
  it('asks for client certificates exactly when client_ca is set, and never offers TLS below 1.2', () => {
    const plain = secureServerOptions(loadTlsMaterial({ cert: ec.cert, key: ec.key }), DEFAULT_LIMITS);
    // Nagle off as on node's http and https servers (node's HTTP/2 server leaves it on).
    expect(plain).toMatchObject({ allowHTTP1: true, minVersion: 'TLSv1.2', requestCert: false, rejectUnauthorized: false, noDelay: true });
    expect(plain.ciphers).toBeUndefined();
    const mutual = secureServerOptions(loadTlsMaterial({ cert: ec.cert, key: ec.key, client_ca: ca.root.cert }), DEFAULT_LIMITS);
    // Refused after the handshake, where the refusal can be counted: see tls-protections.
    expect(mutual).toMatchObject({ requestCert: true, rejectUnauthorized: false });
  });
});
