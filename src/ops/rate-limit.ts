import { LRUCache } from 'lru-cache';
import type { Config } from '../config/types.js';
import type { AppHooks } from '../server/app.js';
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
 * Installs the app's rate-limit hook only while `limits.per_ip_rps` is above 0, so that with
 * limits off a request pays one property check. New limits (a reload) start from full buckets.
 */
export class LimitSwitch {
  private limiter: RateLimiter | undefined;

  constructor(
    private readonly hooks: AppHooks,
    private readonly now: MillisecondClock = monotonicMs,
  ) {}

  apply(limits: Config['limits']): void {
    if (limits.per_ip_rps <= 0) {
      this.limiter = undefined;
      this.hooks.rateLimit = undefined;
      return;
    }
    if (this.limiter?.sameLimits(limits)) return;
    const limiter = new RateLimiter(limits, this.now);
    this.limiter = limiter;
    this.hooks.rateLimit = (ip) => limiter.wait(ip);
  }

  /** Clients tracked now, or undefined when limits are off. */
  get clients(): number | undefined {
    return this.limiter?.size;
  }
}
