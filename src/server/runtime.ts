import type { BucketConfig, Config } from '../config/types.js';
import type { ClientLocation } from '../geo/types.js';
import type { LoadedConfig } from '../config/load.js';
import type { ExistenceChecker } from '../blobs/types.js';
import type { Locator } from '../geo/types.js';
import type { Logger } from '../log.js';
import type { RateLimiter } from '../ops/rate-limit.js';
import { buildPlan, type BucketRanker, type RoutingPlan } from '../routing/plan.js';

export interface GeoStatus {
  /** Whether the compiled cloud ranges were loaded (otherwise routing is by geography only). */
  rangesLoaded: boolean;
  rangesBuiltAt: Date | undefined;
  /** When the loaded ranges were published by the providers (see GeoLocator.rangesPublishedAt). */
  rangesPublishedAt: Date | undefined;
  locationsLoaded: boolean;
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
  /** Great-circle distance from a client to a bucket, when both locations are known. */
  readonly distanceKm: ((client: ClientLocation, bucket: BucketConfig) => number | undefined) | undefined;
  close(): Promise<void>;
}

export interface RuntimeParts {
  loaded: LoadedConfig;
  locator: Locator;
  rank?: BucketRanker;
  checker: ExistenceChecker;
  geo: GeoStatus;
  limiter?: RateLimiter;
  logger: Logger;
  distanceKm?: (client: ClientLocation, bucket: BucketConfig) => number | undefined;
  close?: () => Promise<void> | void;
}

export function assembleRuntime(parts: RuntimeParts): Runtime {
  return {
    config: parts.loaded.config,
    source: parts.loaded.source,
    plan: buildPlan(parts.loaded.config, parts.rank),
    locator: parts.locator,
    checker: parts.checker,
    geo: parts.geo,
    limiter: parts.limiter,
    logger: parts.logger,
    distanceKm: parts.distanceKm,
    async close() {
      await parts.checker.close();
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
