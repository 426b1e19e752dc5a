import { BoundedMemo, MAP_ENTRY_BYTES, stringBytes } from '../cache-figures.js';
import type { IpFamily } from '../net/ip.js';
import type { ClientLocation } from '../geo/types.js';
import type { PlannedBucket, RoutingPlan } from './plan.js';
import { networkGroup, NO_GROUP } from './network-candidates.js';

/** Why a bucket is a candidate; shown by `explain` and in logs. */
export type CandidateReason = 'network' | 'region' | 'provider-nearest' | 'nearest' | 'default';

export interface Candidate {
  bucket: PlannedBucket;
  reason: CandidateReason;
}

const MAX_CANDIDATE_CACHE = 4096;
/** A 0.1° cell key is ~16 characters, a provider and region ~40; each list item is an object and a slot. */
const CANDIDATE_ENTRY_BYTES = MAP_ENTRY_BYTES + stringBytes('x'.repeat(64)) + 32;
const CANDIDATE_ITEM_BYTES = 48;

/** The location memo for one routing plan: lists are at most `blobs.candidates` long. */
export function newCandidateCache(maxCandidates: number): BoundedMemo<readonly Candidate[]> {
  const maxBytes = MAX_CANDIDATE_CACHE * (CANDIDATE_ENTRY_BYTES + CANDIDATE_ITEM_BYTES * maxCandidates);
  return new BoundedMemo<readonly Candidate[]>(MAX_CANDIDATE_CACHE, maxBytes, (list) => 32 + CANDIDATE_ITEM_BYTES * list.length);
}
const NO_CANDIDATES: readonly Candidate[] = Object.freeze([]);

/**
 * The buckets to try for a blob, best first, before falling back to the origin:
 * (1) buckets whose networks contain the client; (2) a provider rule `origin` stops there;
 * (3) buckets of the client's provider and region, then the same provider's nearest;
 * (4) the default bucket, or the nearest bucket for clients in no cloud with routing.others
 * `nearest`. At most `blobs.candidates` entries.
 */
export function blobCandidates(plan: RoutingPlan, ip: string, family: IpFamily, client: ClientLocation): readonly Candidate[] {
  const originOnly = client.provider !== undefined && plan.originProviders.has(client.provider);
  // The common case (no network buckets) allocates nothing: the memoised list is the answer.
  const group = plan.networkBuckets.length === 0 ? NO_GROUP : networkGroup(plan.networks, ip, family);
  if (group === NO_GROUP) return originOnly ? NO_CANDIDATES : locationCandidates(plan, client);
  const networks = plan.networks;
  const byNetwork = networks.candidates[group] as readonly Candidate[];
  if (originOnly) return byNetwork;
  const byLocation = locationCandidates(plan, client);
  if (networks.lastLocation[group] === byLocation) return networks.lastMerged[group] as readonly Candidate[];
  const merged = mergeCandidates(byNetwork, byLocation, plan.maxCandidates);
  networks.lastLocation[group] = byLocation;
  networks.lastMerged[group] = merged;
  return merged;
}

/** The network candidates, then the location's that are not among them, at most `max`. */
function mergeCandidates(byNetwork: readonly Candidate[], byLocation: readonly Candidate[], max: number): readonly Candidate[] {
  const out = byNetwork.slice();
  for (const candidate of byLocation) {
    if (out.length >= max) break;
    if (!out.some((c) => c.bucket === candidate.bucket)) out.push(candidate);
  }
  return Object.freeze(out);
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
