import type { IpFamily } from '../net/ip.js';
import type { ClientLocation } from '../geo/types.js';
import type { PlannedBucket, RoutingPlan } from './plan.js';

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
