import { Counter, Gauge, Histogram, Registry } from './prom-client.js';
import { registerProcessMetrics } from './process-metrics.js';
import type { CheckHook, ExistenceChecker, ExistenceStats, HeadOutcome, TransitionHook } from '../blobs/types.js';
import { PREFIX, registerBreakerTransitions, registerGenerationFigures, scrapedGauge, type MeteredGeneration } from './generation-figures.js';
import { CounterCell, getOrCreate, HistogramCell, register, TallyCounter, TallyHistogram } from './tally.js';
import { detached } from '../cache-figures.js';
import { OriginMetrics, type OriginsOfGeneration } from './origin-metrics.js';
import { BlobRedirectCells, RequestCells } from './request-cells.js';

export { PREFIX, type MeteredGeneration };
export { scrapedCounter } from './generation-figures.js';
export { adminUnauthorizedCounter, collectGarbageIfExposed, fallbackReason, geoRefreshCounter, logLinesDroppedCounter, type GenerationHoldings, type MetricsOptions, type Outcome } from './metric-parts.js';
import { collectGarbageIfExposed, fallbackReason, type GenerationHoldings, type MetricsOptions, type Outcome } from './metric-parts.js';

/** Redirects take well under a millisecond; cache misses wait for a bucket HEAD (up to seconds). */
const REQUEST_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** A reload that shares every file takes milliseconds; one that loads city data, seconds. */
const RELOAD_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CHECK_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Distinct repositories counted by name when `metrics.repos` is on; the rest share one series. */
export const MAX_REPO_SERIES = 1000;
export const OTHER_REPOS = '_other';

type CacheCounterKey = 'hits' | 'misses' | 'coalesced' | 'skipped' | 'overflow';
const CACHE_COUNTERS: readonly CacheCounterKey[] = ['hits', 'misses', 'coalesced', 'skipped', 'overflow'];

/** What the request counters read from one answered request. */
export interface AnsweredRequest {
  readonly method: string;
  readonly kind: string;
  readonly status: number;
  readonly target: string;
  readonly repo: string | undefined;
  /** Why a blob went to the origin, when it did. */
  readonly reason?: string | undefined;
  readonly client: { readonly provider?: string; readonly region?: string } | undefined;
  readonly durationMs: number;
  /** The origin host a redirect to an origin chose. */
  readonly origin?: string | undefined;
}

/**
 * Every metric a serving process exports. Request-path figures are tallied into plain cells
 * (see tally.ts); existence-cache, health, geo and rate-limit figures are read from the
 * generation in use when Prometheus scrapes, so serving a request pays nothing for them.
 */
export class EdgeMetrics {
  readonly registry = new Registry();

  private readonly requests = new TallyCounter(`${PREFIX}requests_total`, 'Requests answered, by route kind, method, status and target (origin, signatures, a bucket name, or none).');
  private readonly duration = new TallyHistogram(`${PREFIX}request_duration_seconds`, 'Time from request to answer, by route kind.', REQUEST_SECONDS);
  private readonly blobRedirects = new TallyCounter(
    `${PREFIX}blob_redirects_total`,
    'Blob redirects by the client\'s cloud provider and region (none when not in a known cloud) and the target they were sent to: the egress cost picture.',
  );
  private readonly repoRequests = new TallyCounter(
    `${PREFIX}repo_requests_total`,
    `Requests by repository and route kind; only with metrics.repos: true, at most ${MAX_REPO_SERIES} repositories (the rest count as ${OTHER_REPOS}).`,
  );
  private readonly fallbacks = new TallyCounter(
    `${PREFIX}origin_fallbacks_total`,
    'Blobs sent to the origin instead of a bucket, by why: absent, check_failed, bucket_unhealthy, no_candidate, other.',
  );
  private readonly fallbackCells = new Map<string, CounterCell>();
  private readonly checks = new TallyCounter(`${PREFIX}existence_checks_total`, 'Existence HEADs sent to buckets, by bucket and result.');
  private readonly checkDuration = new TallyHistogram(`${PREFIX}existence_check_duration_seconds`, 'Existence HEAD latency by bucket.', CHECK_SECONDS);
  private readonly signingFailures = new TallyCounter(
    `${PREFIX}signing_failures_total`,
    'Signed existence HEADs a private bucket refused with 403 (bad credentials, region, clock or policy), by bucket.',
  );
  private readonly reloads: Counter<'result'>;
  private readonly lastReload: Gauge;
  private readonly reloadDuration: Histogram;
  /** Live runtime generations and loaded data files; unset until a process serves. */
  private holdings: GenerationHoldings | undefined;

  private readonly requestCells = new RequestCells(this.requests, this.duration);
  private readonly blobCells = new BlobRedirectCells(this.blobRedirects);
  private readonly repoCells = new Map<string, Map<string, CounterCell>>();
  private readonly checkCells = new Map<string, Map<HeadOutcome, CounterCell>>();
  private readonly checkDurationCells = new Map<string, HistogramCell>();
  private readonly signingFailureCells = new Map<string, CounterCell>();

  /** Cache counters of checkers that were replaced by a reload, so the exported totals never go back. */
  private readonly retiredTotals: Record<CacheCounterKey, number> = { hits: 0, misses: 0, coalesced: 0, skipped: 0, overflow: 0 };
  private readonly retiring = new Set<ExistenceChecker>();
  /** Where the generation in use is found; unset until the first one is built. */
  private generations: { readonly current: MeteredGeneration & OriginsOfGeneration } | undefined;
  /** Counts breaker state changes; passed to buildRuntime as `onTransition`. */
  readonly onTransition: TransitionHook;
  private readonly origins = new OriginMetrics(this.registry, () => this.generations?.current);
  /** Passed to buildRuntime: the origin probe latency histogram. */
  readonly onProbe = this.origins.onProbe;

  constructor(options: MetricsOptions) {
    for (const collector of [this.requests, this.duration, this.blobRedirects, this.fallbacks, this.repoRequests, this.checks, this.checkDuration, this.signingFailures]) {
      register(this.registry, collector);
    }
    this.registerCacheFigures();
    registerGenerationFigures(this.registry, () => this.generations?.current);
    this.onTransition = registerBreakerTransitions(this.registry, () => this.generations?.current);
    const registers = [this.registry];
    this.reloads = new Counter({
      name: `${PREFIX}reloads_total`,
      help: 'Configuration reloads (SIGHUP, POST /reload, geo refresh) by result; with --workers, counted once per worker.',
      labelNames: ['result'],
      registers,
    });
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    this.lastReload = new Gauge({
      name: `${PREFIX}config_loaded_timestamp_seconds`,
      help: 'Unix time the running configuration was loaded (start or last successful reload).',
      registers,
      aggregator: 'min',
    });
    this.lastReload.setToCurrentTime();
    this.reloadDuration = new Histogram({
      name: `${PREFIX}reload_duration_seconds`,
      help: 'Time a reload took to build and swap in the new runtime generation, by result.',
      labelNames: ['result'],
      buckets: RELOAD_SECONDS,
      registers,
    });
    this.registerHoldings();
    new Gauge({
      name: `${PREFIX}build_info`,
      help: 'Always 1; the version label says which registry-edge is running.',
      labelNames: ['version'],
      registers,
      aggregator: 'max',
    }).set({ version: options.version }, 1);
    if (options.processMetrics !== false) registerProcessMetrics(this.registry);
  }

  /** From now on the scrape-time figures read `holder.current`, whatever a reload puts there. */
  follow(holder: { readonly current: MeteredGeneration & OriginsOfGeneration }): void {
    this.generations = holder;
  }

  /** From now on the generation and data-file figures read `holdings`. */
  hold(holdings: GenerationHoldings): void {
    this.holdings = holdings;
  }

  private registerHoldings(): void {
    const registers = [this.registry];
    scrapedGauge(this.registry, 'runtime_generations', 'Runtime generations in memory: the one in use and replaced ones still answering (summed over workers).', () => this.holdings?.generations() ?? 0);
    const fileBytes: Gauge<'file'> = new Gauge({
      name: `${PREFIX}data_file_bytes`,
      help: 'Bytes of each loaded data file (MMDB, inventory) held in memory, over every copy a generation still holds.',
      labelNames: ['file'],
      registers,
      collect: () => {
        fileBytes.reset();
        for (const [file, bytes] of this.holdings?.fileBytes() ?? []) fileBytes.set({ file }, bytes);
      },
    });
  }

  private registerCacheFigures(): void {
    const registers = [this.registry];
    for (const key of CACHE_COUNTERS) {
      const counter: Counter = new Counter({
        name: `${PREFIX}existence_cache_${key}_total`,
        help: CACHE_HELP[key],
        registers,
        collect: () => {
          counter.reset();
          counter.inc(this.cacheTotal(key));
        },
      });
    }
    scrapedGauge(this.registry, 'existence_cache_entries', 'Answers held in the existence cache (summed over workers).', () => this.stats()?.size ?? 0);
    scrapedGauge(this.registry, 'existence_checks_inflight', 'Existence HEADs running now.', () => this.stats()?.inflight ?? 0);
  }

  /**
   * The app's per-request hook. The fast path is Map lookups and increments; the first request
   * of a label combination takes the slow path that creates its cell.
   */
  readonly onRequest = (record: AnsweredRequest, rt: MeteredGeneration): void => {
    const { kind, target, status } = record;
    this.requestCells.count(kind, target, status, record.method, record.durationMs / 1000);
    if (record.origin !== undefined) this.origins.chose(record.origin);
    if (kind === 'blob' && status === 307) {
      this.blobCells.count(record.client?.provider, record.client?.region, target);
      if (record.reason !== undefined) this.countFallback(record.reason);
    }
    if (rt.config.metrics.repos && record.repo !== undefined) this.countRepo(record.repo, kind);
  };

  private countFallback(reason: string): void {
    const label = fallbackReason(reason);
    getOrCreate(this.fallbackCells, label, () => this.fallbacks.cell({ reason: label })).value++;
  }

  /** Feeds the existence-check counter and latency histogram; passed to buildRuntime as `onCheck`. */
  readonly onCheck: CheckHook = (bucketName, outcome, durationMs) => {
    const byOutcome = getOrCreate(this.checkCells, bucketName, () => new Map<HeadOutcome, CounterCell>());
    getOrCreate(byOutcome, outcome, () => this.checks.cell({ bucket: bucketName, result: outcome })).value++;
    getOrCreate(this.checkDurationCells, bucketName, () => this.checkDuration.cell({ bucket: bucketName })).observe(durationMs / 1000);
    if (outcome === 'signature_refused') {
      getOrCreate(this.signingFailureCells, bucketName, () => this.signingFailures.cell({ bucket: bucketName })).value++;
    }
  };

  reloaded(result: Outcome, seconds?: number): void {
    this.reloads.inc({ result });
    if (seconds !== undefined) this.reloadDuration.observe({ result }, seconds);
    if (result === 'success') this.lastReload.setToCurrentTime();
  }

  /** A reload replaced this checker: keep counting it until it is closed. */
  retire(checker: ExistenceChecker): void {
    this.retiring.add(checker);
  }

  /** The retired checker is closed: fold its final counts into the running totals. */
  release(checker: ExistenceChecker): void {
    if (!this.retiring.delete(checker)) return;
    const stats = checker.stats();
    for (const key of CACHE_COUNTERS) this.retiredTotals[key] += stats[key];
  }

  async render(): Promise<{ contentType: string; body: string }> {
    collectGarbageIfExposed();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private countRepo(repo: string, kind: string): void {
    const known = this.repoCells.get(repo)?.get(kind);
    if (known !== undefined) {
      known.value++;
      return;
    }
    let label = repo;
    let byKind = this.repoCells.get(repo);
    if (byKind === undefined) {
      // A copy: the name (at most 255 characters, classify's limit) is cut from the request
      // target, which it would otherwise keep alive.
      label = this.repoCells.size >= MAX_REPO_SERIES ? OTHER_REPOS : detached(repo);
      byKind = getOrCreate(this.repoCells, label, () => new Map<string, CounterCell>());
    }
    getOrCreate(byKind, kind, () => this.repoRequests.cell({ repo: label, kind })).value++;
  }

  private stats(): ExistenceStats | undefined {
    return this.generations?.current.checker.stats();
  }

  private cacheTotal(key: CacheCounterKey): number {
    let total = this.retiredTotals[key] + (this.stats()?.[key] ?? 0);
    for (const checker of this.retiring) total += checker.stats()[key];
    return total;
  }
}

const CACHE_HELP: Record<CacheCounterKey, string> = {
  hits: 'Existence lookups answered from the cache or the inventory, without a HEAD.',
  misses: 'Existence lookups that found nothing cached (each then waited on a HEAD, sent one, or was skipped).',
  coalesced: 'Existence lookups that waited on a HEAD already in flight for the same bucket and digest (a subset of misses).',
  skipped: 'Existence lookups answered unknown at once because the bucket was in its failure cool-down.',
  overflow: 'Existence lookups answered unknown at once because blobs.check.max_inflight HEADs were running.',
};
