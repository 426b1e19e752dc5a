/**
 * When to restart a worker that died. A worker that ran for a while died of something rare and
 * comes back at once; one that keeps dying soon after starting is in a crash loop, and each
 * further restart waits twice as long (up to a ceiling) so the loop cannot eat the machine.
 */
export interface RestartPolicyOptions {
  /** Delay after the first quick crash. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** A worker that lived at least this long was healthy: its crash streak starts over. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = { firstDelayMs: 100, maxDelayMs: 30_000, stableAfterMs: 10_000 };

/** Milliseconds to wait before restarting, given how long the worker lived and the crash streak before it. */
export function restartDelay(uptimeMs: number, streak: number, policy: RestartPolicyOptions = DEFAULT_RESTART_POLICY): { delayMs: number; streak: number } {
  if (uptimeMs >= policy.stableAfterMs) return { delayMs: 0, streak: 0 };
  const next = streak + 1;
  return { delayMs: Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (next - 1)), streak: next };
}
