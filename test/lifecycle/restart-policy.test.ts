import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, restartDelay } from '../../src/lifecycle/restart-policy.js';

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
