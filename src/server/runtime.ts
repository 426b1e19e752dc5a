import type { BucketConfig, Config } from '../config/types.js';
import type { ClientLocation } from '../geo/types.js';
import type { LoadedConfig } from '../config/load.js';
import type { ExistenceChecker } from '../blobs/types.js';
import type { Locator } from '../geo/types.js';
import type { Logger } from '../log.js';
import type { RateLimiter } from '../ops/rate-limit.js';
import type { CacheFigures, NamedCacheFigures } from '../cache-figures.js';
import { ForwardedMemo } from '../net/forwarded.js';
import { releaseChecker } from './checker-share.js';
import { buildPlan, signedUrlFigures, type BucketRanker, type PlanExtras, type RoutingPlan } from '../routing/plan.js';

export interface GeoStatus {
  /** Whether the compiled cloud ranges were loaded (otherwise routing is by geography only). */
  rangesLoaded: boolean;
  rangesBuiltAt: Date | undefined;
  /** When the loaded ranges were published by the providers (see GeoLocator.rangesPublishedAt). */
  rangesPublishedAt: Date | undefined;
  locationsLoaded: boolean;
  /** The city data of a first start-up is still loading in the background (see Locator.geography). */
  readonly locationsLoading: boolean;
  /** Why that background load failed; undefined when it did not. */
  readonly locationsFailed: string | undefined;
}

/**
 * One consistent generation of everything a request reads: configuration, routing plan, geo
 * data, existence cache, rate limiter and the logger at the configured level. A reload builds
 * a new one and swaps it in whole, so no request ever sees half of an old configuration and
 * half of a new one.
 */
export interface Runtime {
  readonly config: Config;
  readonly source: string;
  readonly plan: RoutingPlan;
  readonly locator: Locator;
  readonly checker: ExistenceChecker;
  readonly geo: GeoStatus;
  /** Per-client limits; undefined when `limits.per_ip_rps` is 0. */
  readonly limiter: RateLimiter | undefined;
  /** At this generation's `log.level`: requests log through it. */
  readonly logger: Logger;
  /** Parsed X-Forwarded-For values, for this generation's `client_ip.trusted_hops`. */
  readonly forwarded: ForwardedMemo;
  /** Size of every cache and memo requests fill, read at scrape time. */
  caches(): NamedCacheFigures[];
  /** Great-circle distance from a client to a bucket, when both locations are known. */
  readonly distanceKm: ((client: ClientLocation, bucket: BucketConfig) => number | undefined) | undefined;
  /** A request that answers later (after an existence HEAD) holds the generation it started on. */
  hold(): void;
  /** That request has answered. */
  unhold(): void;
  /** Resolves once no request holds this generation: a retired one can then close at once. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface RuntimeParts {
  loaded: LoadedConfig;
  locator: Locator;
  rank?: BucketRanker;
  /** Signers and the signing clock of the private buckets. */
  signing?: PlanExtras;
  checker: ExistenceChecker;
  geo: GeoStatus;
  limiter?: RateLimiter;
  logger: Logger;
  distanceKm?: (client: ClientLocation, bucket: BucketConfig) => number | undefined;
  close?: () => Promise<void> | void;
}

export function assembleRuntime(parts: RuntimeParts): Runtime {
  let held = 0;
  let whenIdle: Array<() => void> = [];
  const plan = buildPlan(parts.loaded.config, parts.rank, parts.signing);
  const forwarded = new ForwardedMemo(parts.loaded.config.client_ip.trusted_hops);
  return {
    config: parts.loaded.config,
    source: parts.loaded.source,
    plan,
    forwarded,
    caches() {
      const named = (cache: string, figures: CacheFigures | undefined): NamedCacheFigures[] => (figures === undefined ? [] : [{ cache, ...figures }]);
      return [
        ...named('forwarded_for', forwarded.figures()),
        ...named('recent_clients', parts.locator.recentFigures?.()),
        ...named('candidates', plan.candidateCache.figures()),
        ...named('network_groups', plan.networks.groupByAddress.figures()),
        ...named('rate_limit', parts.limiter?.figures()),
        ...named('existence', parts.checker.cacheFigures()),
        ...named('signed_urls', signedUrlFigures(plan)),
      ];
    },
    locator: parts.locator,
    checker: parts.checker,
    geo: parts.geo,
    limiter: parts.limiter,
    logger: parts.logger,
    distanceKm: parts.distanceKm,
    hold() {
      held++;
    },
    unhold() {
      if (--held > 0 || whenIdle.length === 0) return;
      const waiting = whenIdle;
      whenIdle = [];
      for (const resolve of waiting) resolve();
    },
    idle() {
      return held === 0 ? Promise.resolve() : new Promise<void>((resolve) => whenIdle.push(resolve));
    },
    async close() {
      await releaseChecker(parts.checker);
      await parts.close?.();
    },
  };
}

/** The single mutable reference the request path reads; swapped atomically on reload. */
export class RuntimeHolder {
  constructor(public current: Runtime) {}

  swap(next: Runtime): Runtime {
    const previous = this.current;
    this.current = next;
    return previous;
  }
}
