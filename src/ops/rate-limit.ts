import { LRUCache } from 'lru-cache';
import type { Config } from '../config/types.js';
import { ipv6Head } from '../net/ip.js';
import { fullBucket, takeToken, type BucketRule, type BucketState } from './token-bucket.js';

export type MillisecondClock = () => number;

/** Integer milliseconds from a monotonic source: wall-clock steps must not refill buckets. */
export const monotonicMs: MillisecondClock = () => Math.floor(performance.now());

/**
 * The identity a limit applies to. An IPv6 host usually owns a whole /64 and can pick any
 * address in it, so per-address limits would be no limit at all; IPv4 addresses stand alone.
 */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  return `${ipv6Head(ip, 4)}::/64`;
}

/**
 * Per-client token buckets, at most `max_clients` of them: the least recently seen client is
 * forgotten first, which can only make the limiter more lenient (a forgotten client starts with
 * a full bucket), never stricter.
 */
export class RateLimiter {
  private readonly rule: BucketRule;
  private readonly buckets: LRUCache<string, BucketState>;

  constructor(
    readonly limits: Config['limits'],
    private readonly now: MillisecondClock = monotonicMs,
  ) {
    this.rule = { rps: limits.per_ip_rps, burst: Math.max(1, limits.burst) };
    this.buckets = new LRUCache<string, BucketState>({ max: limits.max_clients });
  }

  /** Seconds the client must wait before its next request is allowed; 0 = allowed now (and counted). */
  wait(ip: string): number {
    const key = clientKey(ip);
    const now = this.now();
    let state = this.buckets.get(key);
    if (state === undefined) {
      state = fullBucket(this.rule, now);
      this.buckets.set(key, state);
    }
    return takeToken(state, this.rule, now) / 1000;
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  sameLimits(limits: Config['limits']): boolean {
    return (
      limits.per_ip_rps === this.limits.per_ip_rps && limits.burst === this.limits.burst && limits.max_clients === this.limits.max_clients
    );
  }
}

/**
 * The limiter a runtime generation carries: none at all while `limits.per_ip_rps` is 0, so that
 * with limits off a request pays one property check. A reload with unchanged limits keeps the
 * previous generation's limiter (and every client's bucket); new limits start from full buckets.
 */
export function limiterFor(limits: Config['limits'], previous: RateLimiter | undefined, now: MillisecondClock = monotonicMs): RateLimiter | undefined {
  if (limits.per_ip_rps <= 0) return undefined;
  return previous?.sameLimits(limits) ? previous : new RateLimiter(limits, now);
}
