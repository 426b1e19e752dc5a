import { describe, expect, it } from 'vitest';
import { createExistenceChecker } from '../../src/blobs/index.js';
import type { ExistenceChecker } from '../../src/blobs/types.js';
import {
  bucketConfig,
  startHangingBucket,
  startHttpBucket,
  startRawBucket,
  startResettingBucket,
} from '../support/buckets.js';
import { KEY, checkConfig, digest, closedAfterEach } from '../support/blobs.js';
import { until } from '../support/wait.js';

const track = closedAfterEach();

/** Breaker effectively off, so each test sees every HEAD outcome on its own. */
function checker(overrides: Parameters<typeof checkConfig>[0] = {}): ExistenceChecker {
  return track(createExistenceChecker({ key: KEY, check: checkConfig({ failure_threshold: 1000, ...overrides }) }));
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
    const [answer, ms] = await timed(check.check(bucket.bucket, digest(1)));
    expect(answer).toBe('unknown');
    // Timers count from the event loop's cached time, which lags under load: allow some slack.
    expect(ms).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(1000);
    expect(check.peek(bucket.bucket, digest(1))).toBeUndefined();
    expect(check.stats().heads.timeout).toBe(1);
  });

  it('times out a bucket that sends its headers too slowly', async () => {
    const bucket = track(
      await startRawBucket('slow', (socket) => {
        const text = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
        let sent = 0;
        const drip = setInterval(() => {
          if (socket.destroyed || sent >= text.length) return void clearInterval(drip);
          socket.write(text[sent++] ?? '');
        }, 40);
        socket.on('close', () => clearInterval(drip));
      }),
    );
    const check = checker({ timeout_ms: 150 });
    const [answer, ms] = await timed(check.check(bucket.bucket, digest(1)));
    expect(answer).toBe('unknown');
    expect(ms).toBeLessThan(1000);
    expect(check.stats().heads.timeout).toBe(1);
  });

  it('treats a reset connection as an error, not as absent', async () => {
    const bucket = track(await startResettingBucket('reset'));
    const check = checker();
    expect(await check.check(bucket.bucket, digest(1))).toBe('unknown');
    expect(check.stats().heads.error).toBe(1);
    expect(check.peek(bucket.bucket, digest(1))).toBeUndefined();
  });

  it('treats a refused connection as an error', async () => {
    const bucket = await startHttpBucket('gone');
    await bucket.close();
    const check = checker();
    expect(await check.check(bucket.bucket, digest(1))).toBe('unknown');
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
    expect(await check.check(bucket.bucket, digest(1))).toBe('unknown');
    expect(check.peek(bucket.bucket, digest(1))).toBeUndefined();
    expect(await check.check(bucket.bucket, digest(1))).toBe('unknown');
    expect(bucket.requests).toHaveLength(2);
    expect(check.stats().heads[outcome]).toBe(2);
  });

  it('answers a non-standard status as unknown', async () => {
    const bucket = track(await startRawBucket('odd', (socket) => socket.write('HTTP/1.1 799 Odd\r\nContent-Length: 0\r\n\r\n')));
    const check = checker();
    expect(await check.check(bucket.bucket, digest(1))).toBe('unknown');
    expect(check.stats().heads.status_other).toBe(1);
  });

  it.each([301, 302, 307])('never follows a %i redirect and never takes it for presence', async (status) => {
    const elsewhere = track(await startHttpBucket('elsewhere', { status: () => 200 }));
    const bucket = track(
      await startHttpBucket('wrong-region', { status: () => status, headers: (path) => ({ location: elsewhere.url + path }) }),
    );
    const check = checker();
    expect(await check.check(bucket.bucket, digest(1))).toBe('unknown');
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
    expect(await check.check(bucket.bucket, digest(1))).toBe('unknown');
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
    expect(await check.check(bucketConfig('ftp', 'ftp://127.0.0.1:1'), digest(1))).toBe('unknown');
    expect(await check.check(bucketConfig('junk', 'not a url'), digest(1))).toBe('unknown');
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
