export interface GateOptions {
  /** Least time between the starts of two runs; a call sooner waits for it, joined with the others. */
  minGapMs?: number;
  /** Milliseconds on a monotonic clock (tests inject one). */
  now?: () => number;
  /** Resolves after `ms` (tests inject one). */
  delay?: (ms: number) => Promise<void>;
}

const realDelay = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * Runs `task` at most once at a time with at most one run waiting: a call while one runs (or
 * within `minGapMs` of the last start) joins the run that starts after it, so every caller
 * sees a run that began after it asked, and any later call joins that same waiting run.
 * However many callers pile up at once, at most two runs happen for them, so a loop of
 * POST /reload cannot stack rebuilds.
 */
export function joinedRuns<T>(task: (reason: string) => Promise<T>, options: GateOptions = {}): (reason: string) => Promise<T> {
  const { minGapMs = 0, now = () => performance.now(), delay = realDelay } = options;
  let running: Promise<unknown> = Promise.resolve();
  let waiting: Promise<T> | undefined;
  let lastStart = Number.NEGATIVE_INFINITY;
  const start = (reason: string): Promise<T> => {
    lastStart = now();
    const run = task(reason);
    running = run.catch(() => undefined);
    return run;
  };
  return (reason) => {
    if (waiting !== undefined) return waiting;
    const next = running.then(async () => {
      const wait = lastStart + minGapMs - now();
      if (wait > 0) await delay(wait);
      waiting = undefined;
      return start(reason);
    });
    waiting = next;
    return next;
  };
}
