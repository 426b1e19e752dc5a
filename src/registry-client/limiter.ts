/**
 * `origin_rps`: a token bucket in front of every request to the origin, with the same integer
 * arithmetic as the front door's per-client limiter. Waiting callers are served in order.
 */
import { fullBucket, takeToken, type BucketRule, type BucketState } from '../ops/token-bucket.js';

export interface LimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: LimiterClock = {
  now: () => Math.floor(performance.now()),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class RequestLimiter {
  private readonly rule: BucketRule | undefined;
  private readonly state: BucketState | undefined;
  private queue: Promise<void> = Promise.resolve();

  /** `rps` 0 = unbounded. A burst of one second's worth lets a fresh run start at full rate. */
  constructor(rps: number, private readonly clock: LimiterClock = realClock) {
    if (rps > 0) {
      this.rule = { rps, burst: rps };
      this.state = fullBucket(this.rule, clock.now());
    }
  }

  /** Resolves when one more request may be sent. */
  acquire(): Promise<void> {
    const { rule, state } = this;
    if (rule === undefined || state === undefined) return Promise.resolve();
    const turn = this.queue.then(async () => {
      for (;;) {
        const waitMs = takeToken(state, rule, this.clock.now());
        if (waitMs === 0) return;
        await this.clock.sleep(waitMs);
      }
    });
    this.queue = turn;
    return turn;
  }
}
