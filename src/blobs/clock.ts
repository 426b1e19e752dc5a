import { performance } from 'node:perf_hooks';

/**
 * A millisecond clock that reads the system time only on a timer. Reading the time costs
 * about as much as a warm cache lookup on virtual machines, and TTLs of seconds or minutes
 * do not need better than `resolutionMs`.
 */
export interface CoarseClock {
  now(): number;
  stop(): void;
}

export function coarseClock(resolutionMs: number): CoarseClock {
  let current = performance.now();
  const timer = setInterval(() => {
    current = performance.now();
  }, resolutionMs);
  // Only the cache reads it; it must never keep a process alive.
  timer.unref();
  return {
    now: () => current,
    stop: () => clearInterval(timer),
  };
}
