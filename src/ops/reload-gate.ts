/**
 * Runs `task` at most once at a time with at most one run waiting: a call while one runs joins
 * the run that starts after it (every caller then sees a reload that began after it asked),
 * and any later call joins that same waiting run. However many callers pile up, at most two
 * runs happen for them, so a loop of POST /reload cannot stack rebuilds.
 */
export function joinedRuns<T>(task: (reason: string) => Promise<T>): (reason: string) => Promise<T> {
  let running: Promise<T> | undefined;
  let waiting: Promise<T> | undefined;
  const start = (reason: string): Promise<T> => {
    const run = task(reason).finally(() => {
      if (running === run) running = undefined;
    });
    running = run;
    return run;
  };
  return (reason) => {
    if (waiting !== undefined) return waiting;
    if (running === undefined) return start(reason);
    const next = running
      .catch(() => undefined)
      .then(() => {
        waiting = undefined;
        return start(reason);
      });
    waiting = next;
    return next;
  };
}
