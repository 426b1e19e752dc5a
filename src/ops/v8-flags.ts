import { setFlagsFromString } from 'node:v8';

/**
 * Whether node was started with `--NAME`, `--no-NAME` or `--NAME=...` (on its command line or in
 * NODE_OPTIONS; V8 takes `_` for `-`): then the operator chose, and `serve` leaves it alone.
 */
export function v8FlagChosen(name: string, execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const pattern = new RegExp(`^--(no-)?${name.replaceAll('-', '[-_]')}(=|$)`);
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((flag) => pattern.test(flag));
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
  if (v8FlagChosen('parallel-scavenge', execArgv, nodeOptions)) return false;
  setFlagsFromString('--no-parallel-scavenge');
  return true;
}

/**
 * Old-space collections a map (an object shape) that optimised code relies on survives without
 * a live object of that shape: for the life of the process, in effect.
 */
export const MAP_RETENTION_COLLECTIONS = 1_000_000;

/**
 * Object shapes survive full collections. Between two requests, the shapes of what each request
 * makes (its IncomingMessage and ServerResponse, hono's Context, node's nextTick objects) often
 * have no live instance; V8 keeps such a shape for two full collections only (its default), then
 * drops it, and the next request builds new ones behind inline caches that stay polymorphic or
 * generic. callgrind, instructions a warm S3 blob redirect costs (compiling left out) after
 * three full collections, against a fresh process: registry-edge 117.5k against 79.0k on node
 * 20 and 96.8k against 73.9k on node 24; a bare hono app 99.3k against 61.3k (node 20). With
 * this flag: 80.3k, 75.2k and 61.2k. V8 retains only shapes that optimised code embedded, so
 * what it keeps is bounded by the code, not by traffic. Collections that reduce memory (a
 * reload's release on node 24, V8's memory reducer) drop the shapes whatever the flag says:
 * memory-release.ts times the release for that.
 */
export function retainShapesAcrossCollections(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): boolean {
  if (v8FlagChosen('retain-maps-for-n-gc', execArgv, nodeOptions)) return false;
  setFlagsFromString(`--retain-maps-for-n-gc=${MAP_RETENTION_COLLECTIONS}`);
  return true;
}
