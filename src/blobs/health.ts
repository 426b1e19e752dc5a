import type { HealthState } from './types.js';

/**
 * Per-bucket circuit breaker as pure functions of (state, event, clock), so every transition
 * can be tested without a network and the checker only stores the returned value.
 */

export interface BucketHealth {
  readonly state: HealthState;
  readonly failures: number;
  /** When an open bucket may be probed again (same clock as `now`). */
  readonly retryAt: number;
}

export interface HealthPolicy {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  cooldownMs: number;
}

export const HEALTHY: BucketHealth = Object.freeze({ state: 'closed', failures: 0, retryAt: 0 });

/** Whether requests may use the bucket: closed, or open with its cool-down over (probe slot free). */
export function admits(health: BucketHealth, now: number): boolean {
  if (health.state === 'closed') return true;
  return health.state === 'open' && now >= health.retryAt;
}

/** An open bucket whose cool-down is over: the next check is the single half-open probe. */
export function probeDue(health: BucketHealth, now: number): boolean {
  return health.state === 'open' && now >= health.retryAt;
}

export function beginProbe(health: BucketHealth): BucketHealth {
  return { state: 'half-open', failures: health.failures, retryAt: health.retryAt };
}

/**
 * The state after a HEAD finished. `answered` is true when the bucket gave a definite
 * present/absent answer. Results of HEADs started before the breaker opened are ignored
 * while it is open: only the probe decides when to close it again.
 */
export function afterHead(
  health: BucketHealth,
  answered: boolean,
  wasProbe: boolean,
  now: number,
  policy: HealthPolicy,
): BucketHealth {
  if (wasProbe) {
    if (answered) return HEALTHY;
    return { state: 'open', failures: health.failures + 1, retryAt: now + policy.cooldownMs };
  }
  if (health.state !== 'closed') return health;
  if (answered) return health.failures === 0 ? health : HEALTHY;
  const failures = health.failures + 1;
  if (failures >= policy.failureThreshold) {
    return { state: 'open', failures, retryAt: now + policy.cooldownMs };
  }
  return { state: 'closed', failures, retryAt: 0 };
}
