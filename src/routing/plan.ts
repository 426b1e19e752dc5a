import type { BucketConfig, Config } from '../config/types.js';
import { NetworkSet, parseCidr } from '../net/cidr.js';
import type { IpFamily } from '../net/ip.js';
import type { ClientLocation } from '../geo/types.js';

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

/** Why a bucket is a candidate; shown by `explain` and in logs. */
export type CandidateReason = 'network' | 'region' | 'provider-nearest' | 'nearest' | 'default';

export interface Candidate {
  bucket: PlannedBucket;
  reason: CandidateReason;
}

const MAX_CANDIDATE_CACHE = 4096;
const NO_CANDIDATES: readonly Candidate[] = Object.freeze([]);

/**
 * The buckets to try for a blob, best first, before falling back to the origin:
 * (1) buckets whose networks contain the client; (2) a provider rule `origin` stops there;
 * (3) buckets of the client's provider and region, then the same provider's nearest;
 * (4) the default bucket, or the nearest bucket for clients in no cloud with routing.others
 * `nearest`. At most `blobs.candidates` entries.
 */
export function blobCandidates(plan: RoutingPlan, ip: string, family: IpFamily, client: ClientLocation): readonly Candidate[] {
  // The common case (no network buckets) allocates nothing: the memoised list is the answer.
  if (plan.networkBuckets.length === 0) {
    return client.provider !== undefined && plan.originProviders.has(client.provider) ? NO_CANDIDATES : locationCandidates(plan, client);
  }
  const out: Candidate[] = [];
  for (const bucket of plan.networkBuckets) {
    if (bucket.networks.contains(ip, family)) out.push({ bucket, reason: 'network' });
  }
  if (client.provider !== undefined && plan.originProviders.has(client.provider)) return out.slice(0, plan.maxCandidates);
  for (const candidate of locationCandidates(plan, client)) {
    if (out.length >= plan.maxCandidates) break;
    if (!out.some((c) => c.bucket === candidate.bucket)) out.push(candidate);
  }
  return out.slice(0, plan.maxCandidates);
}

/** The location-derived part of the candidate list, memoised: it depends only on where the client is. */
function locationCandidates(plan: RoutingPlan, client: ClientLocation): readonly Candidate[] {
  // Locator answers are shared objects, one per database record: identity is the cheapest key.
  const known = plan.candidatesByClient.get(client);
  if (known !== undefined) return known;
  const key = locationKey(plan, client);
  const cached = plan.candidateCache.get(key);
  if (cached !== undefined) {
    if (Object.isFrozen(client)) plan.candidatesByClient.set(client, cached);
    return cached;
  }
  const list = computeLocationCandidates(plan, client);
  if (plan.candidateCache.size >= MAX_CANDIDATE_CACHE) plan.candidateCache.clear();
  plan.candidateCache.set(key, list);
  if (Object.isFrozen(client)) plan.candidatesByClient.set(client, list);
  return list;
}

function locationKey(plan: RoutingPlan, client: ClientLocation): string {
  if (client.provider !== undefined) return `${client.provider}\u0000${client.region ?? ''}`;
  if (plan.config.routing.others === 'nearest' && client.lat !== undefined && client.lon !== undefined) {
    // 0.1-degree cells (~11 km): finer than IP geolocation can tell places apart.
    return `@${Math.round(client.lat * 10)},${Math.round(client.lon * 10)}`;
  }
  return '';
}

function computeLocationCandidates(plan: RoutingPlan, client: ClientLocation): Candidate[] {
  const out: Candidate[] = [];
  const add = (bucket: PlannedBucket, reason: CandidateReason): void => {
    if (out.length < plan.maxCandidates && !out.some((c) => c.bucket === bucket)) out.push({ bucket, reason });
  };
  if (client.provider !== undefined) {
    const sameRegion = client.region === undefined ? undefined : plan.byRegion.get(client.provider)?.get(client.region);
    for (const bucket of sameRegion ?? []) add(bucket, 'region');
    const sameProvider = plan.byProvider.get(client.provider);
    if (sameProvider !== undefined && plan.rank !== undefined && client.region !== undefined) {
      for (const bucket of plan.rank(client, sameProvider)) add(bucket, 'provider-nearest');
    }
  } else if (plan.config.routing.others === 'nearest' && plan.rank !== undefined && client.lat !== undefined) {
    for (const bucket of plan.rank(client, plan.buckets)) add(bucket, 'nearest');
  }
  if (plan.defaultBucket !== undefined) add(plan.defaultBucket, 'default');
  return out;
}
