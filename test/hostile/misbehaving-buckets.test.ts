import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHangingBucket, startRawBucket, startResettingBucket, type TestBucket } from '../support/buckets.js';
import { DIGEST_A, DIGEST_B, startEdge, type EdgeUnderTest } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { KEY, ORIGIN, assertAnswerKeepsPromises, errorLines, rawRequest, scopeFor } from '../support/hostile.js';

const TIMEOUT_MS = 300;
const toOrigin = (digest: string): string => `${ORIGIN}/v2/a/blobs/${digest}`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** An edge whose only bucket, for loopback clients, is the misbehaving one; everything else goes to the origin. */
async function edgeInFrontOf(bucketUrl: string, check: Record<string, number> = {}): Promise<EdgeUnderTest> {
  const edge = await startEdge({
    origin: { url: ORIGIN },
    log: { level: 'error' },
    buckets: [{ name: 'bad', url: bucketUrl, networks: ['127.0.0.0/8'] }],
    blobs: { check: { timeout_ms: TIMEOUT_MS, failure_threshold: 1000, ...check } },
  });
  cleanups.push(() => edge.close());
  return edge;
}

async function track<T extends TestBucket | BucketServer>(bucket: Promise<T>): Promise<T> {
  const started = await bucket;
  cleanups.push(() => started.close());
  return started;
}

/** A blob request through the edge, checked against promises 1 and 2. */
async function pull(edge: EdgeUnderTest, bucketUrl: string, digest: string): Promise<{ location: string | undefined; ms: number }> {
  const started = performance.now();
  const res = await rawRequest(edge.port, `/v2/a/blobs/${digest}`);
  const ms = performance.now() - started;
  expect(res.status).toBe(307);
  assertAnswerKeepsPromises({ status: res.status, location: res.headers.location }, { ...scopeFor(bucketUrl), registries: [`${ORIGIN}/v2/`] });
  return { location: res.headers.location, ms };
}

describe('buckets that misbehave, seen from a client of the edge', () => {
  it('sends the client to the origin when the bucket resets the connection', async () => {
    const bucket = await track(startResettingBucket('reset'));
    const edge = await edgeInFrontOf(bucket.url);
    for (const digest of [DIGEST_A, DIGEST_A, DIGEST_B]) expect((await pull(edge, bucket.url, digest)).location).toBe(toOrigin(digest));
    expect(bucket.requests.length).toBeGreaterThanOrEqual(3);
    expect(errorLines(edge)).toEqual([]);
  });

  it('sends the client to the origin soon after timeout_ms when the bucket accepts and never answers', async () => {
    const bucket = await track(startHangingBucket('hang'));
    const edge = await edgeInFrontOf(bucket.url);
    const { location, ms } = await pull(edge, bucket.url, DIGEST_A);
    expect(location).toBe(toOrigin(DIGEST_A));
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(TIMEOUT_MS + 2000);
  });

  it('stops asking a hanging bucket once it has failed failure_threshold times, answering at once', async () => {
    const bucket = await track(startHangingBucket('hang'));
    const edge = await edgeInFrontOf(bucket.url, { failure_threshold: 2, cooldown_ms: 60_000 });
    for (const digest of [DIGEST_A, DIGEST_B]) await pull(edge, bucket.url, digest);
    const asked = bucket.requests.length;
    const quick = await pull(edge, bucket.url, `sha256:${'c'.repeat(64)}`);
    expect(quick.location).toBe(toOrigin(`sha256:${'c'.repeat(64)}`));
    expect(quick.ms).toBeLessThan(TIMEOUT_MS);
    expect(bucket.requests.length).toBe(asked);
  });

  it.each([301, 302, 307, 308])('never follows a %i from the bucket, never caches it as present, and never leaks its Location', async (status) => {
    const decoy = await track(startBucket([`${KEY}${DIGEST_A}`]));
    const bucket = await track(
      startBucket([], (req, res) => {
        res.writeHead(status, { Location: `${decoy.url}${req.url ?? ''}`, 'Content-Length': '0' });
        res.end();
        return true;
      }),
    );
    const edge = await edgeInFrontOf(bucket.url);
    for (let i = 0; i < 2; i++) {
      const { location } = await pull(edge, bucket.url, DIGEST_A);
      expect(location).toBe(toOrigin(DIGEST_A));
      expect(location).not.toContain(decoy.url);
    }
    // Asked again the second time: a redirect is not an answer worth caching.
    expect(bucket.heads(`${KEY}${DIGEST_A}`)).toBe(2);
    expect(decoy.requests).toEqual([]);
    expect(edge.holder.current.checker.stats().heads.redirect).toBe(2);
  });

  it('sends the client to the origin when the bucket answers with 64 KiB of headers', async () => {
    const bucket = await track(
      startRawBucket('fat-headers', (socket) => {
        const filler = Array.from({ length: 1024 }, (_, i) => `X-Filler-${i}: ${'f'.repeat(50)}\r\n`).join('');
        socket.end(`HTTP/1.1 200 OK\r\n${filler}Content-Length: 0\r\n\r\n`);
      }),
    );
    const edge = await edgeInFrontOf(bucket.url);
    expect((await pull(edge, bucket.url, DIGEST_A)).location).toBe(toOrigin(DIGEST_A));
    expect(edge.holder.current.checker.stats().heads.error).toBe(1);
  });

  it('reads no body from a bucket that answers HEAD with 200 and then streams megabytes', async () => {
    let accepted = 0;
    const streams: Socket[] = [];
    const bucket = await track(
      startRawBucket('firehose', (socket) => {
        streams.push(socket);
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n');
        const junk = Buffer.alloc(64 * 1024, 0x41);
        // Push 32 MiB as fast as the edge takes it; a reader that buffered bodies would take it all.
        const pump = (): void => {
          while (!socket.destroyed && accepted < 32 * 1024 * 1024) {
            accepted += junk.length;
            if (!socket.write(junk)) return void socket.once('drain', pump);
          }
        };
        pump();
      }),
    );
    const edge = await edgeInFrontOf(bucket.url);
    const heapBefore = process.memoryUsage().heapUsed;
    const first = await pull(edge, bucket.url, DIGEST_A);
    // 200 is a presence answer; what follows it is not the edge's business.
    expect(first.location).toBe(`${bucket.url}${KEY}${DIGEST_A}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The edge either dropped the socket or stopped reading it: the 32 MiB never got through.
    expect(accepted).toBeLessThan(32 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(16 * 1024 * 1024);
    // A second blob still gets a clean answer.
    const second = await pull(edge, bucket.url, DIGEST_B);
    expect([`${bucket.url}${KEY}${DIGEST_B}`, toOrigin(DIGEST_B)]).toContain(second.location);
  });

  it('gives up on a bucket that sends its status line one byte at a time', async () => {
    const bucket = await track(
      startRawBucket('drip', (socket) => {
        const answer = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
        let sent = 0;
        const drip = setInterval(() => {
          if (socket.destroyed || sent >= answer.length) return void clearInterval(drip);
          socket.write(answer[sent++] ?? '');
        }, 60);
        socket.on('close', () => clearInterval(drip));
      }),
    );
    const edge = await edgeInFrontOf(bucket.url);
    const { location, ms } = await pull(edge, bucket.url, DIGEST_A);
    expect(location).toBe(toOrigin(DIGEST_A));
    expect(ms).toBeLessThan(TIMEOUT_MS + 2000);
  });

  it.each([
    ['a status line that is not HTTP', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
    ['an impossible status code', 'HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n'],
    ['a 200 with a header injection attempt', 'HTTP/1.1 200 OK\r\nLocation: https://evil.example/\r\nContent-Length: 0\r\n\r\n'],
    ['a 500', 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n'],
  ])('keeps its promises when the bucket answers %s', async (_label, answer) => {
    const bucket = await track(startRawBucket('odd', (socket) => socket.end(answer)));
    const edge = await edgeInFrontOf(bucket.url);
    const { location } = await pull(edge, bucket.url, DIGEST_A);
    // Only a 2xx makes the bucket the target; its own headers never reach the client.
    expect([toOrigin(DIGEST_A), `${bucket.url}${KEY}${DIGEST_A}`]).toContain(location);
    if (!answer.startsWith('HTTP/1.1 200')) expect(location).toBe(toOrigin(DIGEST_A));
    expect(location).not.toContain('evil.example');
  });
});
