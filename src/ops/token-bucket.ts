/**
 * Token bucket arithmetic in integers, so that "exactly N requests then a 429" holds without
 * floating-point drift. One token is TOKEN_UNITS units; with a rate of `rps` tokens per second
 * and a millisecond clock the refill is exactly `rps` units per millisecond.
 */
export const TOKEN_UNITS = 1000;

export interface BucketState {
  /** Units currently available, 0..burst*TOKEN_UNITS. */
  units: number;
  /** Clock reading (integer milliseconds) at which `units` was last brought up to date. */
  at: number;
}

export interface BucketRule {
  /** Sustained rate, tokens per second (a positive integer). */
  rps: number;
  /** Capacity in tokens (a positive integer): the requests a quiet client may send at once. */
  burst: number;
}

export function fullBucket(rule: BucketRule, now: number): BucketState {
  return { units: rule.burst * TOKEN_UNITS, at: now };
}

/**
 * Takes one token if there is one. Returns 0 when the request may pass, else the milliseconds
 * until a token will be available. Mutates `state`; a clock that goes backwards refills nothing.
 */
export function takeToken(state: BucketState, rule: BucketRule, now: number): number {
  const capacity = rule.burst * TOKEN_UNITS;
  if (now > state.at) {
    state.units = Math.min(capacity, state.units + (now - state.at) * rule.rps);
    state.at = now;
  }
  if (state.units >= TOKEN_UNITS) {
    state.units -= TOKEN_UNITS;
    return 0;
  }
  return Math.ceil((TOKEN_UNITS - state.units) / rule.rps);
}
