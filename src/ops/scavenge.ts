import { setFlagsFromString } from 'node:v8';

/**
 * Whether node was started with `--parallel-scavenge` or `--no-parallel-scavenge` (on its
 * command line or in NODE_OPTIONS): then the operator chose, and `serve` leaves it alone.
 */
export function parallelScavengeChosen(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const flags = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return flags.some((flag) => /^--(no-)?parallel[-_]scavenge(=|$)/.test(flag));
}

/**
 * Young-generation collections (scavenges) run on the main thread alone. A request leaves only
 * a few kilobytes alive when one comes (the in-flight requests' objects), so there is almost
 * nothing to share out, while V8 sizes its helper tasks by the young generation's capacity
 * (8-16 MB here under load, so several tasks). Waking and joining them cost more than the
 * copying: on one core (the bench pins the server to one, as a one-CPU container does) a
 * scavenge paused the process 0.3 ms at the median and 0.5 ms at p90 with helpers, 0.2 and
 * 0.3 ms without, and the helpers' own CPU time (0.15 ms a scavenge) went too (issue 20,
 * S3 at a fixed rate, --trace-gc-nvp). V8 reads the flag at every scavenge, so setting it once
 * the process runs takes effect.
 */
export function scavengeOnMainThread(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): boolean {
  if (parallelScavengeChosen(execArgv, nodeOptions)) return false;
  setFlagsFromString('--no-parallel-scavenge');
  return true;
}
