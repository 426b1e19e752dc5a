import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's collection function (`node --expose-gc`), with the options node 20 and later take. */
type Collector = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

/**
 * node 24's V8 keeps the pages a collection emptied resident: after an ordinary (even a forced)
 * collection, a worker that reloaded 100 times held 7-9 MB more anonymous memory than after
 * one reload, with its heap flat. Only a memory-reducing collection hands them back, and V8's
 * own memory reducer never runs one in a server: it estimates the allocation rate at each
 * collection, so under traffic it is "high", and once idle no collection comes to lower it.
 * A retired generation is the moment a process knows most of its heap just became garbage,
 * so that is when it asks for one.
 */
let collector: Collector | undefined;

/** `gc` from --expose-gc, or the same function taken from a fresh context with the flag set for just that context. */
function memoryCollector(): Collector | undefined {
  if (collector !== undefined) return collector;
  const exposed = (globalThis as { gc?: Collector }).gc;
  if (typeof exposed === 'function') return (collector = exposed);
  try {
    setFlagsFromString('--expose-gc');
    const taken = runInNewContext('gc') as unknown;
    if (typeof taken === 'function') collector = taken as Collector;
  } catch {
    // A node without the flag: memory is then given back whenever V8 decides.
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return collector;
}

/**
 * node 20's V8 (11.3) collects almost nothing when gc() is given options, so it gets the plain
 * full collection (its reload figures held the issue's bounds without any release).
 */
const TAKES_OPTIONS = Number(process.versions.v8.split('.')[0]) >= 12;

/** Whether a release is queued: a burst of retirements is answered by one collection. */
let queued = false;
let releases = 0;

/** Collections run by this module since the process started. */
export function memoryReleases(): number {
  return releases;
}

/** Runs the memory-reducing collection now; returns how many milliseconds it paused the process. */
export function releaseMemoryNow(): number | undefined {
  const collect = memoryCollector();
  if (collect === undefined) return undefined;
  const started = performance.now();
  releases++;
  if (TAKES_OPTIONS) collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else collect();
  return performance.now() - started;
}

/**
 * After a runtime generation is retired: one memory-reducing collection on the next turn of
 * the event loop, outside the request that retired it, however many retire in the same turn.
 * For a process that answers no requests itself (the --workers primary).
 */
export function releaseRetiredMemory(): void {
  if (queued) return;
  queued = true;
  setImmediate(() => {
    queued = false;
    releaseMemoryNow();
  }).unref();
}

/** How long a release waits for a request before it runs anyway (an idle process). */
const REQUEST_WAIT_MS = 1000;
let awaitingRequest = false;
let requestWait: NodeJS.Timeout | undefined;

/**
 * The same release for a process that answers requests, run just after the next one started.
 * A memory-reducing collection drops every object shape with no live instance, whatever
 * `--retain-maps-for-n-gc` says (v8-flags.ts), and requests that come after it run through
 * caches gone polymorphic: callgrind, node 24, a warm S3 blob redirect after three such
 * collections run from a fresh turn of the event loop, 96.8k instructions a request against
 * 73.9k fresh. Run while a request's objects are alive (its message, response, socket and
 * queued ticks), the shapes they use survive: 75.6k.
 */
export function releaseRetiredMemoryAtNextRequest(): void {
  if (awaitingRequest) return;
  awaitingRequest = true;
  requestWait = setTimeout(releaseAwaited, REQUEST_WAIT_MS).unref();
}

/** The public listener calls this as each request starts: a waiting release then runs once the request's turn is done. */
export function requestStarted(): void {
  if (awaitingRequest) process.nextTick(releaseAwaited);
}

function releaseAwaited(): void {
  if (!awaitingRequest) return;
  awaitingRequest = false;
  clearTimeout(requestWait);
  releaseMemoryNow();
}
