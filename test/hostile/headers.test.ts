import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIGEST_A, startEdge, type EdgeUnderTest } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { KEY, ORIGIN, assertAnswerKeepsPromises, errorLines, rawExchange, rawRequest, startHostileEdge, type HostileSetup } from '../support/hostile.js';

const BLOB = `/v2/a/blobs/${DIGEST_A}`;

describe('hostile headers, socket peer as the client (trusted_hops 0)', () => {
  let setup: HostileSetup;
  beforeAll(async () => {
    setup = await startHostileEdge({}, [DIGEST_A]);
  });
  afterAll(async () => {
    await setup?.close();
  });

  it('answers 431 to one header of 20 KiB, with an OCI error body, and closes', async () => {
    const exchange = await rawExchange(setup.edge.port, `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`);
    expect(exchange.responses.map((r) => r.status)).toEqual([431]);
    expect(JSON.parse(exchange.responses[0]?.body ?? '{}').errors[0].code).toBe('UNSUPPORTED');
    expect(exchange.closed).toBe(true);
  });

  it('answers 431 when many ordinary headers add up past 16 KiB', async () => {
    const headers = Array.from({ length: 400 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(40)}`);
    const res = await rawRequest(setup.edge.port, '/v2/', headers);
    expect(res.status).toBe(431);
  });

  it('serves a request carrying 500 small headers normally', async () => {
    const headers = Array.from({ length: 500 }, (_, i) => `X-H${i}: ${i}`);
    const res = await rawRequest(setup.edge.port, BLOB, headers);
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`${setup.bucket.url}${KEY}${DIGEST_A}`);
  });

  it('serves a request with 400 repeated X-Forwarded-For lines without slowing down (the header is ignored here)', async () => {
    const headers = Array.from({ length: 400 }, (_, i) => `X-Forwarded-For: 10.0.${i >> 8}.${i & 255}`);
    const started = performance.now();
    const res = await rawRequest(setup.edge.port, BLOB, headers);
    expect(res.status).toBe(307);
    // The socket peer decides with trusted_hops 0: loopback, so the lab bucket.
    expect(res.headers.location).toBe(`${setup.bucket.url}${KEY}${DIGEST_A}`);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it.each([
    ['empty Host', ['Host:']],
    ['Host with a path', ['Host: evil.example/../../x']],
    ['Host with user info', ['Host: user@evil.example']],
    ['Host with an unterminated IPv6 literal', ['Host: [::1']],
    ['Host with a bad port', ['Host: x:99999999']],
    ['two Host headers', ['Host: a.example', 'Host: b.example']],
  ])('never lets a hostile %s reach a Location or a 5xx', async (_label, hostLines) => {
    // requestBytes adds its own Host line, so build this request by hand.
    const wire = `GET /v2/a/manifests/1 HTTP/1.1\r\n${hostLines.join('\r\n')}\r\nConnection: close\r\n\r\n`;
    const exchange = await rawExchange(setup.edge.port, wire);
    const [res] = exchange.responses;
    expect(res, 'the edge answers rather than dropping the connection').toBeDefined();
    assertAnswerKeepsPromises({ status: res?.status ?? 0, location: res?.headers.location }, setup.scope);
    if (res?.status === 307) expect(res.headers.location).toBe(`${ORIGIN}/v2/k8s/images/a/manifests/1`);
  });

  it.each([
    ['a bare CR inside a header value', 'X-A: one\rSet-Cookie: pwned=1'],
    ['an obsolete folded header line', 'X-A: one\r\n  folded'],
    ['a header name with a space', 'Bad Name: x'],
    ['a NUL byte in a header value', 'X-A: a\x00b'],
  ])('refuses %s with 400', async (_label, line) => {
    const res = await rawRequest(setup.edge.port, '/v2/', [line]);
    expect(res.status).toBe(400);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('logged no internal error for any of the above', () => {
    expect(errorLines(setup.edge)).toEqual([]);
  });
});

describe('hostile X-Forwarded-For behind one trusted proxy (trusted_hops 1)', () => {
  let bucket: BucketServer;
  let edge: EdgeUnderTest;
  beforeAll(async () => {
    bucket = await startBucket([`${KEY}${DIGEST_A}`]);
    edge = await startEdge({
      origin: { url: ORIGIN, path: 'k8s/images' },
      log: { level: 'warn' },
      client_ip: { trusted_hops: 1 },
      // One documentation network plus IPv6 loopback and documentation space; everyone else goes to the origin.
      buckets: [{ name: 'lab', url: bucket.url, networks: ['192.0.2.0/24', '::1/128', '2001:db8::/32'] }],
    });
  });
  afterAll(async () => {
    await edge?.close();
    await bucket?.close();
  });

  const LAB = 'LAB';
  const TO_ORIGIN = 'ORIGIN';

  it.each<[string, string, string]>([
    ['an IPv4 address with a port', '192.0.2.7:80', LAB],
    ['a bracketed IPv6 address with a port', '[::1]:80', LAB],
    ['a bracketed IPv6 address without a port', '[2001:db8::9]', LAB],
    ['an IPv4-mapped IPv6 address', '::ffff:192.0.2.7', LAB],
    ['garbage left of the trusted entry', 'garbage, <script>, 192.0.2.7', LAB],
    ['an address outside every bucket network', '198.51.100.1', TO_ORIGIN],
    ['spaces around the entry', '   192.0.2.7   ', LAB],
  ])('routes %s (%s) by the right-most entry', async (_label, xff, where) => {
    const res = await rawRequest(edge.port, BLOB, [`X-Forwarded-For: ${xff}`]);
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(where === LAB ? `${bucket.url}${KEY}${DIGEST_A}` : `${ORIGIN}/v2/k8s/images/a/blobs/${DIGEST_A}`);
  });

  it.each<[string, string, RegExp]>([
    ['plain garbage', 'not-an-ip', /invalid X-Forwarded-For entry/],
    ['an out-of-range octet', '999.1.1.1', /invalid X-Forwarded-For entry/],
    ['an unterminated bracket', '[::1', /invalid X-Forwarded-For entry/],
    ['a port on an unbracketed IPv6 address', '::1]:80', /invalid X-Forwarded-For entry/],
    ['two ports', '192.0.2.7:80:81', /invalid X-Forwarded-For entry/],
    ['a quoted RFC 7239 style value', '"192.0.2.7"', /invalid X-Forwarded-For entry/],
    ['an empty right-most entry', '192.0.2.7, ', /empty X-Forwarded-For entry/],
    ['an entry longer than any address', `1${'0'.repeat(100)}`, /too long/],
    ['an IPv6 zone id', 'fe80::1%eth0', /zone id/],
    ['a bracketed IPv6 zone id with a port', '[fe80::1%eth0]:443', /zone id/],
    ['a percent-encoded zone id', 'fe80::1%25eth0', /zone id/],
  ])('refuses a blob request whose trusted entry is %s with 400 and says why', async (_label, xff, message) => {
    const res = await rawRequest(edge.port, BLOB, [`X-Forwarded-For: ${xff}`]);
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    const text = JSON.parse(res.body).errors[0].message as string;
    expect(text).toMatch(message);
    // The echoed entry is cut and made printable: a log or a terminal never sees raw client bytes.
    expect(text).toMatch(/^[\x20-\x7e]*$/);
    expect(text.length).toBeLessThan(200);
  });

  it('still redirects manifests when X-Forwarded-For is garbage: they do not depend on the client', async () => {
    const res = await rawRequest(edge.port, '/v2/a/manifests/1', ['X-Forwarded-For: ]]]garbage[[[']);
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`${ORIGIN}/v2/k8s/images/a/manifests/1`);
  });

  it('reads only the right-most entry of 1,400 and answers fast', async () => {
    const entries = Array.from({ length: 1400 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`);
    const header = `X-Forwarded-For: ${[...entries, '192.0.2.7'].join(',')}`;
    expect(header.length).toBeGreaterThan(14_000);
    const started = performance.now();
    const res = await rawRequest(edge.port, BLOB, [header]);
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`${bucket.url}${KEY}${DIGEST_A}`);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('answers 431 to an X-Forwarded-For of 5,000 entries (past the 16 KiB header limit)', async () => {
    const entries = Array.from({ length: 5000 }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`);
    const res = await rawRequest(edge.port, BLOB, [`X-Forwarded-For: ${entries.join(', ')}`]);
    expect(res.status).toBe(431);
  });

  it('joins repeated X-Forwarded-For lines the way proxies mean them, right-most wins', async () => {
    const res = await rawRequest(edge.port, BLOB, ['X-Forwarded-For: 198.51.100.1', 'X-Forwarded-For: garbage, 192.0.2.7']);
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`${bucket.url}${KEY}${DIGEST_A}`);
  });

  it('logged no internal error for any of the above', () => {
    expect(errorLines(edge)).toEqual([]);
  });
});
