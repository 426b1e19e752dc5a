import type { IpFamily } from '../net/ip.js';
import type { ClientLocation } from '../geo/types.js';
import type { Presence } from '../blobs/types.js';
import { bucketBlobUrl, originUrl } from '../routing/plan.js';
import { blobCandidates, type Candidate } from '../routing/candidates.js';
import type { Runtime } from './runtime.js';

export interface BlobOutcome {
  location: string;
  /** `origin` or the bucket's name. */
  target: string;
  client: ClientLocation;
}

export interface CheckTrace {
  bucket: string;
  reason: Candidate['reason'];
  presence: Presence | 'skipped';
  cached: boolean;
}

function toOrigin(rt: Runtime, name: string, digest: string, client: ClientLocation): BlobOutcome {
  return { location: originUrl(rt.plan.originPrefix, name, `blobs/${digest}`), target: 'origin', client };
}

/**
 * Picks where a blob is fetched from: the first candidate bucket that holds it, else the origin.
 * Returns synchronously when every answer is cached (the common case), so a warm blob redirect
 * costs no promise; only a cache miss awaits a HEAD.
 */
export function routeBlob(
  rt: Runtime,
  name: string,
  digest: string,
  ip: string,
  family: IpFamily,
  trace?: CheckTrace[],
): BlobOutcome | Promise<BlobOutcome> {
  const client = rt.locator.locate(ip);
  const candidates = blobCandidates(rt.plan, ip, family, client);
  return tryCandidates(rt, candidates, 0, name, digest, client, trace);
}

function tryCandidates(
  rt: Runtime,
  candidates: readonly Candidate[],
  from: number,
  name: string,
  digest: string,
  client: ClientLocation,
  trace: CheckTrace[] | undefined,
): BlobOutcome | Promise<BlobOutcome> {
  const { checker } = rt;
  for (let i = from; i < candidates.length; i++) {
    const candidate = candidates[i] as Candidate;
    const bucket = candidate.bucket.config;
    if (!checker.available(bucket)) {
      trace?.push({ bucket: bucket.name, reason: candidate.reason, presence: 'skipped', cached: false });
      continue;
    }
    const cached = checker.peek(bucket, digest);
    if (cached === 'present') {
      trace?.push({ bucket: bucket.name, reason: candidate.reason, presence: cached, cached: true });
      return { location: bucketBlobUrl(candidate.bucket, digest), target: bucket.name, client };
    }
    if (cached !== undefined) {
      trace?.push({ bucket: bucket.name, reason: candidate.reason, presence: cached, cached: true });
      continue;
    }
    return checker.check(bucket, digest).then((presence) => {
      trace?.push({ bucket: bucket.name, reason: candidate.reason, presence, cached: false });
      if (presence === 'present') return { location: bucketBlobUrl(candidate.bucket, digest), target: bucket.name, client };
      return tryCandidates(rt, candidates, i + 1, name, digest, client, trace);
    });
  }
  return toOrigin(rt, name, digest, client);
}
