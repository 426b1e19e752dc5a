import type { Sample } from './prometheus-text.js';
import { maybe, sum, total, Window, type Filter, type Rate } from './sample-window.js';

/*
 * The status page's data: one JSON snapshot built from the same samples `/metrics` exports, so
 * the page can never disagree with Prometheus. Built only when someone asks for it (the page
 * polls while it is visible), so nobody looking costs nothing. Rates are measured between this
 * scrape and an earlier one (`SnapshotBaseline` keeps it); the first snapshot has totals only.
 */

/** The admin paths the page uses. */
export const STATUS_PAGE_PATH = '/';
export const STATUS_SNAPSHOT_PATH = '/debug/status';
export const ROUTE_EXPLORER_PATH = '/debug/route';

/** Samples of one scrape and when it was taken (milliseconds, any monotonic or wall clock). */
export interface SampleSet {
  samples: readonly Sample[];
  atMs: number;
}

export type { Rate };

export type BucketState = 'closed' | 'half-open' | 'open' | 'unknown';

export interface BucketStatus {
  name: string;
  /** Worst state seen (with --workers, any worker). */
  state: BucketState;
  /** How many processes see each state (1 for a single process). */
  workers_by_state: Record<string, number>;
  /** Breaker state changes (`bucket_state_transitions_total`); null when a scrape has none. */
  transitions: Rate | null;
  /** Existence HEADs by result. */
  checks: Array<{ result: string } & Rate>;
}

export interface StatusSnapshot {
  schema: 1;
  /** ISO time of the scrape. */
  generated_at: string;
  /** Seconds the rates are measured over; null on a first snapshot. */
  window_s: number | null;
  version: string | null;
  config_loaded_at: string | null;
  requests: { total: Rate; by_route_status: Array<{ route: string; status: string } & Rate> };
  buckets: BucketStatus[];
  existence_cache: {
    /** Hits over hits + misses, over the window when there is traffic in it, else since start. */
    hit_ratio: number | null;
    hit_ratio_over: 'window' | 'since_start';
    hits: Rate;
    misses: Rate;
    coalesced: number;
    skipped: number;
    overflow: number;
    entries: number;
    inflight: number;
  };
  blob_redirects: Array<{ provider: string; region: string; target: string } & Rate>;
  origin_fallbacks: {
    total: Rate;
    by_client: Array<{ provider: string; region: string } & Rate>;
    /** `metric`: counted per fallback by the server; `derived`: existence lookups that did not find the blob. */
    reasons_source: 'metric' | 'derived';
    by_reason: Array<{ reason: string } & Rate>;
  };
  reloads: { success: Rate; failure: Rate };
  geo: { ranges_loaded: boolean | null; ranges_age_s: number | null; refreshes: { success: number; failure: number } };
  caches: Array<{ name: string; entries: number | null; bytes: number | null; max_entries: number | null; max_bytes: number | null }>;
  rate_limit: { clients: number | null; refused: Rate };
}

const P = 'registry_edge_';
/** Metrics the model reads when the server exports them, by the issue that adds them. */
export const PLANNED_METRICS = {
  transitions: `${P}bucket_state_transitions_total`,
  fallbacks: `${P}origin_fallbacks_total`,
  cacheEntries: `${P}cache_entries`,
  cacheBytes: `${P}cache_bytes`,
  cacheMaxEntries: `${P}cache_max_entries`,
  cacheMaxBytes: `${P}cache_max_bytes`,
} as const;

const STATE_ORDER: readonly BucketState[] = ['open', 'half-open', 'closed'];
const DERIVED_REASONS: ReadonlyArray<[string, (s: Sample) => boolean, string]> = [
  ['absent', (s) => s.labels.result === 'absent', `${P}existence_checks_total`],
  ['check_failed', (s) => s.labels.result !== 'absent' && s.labels.result !== 'present', `${P}existence_checks_total`],
  ['bucket_cooling_down', () => true, `${P}existence_cache_skipped_total`],
  ['too_many_heads', () => true, `${P}existence_cache_overflow_total`],
];

function bucketStatus(w: Window): BucketStatus[] {
  const names = new Set((w.now.get(`${P}bucket_state`) ?? []).map((sample) => sample.labels.bucket ?? ''));
  const transitionsKnown = w.now.has(PLANNED_METRICS.transitions);
  return [...names].sort().map((name) => {
    const own: Filter = (sample) => sample.labels.bucket === name;
    const byState: Record<string, number> = {};
    for (const sample of w.now.get(`${P}bucket_state`) ?? []) if (own(sample) && sample.value > 0) byState[sample.labels.state ?? ''] = sample.value;
    const state = STATE_ORDER.find((candidate) => (byState[candidate] ?? 0) > 0) ?? 'unknown';
    return {
      name,
      state,
      workers_by_state: byState,
      transitions: transitionsKnown ? w.counter(PLANNED_METRICS.transitions, own) : null,
      checks: w.grouped(`${P}existence_checks_total`, ['result'], own),
    };
  });
}

function existenceCache(w: Window): StatusSnapshot['existence_cache'] {
  const hits = w.counter(`${P}existence_cache_hits_total`);
  const misses = w.counter(`${P}existence_cache_misses_total`);
  const windowed = hits.per_s !== null && misses.per_s !== null && hits.per_s + misses.per_s > 0;
  const ratio = (h: number, m: number): number | null => (h + m > 0 ? h / (h + m) : null);
  return {
    hit_ratio: windowed ? ratio(hits.per_s ?? 0, misses.per_s ?? 0) : ratio(hits.total, misses.total),
    hit_ratio_over: windowed ? 'window' : 'since_start',
    hits,
    misses,
    coalesced: sum(w.now, `${P}existence_cache_coalesced_total`),
    skipped: sum(w.now, `${P}existence_cache_skipped_total`),
    overflow: sum(w.now, `${P}existence_cache_overflow_total`),
    entries: sum(w.now, `${P}existence_cache_entries`),
    inflight: sum(w.now, `${P}existence_checks_inflight`),
  };
}

function originFallbacks(w: Window): StatusSnapshot['origin_fallbacks'] {
  const toOrigin: Filter = (sample) => sample.labels.target === 'origin';
  const counted = w.now.has(PLANNED_METRICS.fallbacks);
  const byReason = counted
    ? w.grouped(PLANNED_METRICS.fallbacks, ['reason'])
    : DERIVED_REASONS.map(([reason, filter, name]) => ({ reason, ...w.counter(name, filter) }));
  return {
    total: w.counter(`${P}blob_redirects_total`, toOrigin),
    by_client: w.grouped(`${P}blob_redirects_total`, ['provider', 'region'], toOrigin),
    reasons_source: counted ? 'metric' : 'derived',
    by_reason: byReason,
  };
}

function caches(w: Window): StatusSnapshot['caches'] {
  const byName = new Map<string, StatusSnapshot['caches'][number]>();
  const names = [PLANNED_METRICS.cacheEntries, PLANNED_METRICS.cacheBytes].flatMap((metric) => (w.now.get(metric) ?? []).map((s) => s.labels.cache ?? ''));
  for (const name of new Set(names)) {
    const own: Filter = (sample) => sample.labels.cache === name;
    byName.set(name, {
      name,
      entries: maybe(w.now, PLANNED_METRICS.cacheEntries, total, own),
      bytes: maybe(w.now, PLANNED_METRICS.cacheBytes, total, own),
      max_entries: maybe(w.now, PLANNED_METRICS.cacheMaxEntries, total, own),
      max_bytes: maybe(w.now, PLANNED_METRICS.cacheMaxBytes, total, own),
    });
  }
  // Until every cache reports its bytes, the two whose sizes are exported today.
  const existing: Array<[string, string]> = [
    ['existence', `${P}existence_cache_entries`],
    ['rate_limit', `${P}rate_limit_clients`],
  ];
  for (const [name, metric] of existing) {
    const entries = maybe(w.now, metric, total);
    if (!byName.has(name) && entries !== null) byName.set(name, { name, entries, bytes: null, max_entries: null, max_bytes: null });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function isoSeconds(seconds: number | null): string | null {
  return seconds === null || !Number.isFinite(seconds) ? null : new Date(seconds * 1000).toISOString();
}

/** The snapshot for `current`, with rates against `baseline` when one is given and older. */
export function buildStatusSnapshot(current: SampleSet, baseline?: SampleSet, wallClockMs: number = current.atMs): StatusSnapshot {
  const w = new Window(current, baseline);
  const versions = (w.now.get(`${P}build_info`) ?? []).filter((s) => s.value > 0).map((s) => s.labels.version ?? '');
  const loaded = maybe(w.now, `${P}geo_ranges_loaded`, (v) => Math.min(...v));
  return {
    schema: 1,
    generated_at: new Date(wallClockMs).toISOString(),
    window_s: w.seconds,
    version: versions.length === 0 ? null : [...new Set(versions)].sort().join(', '),
    config_loaded_at: isoSeconds(maybe(w.now, `${P}config_loaded_timestamp_seconds`, (v) => Math.min(...v))),
    requests: { total: w.counter(`${P}requests_total`), by_route_status: w.grouped(`${P}requests_total`, ['kind', 'status']).map(({ kind, ...rest }) => ({ route: kind, ...rest })) },
    buckets: bucketStatus(w),
    existence_cache: existenceCache(w),
    blob_redirects: w.grouped(`${P}blob_redirects_total`, ['provider', 'region', 'target']),
    origin_fallbacks: originFallbacks(w),
    reloads: { success: w.counter(`${P}reloads_total`, (s) => s.labels.result === 'success'), failure: w.counter(`${P}reloads_total`, (s) => s.labels.result === 'failure') },
    geo: {
      ranges_loaded: loaded === null ? null : loaded > 0,
      ranges_age_s: maybe(w.now, `${P}geo_ranges_age_seconds`, (v) => Math.max(...v)),
      refreshes: { success: sum(w.now, `${P}geo_refreshes_total`, (s) => s.labels.result === 'success'), failure: sum(w.now, `${P}geo_refreshes_total`, (s) => s.labels.result === 'failure') },
    },
    caches: caches(w),
    rate_limit: { clients: maybe(w.now, `${P}rate_limit_clients`, total), refused: w.counter(`${P}requests_total`, (s) => s.labels.kind === 'rate_limited') },
  };
}

/**
 * Keeps the scrape that rates are measured against: the latest one at least `minWindowMs`
 * older than the current, so that two tabs polling at once do not measure over milliseconds.
 */
export class SnapshotBaseline {
  private older: SampleSet | undefined;
  private newer: SampleSet | undefined;

  constructor(private readonly minWindowMs = 2000) {}

  /** Records `current` and returns the set to measure it against (undefined the first time). */
  next(current: SampleSet): SampleSet | undefined {
    if (this.newer === undefined) {
      this.newer = current;
      return undefined;
    }
    if (current.atMs - this.newer.atMs >= this.minWindowMs) {
      this.older = this.newer;
      this.newer = current;
    }
    return this.older;
  }
}
