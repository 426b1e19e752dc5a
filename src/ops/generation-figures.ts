import { Counter, Gauge, type Registry } from './prom-client.js';
import type { ExistenceChecker, HealthState, TransitionHook } from '../blobs/types.js';
import type { Config } from '../config/types.js';
import type { CacheFigures, NamedCacheFigures } from '../cache-figures.js';

export const PREFIX = 'registry_edge_';

const HEALTH_STATES: readonly HealthState[] = ['closed', 'half-open', 'open'];

/** What the scrape-time figures read from the runtime generation requests use now. */
export interface MeteredGeneration {
  readonly config: Pick<Config, 'buckets' | 'metrics'>;
  readonly checker: ExistenceChecker;
  readonly geo: { readonly rangesLoaded: boolean; readonly rangesPublishedAt: Date | undefined };
  readonly limiter: { readonly size: number } | undefined;
  /** Size of every request-path cache (absent in stand-ins that have none). */
  caches?(): readonly NamedCacheFigures[];
}

const CACHE_SIZE_GAUGES: ReadonlyArray<readonly [keyof CacheFigures, string, string]> = [
  ['entries', 'cache_entries', 'Entries held now in each request-path cache or memo (summed over workers).'],
  ['bytes', 'cache_bytes', 'Estimated heap bytes held now by each request-path cache or memo (summed over workers).'],
  ['maxEntries', 'cache_max_entries', 'Entries each request-path cache or memo may hold, per process (summed over workers).'],
  ['maxBytes', 'cache_max_bytes', 'Heap bytes each request-path cache or memo may hold, per process, as in docs/security.md (summed over workers).'],
];

/** The `cache_*{cache}` gauges: read from the generation in use when Prometheus scrapes, never per request. */
function registerCacheSizes(registry: Registry, current: () => MeteredGeneration | undefined): void {
  for (const [field, name, help] of CACHE_SIZE_GAUGES) {
    const gauge: Gauge<'cache'> = new Gauge({
      name: `${PREFIX}${name}`,
      help,
      labelNames: ['cache'],
      registers: [registry],
      collect: () => {
        gauge.reset();
        for (const figures of current()?.caches?.() ?? []) gauge.set({ cache: figures.cache }, figures[field]);
      },
    });
  }
}

/** A gauge whose value is computed when Prometheus scrapes. */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number, aggregator: 'sum' | 'min' | 'max' = 'sum'): void {
  const gauge: Gauge = new Gauge({ name: `${PREFIX}${name}`, help, registers: [registry], aggregator, collect: () => gauge.set(read()) });
}

/** A counter whose total is kept elsewhere (a sink, a pool) and read when Prometheus scrapes. */
export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number): void {
  const counter: Counter = new Counter({
    name: `${PREFIX}${name}`,
    help,
    registers: [registry],
    collect: () => {
      counter.reset();
      counter.inc(read());
    },
  });
}

/** Bucket health, geo data and rate-limit figures, read from the generation in use at scrape time. */
export function registerGenerationFigures(registry: Registry, current: () => MeteredGeneration | undefined): void {
  registerCacheSizes(registry, current);
  const registers = [registry];
  const bucketState: Gauge<'bucket' | 'state'> = new Gauge({
    name: `${PREFIX}bucket_state`,
    help: 'Circuit-breaker state of each configured bucket: 1 for the current state (with --workers, the number of workers seeing it).',
    labelNames: ['bucket', 'state'],
    registers,
    collect: () => {
      bucketState.reset();
      const rt = current();
      if (rt === undefined) return;
      const health = rt.checker.stats().buckets;
      for (const bucket of rt.config.buckets) {
        const state = health[bucket.name]?.state ?? 'closed';
        for (const candidate of HEALTH_STATES) bucketState.set({ bucket: bucket.name, state: candidate }, candidate === state ? 1 : 0);
      }
    },
  });
  const geo = () => current()?.geo;
  scrapedGauge(registry, 'geo_ranges_loaded', '1 when the cloud ranges MMDB is loaded, else 0 (clients are then located by geography only).', () => (geo()?.rangesLoaded === true ? 1 : 0), 'min');
  const rangesAge: Gauge = new Gauge({
    name: `${PREFIX}geo_ranges_age_seconds`,
    help: "Seconds since the providers published the loaded cloud ranges (the oldest feed's own time; absent when none are loaded).",
    registers,
    aggregator: 'max',
    collect: () => {
      const publishedAt = geo()?.rangesPublishedAt;
      // remove(), not reset(): a gauge without labels would still show 0 after a reset.
      if (publishedAt === undefined) rangesAge.remove();
      else rangesAge.set(Math.max(0, (Date.now() - publishedAt.getTime()) / 1000));
    },
  });
  scrapedGauge(
    registry,
    'rate_limit_clients',
    'Client addresses (IPv6: /64 prefixes) the rate limiter currently tracks; 0 when limits are off.',
    () => current()?.limiter?.size ?? 0,
  );
}

/** The moves a breaker makes (health.ts): each configured bucket exports all four from 0, so rate() and alerts see a first one. */
const TRANSITIONS: ReadonlyArray<readonly [HealthState, HealthState]> = [
  ['closed', 'open'],
  ['open', 'half-open'],
  ['half-open', 'closed'],
  ['half-open', 'open'],
];

/**
 * `bucket_state_transitions_total{bucket,from,to}`: counted by the checker's hook, which runs only
 * when a breaker moves, so it survives reloads (a new generation starts closed, and counts on).
 */
export function registerBreakerTransitions(registry: Registry, current: () => MeteredGeneration | undefined): TransitionHook {
  const counter: Counter<'bucket' | 'from' | 'to'> = new Counter({
    name: `${PREFIX}bucket_state_transitions_total`,
    help: 'Circuit-breaker state changes of each bucket, from and to closed, open, half-open (with --workers, summed over workers).',
    labelNames: ['bucket', 'from', 'to'],
    registers: [registry],
    collect: () => {
      for (const bucket of current()?.config.buckets ?? []) for (const [from, to] of TRANSITIONS) counter.inc({ bucket: bucket.name, from, to }, 0);
    },
  });
  return (bucket, from, to) => counter.inc({ bucket, from, to });
}
