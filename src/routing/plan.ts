import type { BucketConfig, Config } from '../config/types.js';
import type { ClientLocation } from '../geo/types.js';
import type { BoundedMemo, CacheFigures } from '../cache-figures.js';
import { SignedUrlCache, type BlobSigner } from '../signing/index.js';
import type { RegionCoordinates } from '../geo/nearest.js';
import { newCandidateCache, type Candidate } from './candidates.js';
import { planOrigins, registryPrefix, type OriginTable } from './origin-table.js';
import { compileNetworks, type NetworkRouting } from './network-candidates.js';

/** A bucket with everything the hot path needs precomputed. */
export interface PlannedBucket {
  readonly config: BucketConfig;
  readonly name: string;
  /** `url` + the part of `blobs.key` before `{digest}`. */
  readonly keyPrefix: string;
  readonly keySuffix: string;
  /** Private bucket: signed `Location`s, reused for half their lifetime. */
  readonly signedUrls: SignedUrlCache | undefined;
}

/**
 * Orders the buckets of one provider (or all, for clients in no cloud) by distance from a
 * client. Supplied by the geo module; without it, routing falls back to exact matches only.
 */
export type BucketRanker = (client: ClientLocation, buckets: readonly PlannedBucket[]) => PlannedBucket[];

/** The configuration compiled for routing: validated once, read on every request. */
export interface RoutingPlan {
  readonly config: Config;
  /** `origin.url/v2/[origin.path/]`: every origin Location starts with it. */
  readonly originPrefix: string;
  /** Same for the signature upstream; empty when unset (signatures then go to the chosen origin). */
  readonly signaturesPrefix: string;
  /** The primary origin, its replicas, their health and the memo of who goes where. */
  readonly origins: OriginTable;
  readonly buckets: readonly PlannedBucket[];
  readonly networkBuckets: readonly PlannedBucket[];
  /** Every bucket's networks in one prefix table, compiled once per generation. */
  readonly networks: NetworkRouting;
  readonly originProviders: ReadonlySet<string>;
  /** provider → region → buckets serving it, in config order. */
  readonly byRegion: ReadonlyMap<string, ReadonlyMap<string, readonly PlannedBucket[]>>;
  readonly byProvider: ReadonlyMap<string, readonly PlannedBucket[]>;
  readonly defaultBucket: PlannedBucket | undefined;
  readonly maxCandidates: number;
  readonly rank: BucketRanker | undefined;
  /** Candidate lists memoised per location key (provider and region, or a 0.1° cell), bounded in entries and bytes. */
  readonly candidateCache: BoundedMemo<readonly Candidate[]>;
  /** The same lists by locator answer (frozen, shared per database record); weak, so it never grows the heap. */
  readonly candidatesByClient: WeakMap<ClientLocation, readonly Candidate[]>;
  /** Epoch ms for signing windows (tests inject one). */
  readonly wallClock: () => number;
}

/** What a plan needs beyond the configuration. */
export interface PlanExtras {
  /** Bucket name → signer of the private buckets. */
  signers?: ReadonlyMap<string, BlobSigner>;
  wallClock?: () => number;
  /** Region coordinates, to place origin replicas by their region and clients by theirs. */
  regions?: RegionCoordinates;
}

export function planBucket(bucket: BucketConfig, key: string, signer?: BlobSigner): PlannedBucket {
  const at = key.indexOf('{digest}');
  const keyPrefix = bucket.url + key.slice(0, at);
  const keySuffix = key.slice(at + '{digest}'.length);
  const signedUrls =
    signer === undefined
      ? undefined
      : new SignedUrlCache({ signer, objectUrl: (digest) => keyPrefix + digest + keySuffix });
  return { config: bucket, name: bucket.name, keyPrefix, keySuffix, signedUrls };
}

export function buildPlan(config: Config, rank?: BucketRanker, extras: PlanExtras = {}): RoutingPlan {
  const buckets = config.buckets.map((b) => planBucket(b, config.blobs.key, extras.signers?.get(b.name)));
  const byRegion = new Map<string, Map<string, PlannedBucket[]>>();
  const byProvider = new Map<string, PlannedBucket[]>();
  for (const bucket of buckets) {
    const provider = bucket.config.provider;
    if (provider === undefined) continue;
    const list = byProvider.get(provider) ?? [];
    list.push(bucket);
    byProvider.set(provider, list);
    const regions = byRegion.get(provider) ?? new Map<string, PlannedBucket[]>();
    for (const region of bucket.config.regions) {
      const serving = regions.get(region) ?? [];
      serving.push(bucket);
      regions.set(region, serving);
    }
    byRegion.set(provider, regions);
  }
  let defaultBucket: PlannedBucket | undefined;
  if (config.default_bucket !== '') {
    defaultBucket =
      buckets.find((b) => b.name === config.default_bucket) ??
      planBucket({ name: 'default', url: config.default_bucket, regions: [], networks: [] }, config.blobs.key);
  }
  const origins = planOrigins(config, extras.regions);
  return {
    config,
    originPrefix: origins.primary.prefix,
    signaturesPrefix: config.signatures.url === '' ? '' : registryPrefix(config.signatures.url, config.origin.path),
    origins,
    buckets,
    networkBuckets: buckets.filter((b) => b.config.networks.length > 0),
    networks: compileNetworks(buckets, config.blobs.candidates),
    originProviders: new Set(Object.keys(config.providers)),
    byRegion,
    byProvider,
    defaultBucket,
    maxCandidates: config.blobs.candidates,
    rank,
    candidateCache: newCandidateCache(config.blobs.candidates),
    candidatesByClient: new WeakMap(),
    wallClock: extras.wallClock ?? Date.now,
  };
}

/** The signed-URL caches of all private buckets as one figure; undefined when no bucket signs. */
export function signedUrlFigures(plan: RoutingPlan): CacheFigures | undefined {
  let sum: CacheFigures | undefined;
  for (const bucket of plan.buckets) {
    const own = bucket.signedUrls?.figures();
    if (own === undefined) continue;
    sum =
      sum === undefined
        ? own
        : { entries: sum.entries + own.entries, bytes: sum.bytes + own.bytes, maxEntries: sum.maxEntries + own.maxEntries, maxBytes: sum.maxBytes + own.maxBytes };
  }
  return sum;
}

/** Every host a Location may point at: what `registry-edge hosts` prints for egress allow-lists. */
export function redirectHosts(plan: RoutingPlan): string[] {
  const urls = [plan.config.origin.url, ...plan.origins.replicas.map((r) => r.url), plan.config.signatures.url, ...plan.buckets.map((b) => b.config.url)];
  if (plan.defaultBucket) urls.push(plan.defaultBucket.config.url);
  const hosts = new Set<string>();
  for (const url of urls) if (url !== '') hosts.add(new URL(url).host);
  return [...hosts].sort();
}

/** The object's plain URL: what `explain` shows and the existence check signs. */
export function bucketBlobUrl(bucket: PlannedBucket, digest: string): string {
  return bucket.keyPrefix + digest + bucket.keySuffix;
}

/**
 * Where a client fetches the blob: the plain URL, or for a private bucket the URL signed for
 * the current window (a Map lookup once the window has signed it).
 */
export function bucketLocation(bucket: PlannedBucket, digest: string, plan: RoutingPlan): string {
  const signed = bucket.signedUrls;
  return signed === undefined ? bucket.keyPrefix + digest + bucket.keySuffix : signed.get(digest, plan.wallClock());
}

export function originUrl(prefix: string, name: string, rest: string): string {
  return `${prefix}${name}/${rest}`;
}
