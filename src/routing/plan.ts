import type { BucketConfig, Config } from '../config/types.js';
import { NetworkSet, parseCidr } from '../net/cidr.js';
import type { ClientLocation } from '../geo/types.js';
import type { Candidate } from './candidates.js';

/** A bucket with everything the hot path needs precomputed. */
export interface PlannedBucket {
  readonly config: BucketConfig;
  readonly name: string;
  /** `url` + the part of `blobs.key` before `{digest}`. */
  readonly keyPrefix: string;
  readonly keySuffix: string;
  readonly networks: NetworkSet;
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
  /** Same for the signature upstream; equals originPrefix when unset. */
  readonly signaturesPrefix: string;
  readonly buckets: readonly PlannedBucket[];
  readonly networkBuckets: readonly PlannedBucket[];
  readonly originProviders: ReadonlySet<string>;
  /** provider → region → buckets serving it, in config order. */
  readonly byRegion: ReadonlyMap<string, ReadonlyMap<string, readonly PlannedBucket[]>>;
  readonly byProvider: ReadonlyMap<string, readonly PlannedBucket[]>;
  readonly defaultBucket: PlannedBucket | undefined;
  readonly maxCandidates: number;
  readonly rank: BucketRanker | undefined;
  /** Candidate lists memoised per location key; bounded by the number of distinct keys. */
  readonly candidateCache: Map<string, readonly Candidate[]>;
  /** The same lists by locator answer (frozen, shared per database record); weak, so it never grows the heap. */
  readonly candidatesByClient: WeakMap<ClientLocation, readonly Candidate[]>;
}

function registryPrefix(url: string, path: string): string {
  return `${url}/v2/${path === '' ? '' : `${path}/`}`;
}

export function planBucket(bucket: BucketConfig, key: string): PlannedBucket {
  const at = key.indexOf('{digest}');
  const cidrs = bucket.networks.map((n) => parseCidr(n)).filter((c) => c !== undefined);
  return {
    config: bucket,
    name: bucket.name,
    keyPrefix: bucket.url + key.slice(0, at),
    keySuffix: key.slice(at + '{digest}'.length),
    networks: new NetworkSet(cidrs),
  };
}

export function buildPlan(config: Config, rank?: BucketRanker): RoutingPlan {
  const buckets = config.buckets.map((b) => planBucket(b, config.blobs.key));
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
  const originPrefix = registryPrefix(config.origin.url, config.origin.path);
  return {
    config,
    originPrefix,
    signaturesPrefix: config.signatures.url === '' ? originPrefix : registryPrefix(config.signatures.url, config.origin.path),
    buckets,
    networkBuckets: buckets.filter((b) => b.networks.size > 0),
    originProviders: new Set(Object.keys(config.providers)),
    byRegion,
    byProvider,
    defaultBucket,
    maxCandidates: config.blobs.candidates,
    rank,
    candidateCache: new Map(),
    candidatesByClient: new WeakMap(),
  };
}

/** Every host a Location may point at: what `registry-edge hosts` prints for egress allow-lists. */
export function redirectHosts(plan: RoutingPlan): string[] {
  const urls = [plan.config.origin.url, plan.config.signatures.url, ...plan.buckets.map((b) => b.config.url)];
  if (plan.defaultBucket) urls.push(plan.defaultBucket.config.url);
  const hosts = new Set<string>();
  for (const url of urls) if (url !== '') hosts.add(new URL(url).host);
  return [...hosts].sort();
}

export function bucketBlobUrl(bucket: PlannedBucket, digest: string): string {
  return bucket.keyPrefix + digest + bucket.keySuffix;
}

export function originUrl(prefix: string, name: string, rest: string): string {
  return `${prefix}${name}/${rest}`;
}
