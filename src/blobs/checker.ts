import { performance } from 'node:perf_hooks';
import { AnswerCache } from './answers.js';
import type { CacheFigures } from '../cache-figures.js';
import { coarseClock, type CoarseClock } from './clock.js';
import { inventoryKey as bucketDigestKey } from './inventory.js';
import { inventoryOf } from './inventory-set.js';
import type { BucketConfig } from '../config/types.js';
import { HeadClient, failureCause, type HeadResult } from './head.js';
import { HeadTargets } from './signed-head.js';
import { OUTCOMES, TRANSITION_MESSAGES, type Verdict, PRESENT, ABSENT, BREAKER_OPEN, PROBE_RUNNING, SKIPPED_OPEN, SKIPPED_PROBING, CHECKER_CLOSED, presenceOf, noted } from './verdicts.js';
import { HEALTHY, admits, afterHead, beginProbe, probeDue, type BucketHealth, type HealthPolicy } from './health.js';
import type {
  BucketHealthSnapshot,
  CheckHook,
  CheckNote,
  ExistenceChecker,
  ExistenceCheckerOptions,
  ExistenceStats,
  HeadOutcome,
  InventoryLookup,
  Logger,
  Presence,
  TransitionHook,
} from './types.js';

/** Precision of the default clock: TTLs and cool-downs may run this much long. */
const CLOCK_RESOLUTION_MS = 100;

/** Sets and lists of entries (tests, embedders) become the same compact tables a file loads into. */
function lookupOf(given: ExistenceCheckerOptions['inventory']): InventoryLookup {
  if (given === undefined) return inventoryOf([]);
  return 'has' in given && !(given instanceof Set) ? given : inventoryOf(given as Iterable<string>);
}

export function createExistenceChecker(options: ExistenceCheckerOptions): ExistenceChecker {
  return new CachingChecker(options);
}

class CachingChecker implements ExistenceChecker {
  private readonly cache: AnswerCache;
  private readonly inventory: InventoryLookup;
  private readonly inflight = new Map<string, Promise<Verdict>>();
  private readonly health = new Map<string, BucketHealth>();
  /** Buckets not closed; while 0 the hot path skips the health lookup entirely. */
  private unhealthyBuckets = 0;
  private runningHeads = 0;
  private closed = false;
  private targets: HeadTargets;
  private readonly keyParts: readonly string[];
  private readonly wallClock: () => number;
  private readonly client: HeadClient;
  private readonly now: () => number;
  private readonly ownClock: CoarseClock | undefined;
  private readonly positiveTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxInflight: number;
  private readonly overflowed: Verdict;
  private readonly policy: HealthPolicy;
  private logger: Logger | undefined;
  private readonly onCheck: CheckHook | undefined;
  private readonly onTransition: TransitionHook | undefined;
  private readonly counters = { hits: 0, misses: 0, coalesced: 0, skipped: 0, overflow: 0 };
  private readonly heads = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<HeadOutcome, number>;

  constructor(options: ExistenceCheckerOptions) {
    const keyParts = (this.keyParts = options.key.split('{digest}'));
    if (keyParts.length < 2) throw new Error(`blobs.key "${options.key}" has no {digest} placeholder`);
    const check = options.check;
    this.cache = new AnswerCache(check.max_entries);
    this.inventory = lookupOf(options.inventory);
    this.ownClock = options.now === undefined ? coarseClock(CLOCK_RESOLUTION_MS) : undefined;
    this.now = options.now ?? (this.ownClock as CoarseClock).now;
    this.positiveTtlMs = check.ttl_s * 1000;
    this.negativeTtlMs = check.negative_ttl_s * 1000;
    this.maxInflight = check.max_inflight;
    this.overflowed = Object.freeze({ presence: 'unknown', cause: `in-flight limit: ${check.max_inflight} HEADs running` });
    this.policy = { failureThreshold: check.failure_threshold, cooldownMs: check.cooldown_ms };
    this.logger = options.logger;
    this.onCheck = options.onCheck;
    this.onTransition = options.onTransition;
    this.wallClock = options.wallClock ?? Date.now;
    this.targets = new HeadTargets(keyParts, options.signers ?? new Map(), this.wallClock, options.logger);
    this.client = new HeadClient({
      timeoutMs: check.timeout_ms,
      maxSockets: check.max_inflight,
      headers: options.headers,
    });
  }

  readonly knownDigest = (digest: string): boolean => this.cache.holds(digest);

  peek(bucket: BucketConfig, digest: string): Presence | undefined {
    if (this.unhealthyBuckets !== 0) {
      const health = this.health.get(bucket.name);
      if (health !== undefined && health.state !== 'closed') {
        if (probeDue(health, this.now())) return undefined;
        this.counters.skipped++;
        return 'unknown';
      }
    }
    return this.cached(bucket.name, digest);
  }

  check(bucket: BucketConfig, digest: string, note?: CheckNote): Promise<Presence> {
    const verdict = this.verdict(bucket, digest);
    if (verdict instanceof Promise) return verdict.then(note === undefined ? presenceOf : (settled) => noted(settled, note));
    return Promise.resolve(note === undefined ? verdict.presence : noted(verdict, note));
  }

  available(bucket: BucketConfig, note?: CheckNote): boolean {
    if (this.unhealthyBuckets === 0) return true;
    const health = this.health.get(bucket.name);
    if (health === undefined || admits(health, this.now())) return true;
    this.counters.skipped++;
    if (note !== undefined) note.cause = health.state === 'open' ? BREAKER_OPEN : PROBE_RUNNING;
    return false;
  }

  stats(): ExistenceStats {
    const buckets: Record<string, BucketHealthSnapshot> = {};
    for (const [name, health] of this.health) buckets[name] = { state: health.state, failures: health.failures };
    return {
      ...this.counters,
      heads: { ...this.heads },
      size: this.cache.size,
      inflight: this.runningHeads,
      inventory: this.inventory.size,
      buckets,
    };
  }

  renew(options: Pick<ExistenceCheckerOptions, 'logger' | 'signers'>): void {
    this.logger = options.logger;
    this.targets = new HeadTargets(this.keyParts, options.signers ?? new Map(), this.wallClock, options.logger);
  }

  cacheFigures(): CacheFigures {
    return this.cache.figures();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.close();
    this.ownClock?.stop();
    await Promise.all(this.inflight.values());
    this.cache.clear();
  }

  /** What `check` answers, synchronously when no HEAD is needed. */
  private verdict(bucket: BucketConfig, digest: string): Verdict | Promise<Verdict> {
    const name = bucket.name;
    if (this.closed) return CHECKER_CLOSED;
    let probe = false;
    if (this.unhealthyBuckets !== 0) {
      const health = this.health.get(name);
      if (health !== undefined && health.state !== 'closed') {
        if (!probeDue(health, this.now())) {
          this.counters.skipped++;
          this.logger?.debug({ bucket: name, digest, outcome: 'skipped', state: health.state }, 'blob existence check');
          return health.state === 'open' ? SKIPPED_OPEN : SKIPPED_PROBING;
        }
        probe = true;
      }
    }
    if (!probe) {
      const known = this.cached(name, digest);
      if (known !== undefined) return known === 'present' ? PRESENT : ABSENT;
    }
    this.counters.misses++;
    const key = bucketDigestKey(name, digest);
    if (!probe) {
      const running = this.inflight.get(key);
      if (running !== undefined) {
        this.counters.coalesced++;
        return running;
      }
    }
    if (this.runningHeads >= this.maxInflight) {
      this.counters.overflow++;
      this.logger?.debug({ bucket: name, digest, outcome: 'overflow', inflight: this.runningHeads }, 'blob existence check');
      return this.overflowed;
    }
    if (probe) this.setHealth(name, beginProbe(this.healthOf(name)), digest);
    const pending: Promise<Verdict> = this.runHead(bucket, digest, probe).then((settled) => {
      if (this.inflight.get(key) === pending) this.inflight.delete(key);
      return settled;
    });
    this.inflight.set(key, pending);
    return pending;
  }

  /** Cache, then inventory; counts a hit when either knows. */
  private cached(name: string, digest: string): Presence | undefined {
    const answer = this.cache.get(name, digest, this.now());
    if (answer !== undefined) {
      this.counters.hits++;
      return answer;
    }
    if (this.inventory.size !== 0 && this.inventory.has(name, digest)) {
      this.counters.hits++;
      return 'present';
    }
    return undefined;
  }

  private async runHead(bucket: BucketConfig, digest: string, probe: boolean): Promise<Verdict> {
    this.runningHeads++;
    const started = performance.now();
    let result: HeadResult;
    try {
      const target = this.targets.target(bucket, digest);
      result = this.targets.classify(bucket, target, await this.client.head(target.url, target.headers));
    } finally {
      this.runningHeads--;
    }
    const durationMs = performance.now() - started;
    return this.record(bucket.name, digest, probe, result, durationMs);
  }

  private record(name: string, digest: string, probe: boolean, result: HeadResult, durationMs: number): Verdict {
    const { outcome } = result;
    this.heads[outcome]++;
    const now = this.now();
    const answered = outcome === 'present' || outcome === 'absent';
    if (outcome === 'present' && this.positiveTtlMs > 0) {
      this.cache.set(name, digest, 'present', now + this.positiveTtlMs);
    } else if (outcome === 'absent' && this.negativeTtlMs > 0) {
      this.cache.set(name, digest, 'absent', now + this.negativeTtlMs);
    }
    // A refused signature fails every HEAD alike: waiting for more failures would only add latency.
    const policy = outcome === 'signature_refused' ? { ...this.policy, failureThreshold: 1 } : this.policy;
    this.setHealth(name, afterHead(this.healthOf(name), answered, probe, now, policy), digest);
    this.logger?.debug(
      { bucket: name, digest, outcome, status: result.status, error: result.error, probe, ms: Math.round(durationMs) },
      'blob existence check',
    );
    if (this.onCheck !== undefined) {
      try {
        this.onCheck(name, outcome, durationMs);
      } catch (err) {
        // A broken metrics hook must not turn a bucket answer into a failed request.
        this.logger?.warn({ bucket: name, err }, 'onCheck hook threw');
      }
    }
    if (outcome === 'present') return PRESENT;
    return outcome === 'absent' ? ABSENT : { presence: 'unknown', cause: failureCause(result) };
  }

  private healthOf(name: string): BucketHealth {
    return this.health.get(name) ?? HEALTHY;
  }

  private setHealth(name: string, next: BucketHealth, digest: string): void {
    const previous = this.health.get(name);
    if (previous === next) return;
    // Stored even when healthy, so stats() lists every bucket that has been checked.
    this.health.set(name, next);
    const before = previous?.state ?? 'closed';
    if (before === next.state) return;
    if (before === 'closed') this.unhealthyBuckets++;
    else if (next.state === 'closed') this.unhealthyBuckets--;
    this.onTransition?.(name, before, next.state);
    this.logger?.warn(
      { bucket: name, from: before, to: next.state, failures: next.failures, digest },
      TRANSITION_MESSAGES[next.state],
    );
  }
}
