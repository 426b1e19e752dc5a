import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fullBucket, takeToken, TOKEN_UNITS } from '../../src/ops/token-bucket.js';
import { clientKey, LimitSwitch, RateLimiter } from '../../src/ops/rate-limit.js';
import { restartDelay, DEFAULT_RESTART_POLICY } from '../../src/ops/restart-policy.js';
import { changedFields, defaultGraceMs } from '../../src/ops/reload.js';
import type { AppHooks } from '../../src/server/app.js';
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

  it('installs the app hook only while per_ip_rps > 0, and keeps state across an unchanged reload', () => {
    const hooks: AppHooks = {};
    const limits = new LimitSwitch(hooks, () => 0);
    limits.apply({ per_ip_rps: 0, burst: 0, max_clients: 10 });
    expect(hooks.rateLimit).toBeUndefined();
    limits.apply({ per_ip_rps: 1, burst: 1, max_clients: 10 });
    const rt = {} as Runtime;
    expect(hooks.rateLimit?.('10.0.0.1', rt)).toBe(0);
    limits.apply({ per_ip_rps: 1, burst: 1, max_clients: 10 });
    expect(hooks.rateLimit?.('10.0.0.1', rt)).toBe(1);
    expect(limits.clients).toBe(1);
    limits.apply({ per_ip_rps: 0, burst: 0, max_clients: 10 });
    expect(hooks.rateLimit).toBeUndefined();
    expect(limits.clients).toBeUndefined();
  });
});

describe('worker restart backoff', () => {
  it('restarts a long-lived worker at once and doubles the delay of a crash loop up to the ceiling', () => {
    expect(restartDelay(60_000, 5)).toEqual({ delayMs: 0, streak: 0 });
    let streak = 0;
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      const next = restartDelay(50, streak);
      delays.push(next.delayMs);
      streak = next.streak;
    }
    expect(delays.slice(0, 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(Math.max(...delays)).toBe(DEFAULT_RESTART_POLICY.maxDelayMs);
    expect(delays.at(-1)).toBe(DEFAULT_RESTART_POLICY.maxDelayMs);
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
