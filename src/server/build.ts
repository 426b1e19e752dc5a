import { createExistenceChecker, loadInventory, type CheckHook, type ExistenceChecker, type ExistenceCheckerOptions, type TransitionHook } from '../blobs/index.js';
import { loadSigners, type LoadedConfig } from '../config/load.js';
import type { BucketConfig } from '../config/types.js';
import { createLocator } from '../geo/locator.js';
import { bucketLocation, clientPoint, haversineKm, packageRegions, rankBuckets, type RegionCoordinates } from '../geo/nearest.js';
import type { ClientLocation, GeoLog } from '../geo/types.js';
import type { Logger } from '../log.js';
import { limiterFor, type MillisecondClock } from '../ops/rate-limit.js';
import { startOriginProbes, type OriginProbes, type ProbeHook, type ProbeTimers } from '../ops/origin-probe.js';
import type { BucketRanker, PlannedBucket } from '../routing/plan.js';
import { shareChecker } from './checker-share.js';
import { DataFiles, type Lease } from './data-files.js';
import { assembleRuntime, type Runtime } from './runtime.js';

export interface BuildOptions {
  /** Clock for the existence cache (tests inject one). */
  now?: () => number;
  /** Called after every existence HEAD (the metrics feed a latency histogram from it). */
  onCheck?: CheckHook;
  /** Called when a bucket's breaker changes state (the metrics count transitions from it). */
  onTransition?: TransitionHook;
  /** Epoch ms for signing private buckets' URLs and HEADs (tests inject one to pass an expiry). */
  wallClock?: () => number;
  /** Clock for the rate limiter (tests inject one). */
  limiterClock?: MillisecondClock;
  /** The generation this one replaces: unchanged rate limits keep its clients' buckets, unchanged buckets its existence checker. */
  previous?: Runtime;
  /** The process's loaded data files: unchanged ones are shared with earlier generations. */
  files?: DataFiles;
  /** Called after every origin replica probe (the metrics feed a latency histogram from it). */
  onProbe?: ProbeHook;
  /** Timers of the origin replica probes (tests inject a fake clock). */
  probeTimers?: ProbeTimers;
  /** Load the city data after this call returns (a first start-up: the port opens sooner); see LocatorOptions.deferLocations. */
  deferGeography?: boolean;
}

/** Orders planned buckets by great-circle distance from the client (routing memoises the result). */
export function nearestRanker(regions: RegionCoordinates): BucketRanker {
  return (client, planned) => {
    const byConfig = new Map<BucketConfig, PlannedBucket>(planned.map((p) => [p.config, p]));
    return rankBuckets(client, planned.map((p) => p.config), regions).map((r) => byConfig.get(r.bucket) as PlannedBucket);
  };
}

/** Loads every file a configuration names and assembles a runtime; throws when one is invalid. */
export async function buildRuntime(loaded: LoadedConfig, logger: Logger, options: BuildOptions = {}): Promise<Runtime> {
  const leases: Leases = [];
  try {
    return await buildWithLeases(loaded, logger, options, leases);
  } catch (error) {
    leases.closed = true;
    for (const lease of leases) lease.release();
    throw error;
  }
}

/** What a generation holds of the process's data files, released when it closes. */
type Leases = Array<Lease<unknown>> & { closed?: boolean };

async function leased<T>(leases: Leases, lease: Promise<Lease<T>>): Promise<T> {
  const held = await lease;
  // A file loaded in the background for a generation that has closed meanwhile.
  if (leases.closed === true) held.release();
  else leases.push(held);
  return held.value;
}

/** What /readyz and the metrics say about the generation's geo data, read when asked: city data may still be loading. */
function geoStatus(locator: Awaited<ReturnType<typeof createLocator>>): Runtime['geo'] {
  return {
    rangesLoaded: locator.rangesBuiltAt !== undefined,
    rangesBuiltAt: locator.rangesBuiltAt,
    rangesPublishedAt: locator.rangesPublishedAt,
    get locationsLoaded() {
      return locator.locationFiles.length > 0;
    },
    get locationsLoading() {
      return locator.geography !== undefined;
    },
    get locationsFailed() {
      return locator.locationsFailed;
    },
  };
}

/** The generation's locator, its MMDB files shared with the generation before when unchanged. */
function openLocator(config: LoadedConfig['config'], log: GeoLog, files: DataFiles, leases: Leases, deferLocations: boolean): ReturnType<typeof createLocator> {
  const { ranges, locations } = config.geo;
  // City data costs 60-135 MB and start-up time: load it only when routing uses it
  // (routing.others or routing.origins nearest) or the operator named files. Cloud clients never need it.
  const originsByPlace = config.routing.origins === 'nearest' && config.origin.mirrors.length > 0;
  const geolocation = config.routing.others === 'nearest' || originsByPlace || locations.length > 0;
  return createLocator({
    ranges,
    locations,
    log,
    geolocation,
    deferLocations,
    open: (kind, path, load) =>
      leased(
        leases,
        files.open(kind, path, async (file) => {
          const database = await load(file);
          return { value: database, bytes: database.byteLength };
        }),
      ),
  });
}

async function buildWithLeases(loaded: LoadedConfig, logger: Logger, options: BuildOptions, leases: Leases): Promise<Runtime> {
  const { config } = loaded;
  const signers = loaded.signers ?? loadSigners(config, loaded.source);
  const wallClock = options.wallClock ?? Date.now;
  const files = options.files ?? new DataFiles();
  const inventoryFile = config.blobs.inventory;
  const inventory =
    inventoryFile === ''
      ? undefined
      : await leased(leases, files.open('inventory', inventoryFile, async (path) => {
          const loaded = await loadInventory(path);
          return { value: loaded, bytes: loaded.bytes };
        }));
  // Everything this generation logs follows its own log.level, requests included.
  const generationLogger = logger.child({}, { level: config.log.level });
  const geoLogger = generationLogger.child({ component: 'geo' });
  const log: GeoLog = (level, msg, fields) => geoLogger[level](fields ?? {}, msg);
  const locator = await openLocator(config, log, files, leases, options.deferGeography === true);
  const regions = packageRegions();

  const rank = nearestRanker(regions);
  const checker = generationChecker(config, { inventory, signers, wallClock, logger: generationLogger.child({ component: 'blobs' }) }, options);
  const rt = assembleRuntime({
    loaded,
    locator,
    rank,
    signing: { signers, wallClock, regions },
    checker,
    distanceKm: distanceFor(regions),
    limiter: limiterFor(config.limits, options.previous?.limiter, options.limiterClock),
    logger: generationLogger,
    geo: geoStatus(locator),
    close: () => {
      probes.stop();
      locator.close();
      leases.closed = true;
      for (const lease of leases) lease.release();
      // The generation's geo status reads the locator when asked, so whatever keeps a closed
      // generation's status object must not keep its data files too.
      leases.length = 0;
    },
  });
  // Started last, so a generation that failed to build has no probes to stop.
  const probes = probeReplicas(rt, generationLogger, options);
  return rt;
}

/** The generation's origin replica probes, writing the health its plan reads. */
function probeReplicas(rt: Runtime, logger: Logger, options: BuildOptions): OriginProbes {
  const { replicas, states } = rt.plan.origins;
  return startOriginProbes({
    origins: replicas,
    states,
    settings: rt.config.origin.probe,
    logger: logger.child({ component: 'origins' }),
    onProbe: options.onProbe,
    timers: options.probeTimers,
  });
}

/** Great-circle distance from a client to a bucket, for `explain`. */
function distanceFor(regions: RegionCoordinates): (client: ClientLocation, bucket: BucketConfig) => number | undefined {
  return (client, bucket) => {
    const from = clientPoint(client, regions);
    const to = bucketLocation(bucket, regions);
    return from && to ? Math.round(haversineKm(from, to)) : undefined;
  };
}

/**
 * The previous generation's existence checker when its buckets did not change, else a new one.
 * Its own function on purpose: a closure in buildWithLeases that named `options` would keep
 * `options.previous` (and through it every earlier generation) alive in the closures' shared context.
 */
function generationChecker(
  config: LoadedConfig['config'],
  parts: Required<Pick<ExistenceCheckerOptions, 'signers' | 'wallClock' | 'logger'>> & Pick<ExistenceCheckerOptions, 'inventory'>,
  options: BuildOptions,
): ExistenceChecker {
  const basis = { key: config.blobs.key, check: config.blobs.check, buckets: config.buckets, inventory: parts.inventory };
  const { now, onCheck, onTransition } = options;
  return shareChecker(options.previous?.checker, basis, parts, () => createExistenceChecker({ ...parts, key: basis.key, check: basis.check, now, onCheck, onTransition, headers: { 'User-Agent': 'registry-edge' } }));
}
