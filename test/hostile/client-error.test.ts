import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientErrorResponse, clientErrorStatus, isOverlongRequestLine } from '../../src/server/serve.js';
import { DIGEST_A, startEdge, type EdgeUnderTest } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { KEY, ORIGIN, parseResponses, rawExchange } from '../support/hostile.js';

describe('clientErrorStatus: what a request refused by the HTTP parser gets', () => {
  const longLine = Buffer.from(`GET /${'a'.repeat(20_000)}`, 'latin1');
  const longHeader = Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}`, 'latin1');
  const midRequest = Buffer.from('a'.repeat(20_000), 'latin1');

  it.each<[string, string | undefined, Buffer | undefined, number | undefined]>([
    ['an over-long request line', 'HPE_HEADER_OVERFLOW', longLine, 414],
    ['a request line of 5 KiB followed by big headers', 'HPE_HEADER_OVERFLOW', Buffer.from(`GET /${'a'.repeat(5000)} HTTP/1.1\r\nX: ${'b'.repeat(12_000)}`), 414],
    ['headers past the limit', 'HPE_HEADER_OVERFLOW', longHeader, 431],
    ['an overflow seen only mid-request (dripped bytes)', 'HPE_HEADER_OVERFLOW', midRequest, 431],
    ['an overflow with no packet', 'HPE_HEADER_OVERFLOW', undefined, 431],
    ['the header or request timeout', 'ERR_HTTP_REQUEST_TIMEOUT', undefined, 408],
    ['oversized chunk extensions', 'HPE_CHUNK_EXTENSIONS_OVERFLOW', undefined, 413],
    ['an invalid method', 'HPE_INVALID_METHOD', undefined, 400],
    ['an invalid header token', 'HPE_INVALID_HEADER_TOKEN', undefined, 400],
    ['an unknown code', 'SOMETHING_NEW', undefined, 400],
    ['no code at all', undefined, undefined, 400],
    ['a reset connection', 'ECONNRESET', undefined, undefined],
    ['a broken pipe', 'EPIPE', undefined, undefined],
  ])('%s -> %s', (_label, code, packet, status) => {
    expect(clientErrorStatus(code, packet)).toBe(status);
  });

  it('recognises a request line only at the start of the packet', () => {
    expect(isOverlongRequestLine(Buffer.from(`HEAD /${'x'.repeat(5000)}`))).toBe(true);
    expect(isOverlongRequestLine(Buffer.from(`GET /${'x'.repeat(100)} HTTP/1.1\r\n`))).toBe(false);
    expect(isOverlongRequestLine(Buffer.from(`get /${'x'.repeat(5000)}`))).toBe(false);
    expect(isOverlongRequestLine(Buffer.from(`X-Header: GET /${'x'.repeat(5000)}`))).toBe(false);
  });

  it('writes a complete, closing answer with an OCI error body', () => {
    const [res] = parseResponses(Buffer.from(clientErrorResponse(414), 'latin1'));
    expect(res?.status).toBe(414);
    expect(res?.headers.connection).toBe('close');
    expect(res?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res?.body ?? '')).toEqual({ errors: [{ code: 'UNSUPPORTED', message: 'request target too long', detail: null }] });
  });
});

describe('a request whose framing breaks after it was read', () => {
  let bucket: BucketServer;
  let edge: EdgeUnderTest;
  beforeAll(async () => {
    // Slow enough that the blob answer is still owed when the broken bytes behind it arrive.
    bucket = await startBucket([`${KEY}${DIGEST_A}`], (req, res) => {
      setTimeout(() => {
        res.writeHead(req.url === `${KEY}${DIGEST_A}` ? 200 : 404, { 'Content-Length': '0' });
        res.end();
      }, 150);
      return true;
    });
    edge = await startEdge({ origin: { url: ORIGIN }, log: { level: 'warn' }, buckets: [{ name: 'lab', url: bucket.url, networks: ['127.0.0.0/8'] }] });
  });
  afterAll(async () => {
    await edge?.close();
    await bucket?.close();
  });

  it('answers the request, then closes, when its Transfer-Encoding is invalid', async () => {
    const exchange = await rawExchange(edge.port, `GET /v2/a/blobs/${DIGEST_A} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ::1\r\n\r\n`);
    expect(exchange.responses.map((r) => [r.status, r.headers.location])).toEqual([[307, `${bucket.url}${KEY}${DIGEST_A}`]]);
    expect(exchange.closed).toBe(true);
  });

  it('answers a pipelined request still being checked, then closes instead of misreading the garbage behind it', async () => {
    const exchange = await rawExchange(edge.port, `GET /v2/a/blobs/${DIGEST_A} HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01garbage\r\n\r\n`);
    expect(exchange.responses.map((r) => [r.status, r.headers.location])).toEqual([[307, `${bucket.url}${KEY}${DIGEST_A}`]]);
    expect(exchange.closed).toBe(true);
  });

  it('answers 414 or 431 (never 5xx, never silence) to a 64 KiB target however it is split into writes', async () => {
    const target = `/v2/${'a/'.repeat(32_768)}manifests/x`;
    const whole = await rawExchange(edge.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(whole.responses.map((r) => r.status)).toEqual([414]);
    // Dripped in 4 KiB writes the overflow is seen mid-line, where node cannot tell a long
    // line from long headers: still refused and closed, with a 4xx.
    const pieces = (`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`.match(/[\s\S]{1,4096}/g) ?? []).map((p) => Buffer.from(p, 'latin1'));
    const dripped = await rawExchange(edge.port, pieces, { gapMs: 10 });
    expect(dripped.closed).toBe(true);
    expect([414, 431]).toContain(dripped.responses[0]?.status);
  });
});
