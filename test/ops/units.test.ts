import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fullBucket, takeToken, TOKEN_UNITS } from '../../src/ops/token-bucket.js';
import { clientKey, limiterFor, RateLimiter } from '../../src/ops/rate-limit.js';
import { changedFields, defaultGraceMs } from '../../src/ops/reload.js';
import type { Runtime } from '../../src/server/runtime.js';

const LIMITS = { per_ip_rps: 2, burst: 3, max_clients: 100 };

describe('token bucket', () => {
  it('lets exactly `burst` requests through at once, then says how long to wait to the millisecond', () => {
    const rule = { rps: 2, burst: 3 };
    const state = fullBucket(rule, 0);
    expect([takeToken(state, rule, 0), takeToken(state, rule, 0), takeToken(state, rule, 0)]).toEqual([0, 0, 0]);
    // 2 tokens per second: the next one is 500 ms away.
    expect(takeToken(state, rule, 0)).toBe(500);
    expect(takeToken(state, rule, 499)).toBe(1);
    expect(takeToken(state, rule, 500)).toBe(0);
    expect(takeToken(state, rule, 500)).toBe(500);
  });

  it('never refills past the burst, and a clock going backwards refills nothing', () => {
    const rule = { rps: 10, burst: 2 };
    const state = fullBucket(rule, 1000);
    takeToken(state, rule, 1000);
    takeToken(state, rule, 1000);
    expect(takeToken(state, rule, 10)).toBe(100);
    expect(state.units).toBe(0);
    takeToken(state, rule, 1_000_000);
    expect(state.units).toBe(1 * TOKEN_UNITS);
  });

  it('over any request schedule, allows at most burst + rps x elapsed and waits exactly as long as it says', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
        (rps, burst, gaps) => {
          const rule = { rps, burst };
          const state = fullBucket(rule, 0);
          let now = 0;
          let allowed = 0;
          for (const gap of gaps) {
            now += gap;
            const wait = takeToken(state, rule, now);
            if (wait === 0) allowed++;
            else {
              // Exact: one millisecond early is still refused, on time is allowed.
              const probe = { ...state };
              if (wait > 1) expect(takeToken({ ...probe }, rule, now + wait - 1)).toBeGreaterThan(0);
              expect(takeToken({ ...probe }, rule, now + wait)).toBe(0);
            }
          }
          expect(allowed * 1000).toBeLessThanOrEqual(burst * 1000 + rps * now);
        },
      ),
    );
  });
});

describe('per-client rate limiter', () => {
  it('keeps one bucket per IPv4 address and per IPv6 /64, with an injectable clock', () => {
    let now = 0;
    const limiter = new RateLimiter(LIMITS, () => now);
    for (let i = 0; i < 3; i++) expect(limiter.wait('192.0.2.1')).toBe(0);
    expect(limiter.wait('192.0.2.1')).toBe(0.5);
    expect(limiter.wait('192.0.2.2')).toBe(0);
    for (let i = 0; i < 3; i++) expect(limiter.wait(`2001:db8:1:2::${i + 1}`)).toBe(0);
    // Another address of the same /64 shares the bucket; another /64 does not.
    expect(limiter.wait('2001:db8:1:2:ffff::9')).toBe(0.5);
    expect(limiter.wait('2001:db8:1:3::1')).toBe(0);
    now = 500;
    expect(limiter.wait('192.0.2.1')).toBe(0);
  });

  it('holds at most max_clients buckets, forgetting the least recently seen', () => {
    const limiter = new RateLimiter({ per_ip_rps: 1, burst: 1, max_clients: 2 }, () => 0);
    expect(limiter.wait('10.0.0.1')).toBe(0);
    expect(limiter.wait('10.0.0.2')).toBe(0);
    expect(limiter.wait('10.0.0.1')).toBe(1);
    expect(limiter.wait('10.0.0.3')).toBe(0);
    expect(limiter.size).toBe(2);
    // 10.0.0.2 was evicted: it starts again with a full bucket.
    expect(limiter.wait('10.0.0.2')).toBe(0);
  });

  it('normalises IPv6 keys to their /64', () => {
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('203.0.113.9')).toBe('203.0.113.9');
  });

  it('gives a generation a limiter only while per_ip_rps > 0, and keeps it (with its clients) across unchanged limits', () => {
    const off = { per_ip_rps: 0, burst: 0, max_clients: 10 };
    const on = { per_ip_rps: 1, burst: 1, max_clients: 10 };
    expect(limiterFor(off, undefined, () => 0)).toBeUndefined();
    const first = limiterFor(on, undefined, () => 0);
    expect(first?.wait('10.0.0.1')).toBe(0);
    const kept = limiterFor(on, first, () => 0);
    expect(kept).toBe(first);
    expect(kept?.wait('10.0.0.1')).toBe(1);
    const changed = limiterFor({ ...on, burst: 2 }, first, () => 0);
    expect(changed).not.toBe(first);
    expect(changed?.size).toBe(0);
    expect(limiterFor(off, first)).toBeUndefined();
  });
});

describe('reload helpers', () => {
  it('names the listener fields a reload cannot apply', () => {
    expect(changedFields('listen', { host: 'a', port: 1, max: 2 }, { host: 'a', port: 2, max: 3 })).toEqual(['listen.port', 'listen.max']);
    expect(changedFields('admin', { host: 'a', port: 1 }, { host: 'a', port: 1 })).toEqual([]);
  });

  it('keeps a replaced runtime open for the slowest request it may still serve', () => {
    const rt = { config: { blobs: { candidates: 2, check: { timeout_ms: 500 } } } } as unknown as Runtime;
    expect(defaultGraceMs(rt)).toBe(2 * 500 + 1000);
  });
});
