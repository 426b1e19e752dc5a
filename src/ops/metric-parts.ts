import { Counter, type Registry } from './prom-client.js';
import { PREFIX, scrapedCounter } from './generation-figures.js';

// Metrics defined outside EdgeMetrics: those of the process that runs a refresh or the admin
// listener (with --workers, the primary), and helpers the request counters share.

/**
 * Started with `node --expose-gc` (memory investigations, the reload memory test): a scrape
 * first collects garbage, so the memory figures show what is retained, not what is uncollected.
 */
export function collectGarbageIfExposed(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

/** What a serving process holds in memory across reloads. */
export interface GenerationHoldings {
  generations(): number;
  fileBytes(): Iterable<[string, number]>;
}

export interface MetricsOptions {
  version: string;
  /** Node's process metrics (CPU, memory, event loop lag, GC); off in tests that make many registries. */
  processMetrics?: boolean;
}

/** How a reload or a refresh ended. */
export type Outcome = 'success' | 'failure';

/** `geo_refreshes_total`, in the registry of whichever process runs the refresh. */
export function geoRefreshCounter(registry: Registry): (result: Outcome) => void {
  const counter = new Counter({
    name: `${PREFIX}geo_refreshes_total`,
    help: 'Background cloud-range feed refreshes (geo.refresh) by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  return (result) => counter.inc({ result });
}

/** `admin_unauthorized_total`, in the registry of the process that runs the admin listener. */
export function adminUnauthorizedCounter(registry: Registry): () => void {
  const counter = new Counter({
    name: `${PREFIX}admin_unauthorized_total`,
    help: 'Admin requests refused with 401 for a missing or wrong token (admin.token_file).',
    registers: [registry],
  });
  counter.inc(0);
  return () => counter.inc();
}

/** The fallback reasons as a bounded label: the log line's reason names a bucket and a cause, the label only the kind. */
export function fallbackReason(reason: string): string {
  if (reason.startsWith('check failed')) return 'check_failed';
  switch (reason) {
    case 'absent in every candidate':
      return 'absent';
    case 'bucket unhealthy':
      return 'bucket_unhealthy';
    case 'no candidate bucket':
      return 'no_candidate';
    default:
      return 'other';
  }
}


/** `log_lines_dropped_total`: lines the stdout sink dropped because its reader stalled (read when scraped). */
export function logLinesDroppedCounter(registry: Registry, read: () => number): void {
  scrapedCounter(registry, 'log_lines_dropped_total', 'Log lines dropped because stdout did not keep up (a stalled log collector); requests are answered regardless.', read);
}
