import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createExistenceChecker } from '../../src/blobs/index.js';
import type { CheckNote, ExistenceChecker, Presence } from '../../src/blobs/types.js';
import type { BucketConfig } from '../../src/config/types.js';
import { DIGEST_A, DIGEST_B, startEdge, type EdgeUnderTest } from '../support/harness.js';
import { ORIGIN, assertAnswerKeepsPromises, errorLines, rawRequest, scopeFor } from '../support/hostile.js';
import {
  bucketConfig,
  startHangingBucket,
  startHttpBucket,
  startRawBucket,
  startResettingBucket,
  type TestBucket,
  startBucket,
} from '../support/buckets.js';
import { KEY, blobPath, checkConfig, digest, closedAfterEach } from '../support/blobs.js';
import { until } from '../support/wait.js';

// Buckets that fail in every way seen in the wild (or that a hostile bucket could choose),
// first as the existence checker sees them, then as a client of the edge does.

const track = closedAfterEach();

/** Breaker effectively off, so each test sees every HEAD outcome on its own. */
function checker(overrides: Parameters<typeof checkConfig>[0] = {}): ExistenceChecker {
  return track(createExistenceChecker({ key: KEY, check: checkConfig({ failure_threshold: 1000, ...overrides }) }));
}

/** A bucket that sends a good 200 answer one byte every `intervalMs`: too slowly to wait for. */
function startDrippingBucket(name: string, intervalMs: number): Promise<TestBucket> {
  return startRawBucket(name, (socket) => {
    const answer = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    let sent = 0;
    const drip = setInterval(() => {
      if (socket.destroyed || sent >= answer.length) return void clearInterval(drip);
      socket.write(answer[sent++] ?? '');
    }, intervalMs);
    socket.on('close', () => clearInterval(drip));
  });
}

/** One check, with the cause a caller who asks (explain) is given. */
async function checkWithCause(check: ExistenceChecker, bucket: BucketConfig, blob: string): Promise<[Presence, string | undefined]> {
  const note: CheckNote = { cause: undefined };
  const presence = await check.check(bucket, blob, note);
  return [presence, note.cause];
}

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work;
  return [value, performance.now() - started];
}

describe('buckets that fail', () => {
  it('gives up on a bucket that accepts but never answers after timeout_ms, and caches nothing', async () => {
    const bucket = track(await startHangingBucket('hang'));
    const check = checker({ timeout_ms: 150 });
    const [answer, ms] = await timed(checkWithCause(check, bucket.bucket, digest(1)));
    expect(answer).toEqual(['unknown', 'timeout after 150 ms']);
    // Timers count from the event loop's cached time, which lags under load: allow some slack.
    expect(ms).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(1000);
    expect(check.peek(bucket.bucket, digest(1))).toBeUndefined();
    expect(check.stats().heads.timeout).toBe(1);
  });

  it('times out a bucket that sends its headers too slowly', async () => {
    const bucket = track(await startDrippingBucket('slow', 40));
    const check = checker({ timeout_ms: 150 });
    const [answer, ms] = await timed(checkWithCause(check, bucket.bucket, digest(1)));
    expect(answer).toEqual(['unknown', 'timeout after 150 ms']);
    expect(ms).toBeLessThan(1000);
    expect(check.stats().heads.timeout).toBe(1);
  });

  it('treats a reset connection as an error, not as absent', async () => {
    const bucket = track(await startResettingBucket('reset'));
    const check = checker();
    expect(await checkWithCause(check, bucket.bucket, digest(1))).toEqual(['unknown', 'ECONNRESET']);
    expect(check.stats().heads.error).toBe(1);
    expect(check.peek(bucket.bucket, digest(1))).toBeUndefined();
  });

  it('treats a refused connection as an error', async () => {
    const bucket = await startHttpBucket('gone');
    await bucket.close();
    const check = checker();
    expect(await checkWithCause(check, bucket.bucket, digest(1))).toEqual(['unknown', 'ECONNREFUSED']);
    expect(check.stats().heads.error).toBe(1);
  });

  it.each([
    [500, 'status_5xx'],
    [503, 'status_5xx'],
    [400, 'status_4xx'],
    [429, 'status_4xx'],
  ] as const)('answers %i as unknown (%s), never cached', async (status, outcome) => {
    const bucket = track(await startHttpBucket('b', { status: () => status }));
    const check = checker();
    expect(await checkWithCause(check, bucket.bucket, digest(1))).toEqual(['unknown', `status ${status}`]);
    expect(check.peek(bucket.bucket, digest(1))).toBeUndefined();
    expect(await check.check(bucket.bucket, digest(1))).toBe('unknown');
    expect(bucket.requests).toHaveLength(2);
    expect(check.stats().heads[outcome]).toBe(2);
  });

  it('answers a non-standard status as unknown', async () => {
    const bucket = track(await startRawBucket('odd', (socket) => socket.write('HTTP/1.1 799 Odd\r\nContent-Length: 0\r\n\r\n')));
    const check = checker();
    expect(await checkWithCause(check, bucket.bucket, digest(1))).toEqual(['unknown', 'status 799']);
    expect(check.stats().heads.status_other).toBe(1);
  });

  it.each([301, 302, 307])('never follows a %i redirect and never takes it for presence', async (status) => {
    const elsewhere = track(await startHttpBucket('elsewhere', { status: () => 200 }));
    const bucket = track(
      await startHttpBucket('wrong-region', { status: () => status, headers: (path) => ({ location: elsewhere.url + path }) }),
    );
    const check = checker();
    expect(await checkWithCause(check, bucket.bucket, digest(1))).toEqual(['unknown', `status ${status}`]);
    expect(elsewhere.requests).toEqual([]);
    expect(check.peek(bucket.bucket, digest(1))).toBeUndefined();
    expect(check.stats().heads.redirect).toBe(1);
  });

  it('answers quickly when a HEAD response comes with a huge body, and the next check is unharmed', async () => {
    const bucket = track(
      await startRawBucket('huge', (socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n');
        const chunk = Buffer.alloc(1 << 20, 120);
        const pump = (): void => {
          while (!socket.destroyed && socket.write(chunk)) {
            // Keep the pipe full until the client goes away.
          }
        };
        socket.on('drain', pump);
        pump();
      }),
    );
    const check = checker({ timeout_ms: 1000 });
    const [first, ms] = await timed(check.check(bucket.bucket, digest(1)));
    expect(first).toBe('present');
    expect(ms).toBeLessThan(1000);
    expect(await check.check(bucket.bucket, digest(2))).toBe('present');
    expect(check.stats().heads).toMatchObject({ present: 2, error: 0 });
  });

  it('treats oversized response headers as an error', async () => {
    const bucket = track(
      await startRawBucket('fat-headers', (socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nX-Padding: ${'a'.repeat(64 * 1024)}\r\nContent-Length: 0\r\n\r\n`);
      }),
    );
    const check = checker();
    expect(await checkWithCause(check, bucket.bucket, digest(1))).toEqual(['unknown', 'HPE_HEADER_OVERFLOW']);
    expect(check.stats().heads.error).toBe(1);
  });

  it('retries once on a fresh connection when a pooled keep-alive socket turns out dead', async () => {
    // Answers the first request on each connection, then resets it on the second, the way a
    // bucket closing an idle keep-alive connection looks from the client.
    const bucket = track(
      await startRawBucket('idle-closer', (socket, _head, index) => {
        if (index === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
        else socket.resetAndDestroy();
      }),
    );
    const check = checker();
    expect(await check.check(bucket.bucket, digest(1))).toBe('present');
    expect(await check.check(bucket.bucket, digest(2))).toBe('present');
    expect(bucket.connections).toBe(2);
    expect(bucket.requests).toHaveLength(3);
  });

  it('answers unknown for bucket URLs it cannot use', async () => {
    const check = checker();
    expect(await checkWithCause(check, bucketConfig('ftp', 'ftp://127.0.0.1:1'), digest(1))).toEqual(['unknown', 'unsupported protocol ftp:']);
    expect(await checkWithCause(check, bucketConfig('junk', 'not a url'), digest(1))).toEqual(['unknown', 'invalid URL']);
    expect(check.stats().heads.error).toBe(2);
  });

  it('resolves HEADs still waiting on a silent bucket as unknown when closed', async () => {
    const bucket = track(await startHangingBucket('hang'));
    const check = createExistenceChecker({ key: KEY, check: checkConfig({ timeout_ms: 5000 }) });
    const pending = check.check(bucket.bucket, digest(1));
    await until('the bucket to see 1 request(s)', () => bucket.requests.length === 1, { timeoutMs: 2000, everyMs: 5 });
    const [, ms] = await timed(check.close());
    expect(await pending).toBe('unknown');
    expect(ms).toBeLessThan(1000);
  });
});

const TIMEOUT_MS = 300;
const toOrigin = (digest: string): string => `${ORIGIN}/v2/a/blobs/${digest}`;

/** An edge whose only bucket, for loopback clients, is the misbehaving one; everything else goes to the origin. */
async function edgeInFrontOf(bucketUrl: string, check: Record<string, number> = {}): Promise<EdgeUnderTest> {
  return track(
      await startEdge({
    origin: { url: ORIGIN },
    log: { level: 'error' },
    buckets: [{ name: 'bad', url: bucketUrl, networks: ['127.0.0.0/8'] }],
    blobs: { check: { timeout_ms: TIMEOUT_MS, failure_threshold: 1000, ...check } },
  }));
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
    const bucket = track(await startResettingBucket('reset'));
    const edge = await edgeInFrontOf(bucket.url);
    for (const digest of [DIGEST_A, DIGEST_A, DIGEST_B]) expect((await pull(edge, bucket.url, digest)).location).toBe(toOrigin(digest));
    expect(bucket.requests.length).toBeGreaterThanOrEqual(3);
    expect(errorLines(edge)).toEqual([]);
  });

  it('sends the client to the origin soon after timeout_ms when the bucket accepts and never answers', async () => {
    const bucket = track(await startHangingBucket('hang'));
    const edge = await edgeInFrontOf(bucket.url);
    const { location, ms } = await pull(edge, bucket.url, DIGEST_A);
    expect(location).toBe(toOrigin(DIGEST_A));
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(TIMEOUT_MS + 2000);
  });

  it('stops asking a hanging bucket once it has failed failure_threshold times, answering at once', async () => {
    const bucket = track(await startHangingBucket('hang'));
    const edge = await edgeInFrontOf(bucket.url, { failure_threshold: 2, cooldown_ms: 60_000 });
    for (const digest of [DIGEST_A, DIGEST_B]) await pull(edge, bucket.url, digest);
    const asked = bucket.requests.length;
    const quick = await pull(edge, bucket.url, `sha256:${'c'.repeat(64)}`);
    expect(quick.location).toBe(toOrigin(`sha256:${'c'.repeat(64)}`));
    expect(quick.ms).toBeLessThan(TIMEOUT_MS);
    expect(bucket.requests.length).toBe(asked);
  });

  it.each([301, 302, 307, 308])('never follows a %i from the bucket, never caches it as present, and never leaks its Location', async (status) => {
    const decoy = track(await startBucket([blobPath(DIGEST_A)]));
    const bucket = track(
      await startBucket([], (req, res) => {
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
    expect(bucket.heads(blobPath(DIGEST_A))).toBe(2);
    expect(decoy.requests).toEqual([]);
    expect(edge.holder.current.checker.stats().heads.redirect).toBe(2);
  });

  it('sends the client to the origin when the bucket answers with 64 KiB of headers', async () => {
    const bucket = track(
      await startRawBucket('fat-headers', (socket) => {
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
    const bucket = track(
      await startRawBucket('firehose', (socket) => {
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
    expect(first.location).toBe(`${bucket.url}${blobPath(DIGEST_A)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The edge either dropped the socket or stopped reading it: the 32 MiB never got through.
    expect(accepted).toBeLessThan(32 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(16 * 1024 * 1024);
    // A second blob still gets a clean answer.
    const second = await pull(edge, bucket.url, DIGEST_B);
    expect([`${bucket.url}${blobPath(DIGEST_B)}`, toOrigin(DIGEST_B)]).toContain(second.location);
  });

  it('gives up on a bucket that sends its status line one byte at a time', async () => {
    const bucket = track(await startDrippingBucket('drip', 60));
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
    const bucket = track(await startRawBucket('odd', (socket) => socket.end(answer)));
    const edge = await edgeInFrontOf(bucket.url);
    const { location } = await pull(edge, bucket.url, DIGEST_A);
    // Only a 2xx makes the bucket the target; its own headers never reach the client.
    expect(location).toBe(answer.startsWith('HTTP/1.1 200') ? `${bucket.url}${blobPath(DIGEST_A)}` : toOrigin(DIGEST_A));
    expect(location).not.toContain('evil.example');
  });
});
