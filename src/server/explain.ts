import { classify } from '../routing/classify.js';
import { decide, isReadMethod } from '../routing/decide.js';
import { blobCandidates } from '../routing/candidates.js';
import { ipFamily, normalizeIp } from '../net/ip.js';
import type { ClientLocation } from '../geo/types.js';
import { routeBlob, type CheckTrace } from './route-blob.js';
import type { Runtime } from './runtime.js';

export interface ExplainRequest {
  ip: string;
  path: string;
  method: string;
}

export interface Explanation {
  request: ExplainRequest;
  route: string;
  client: ({ ip: string } & ClientLocation) | undefined;
  candidates: Array<{ bucket: string; reason: string; url: string; distance_km: number | undefined }>;
  checks: CheckTrace[];
  status: number;
  target: string;
  location: string | undefined;
  error: string | undefined;
}

/**
 * The decision for one request and why, produced by the same functions the server runs
 * (classify, decide, blobCandidates, routeBlob), existence checks included.
 */
export async function explain(rt: Runtime, request: ExplainRequest): Promise<Explanation> {
  const base: Explanation = {
    request,
    route: 'invalid',
    client: undefined,
    candidates: [],
    checks: [],
    status: 0,
    target: 'none',
    location: undefined,
    error: undefined,
  };
  if (!isReadMethod(request.method)) return { ...base, status: 405, error: 'method not allowed' };
  const route = classify(request.path);
  const decision = decide(route, rt.plan);
  base.route = route.kind;
  switch (decision.type) {
    case 'ping':
      return { ...base, status: 200 };
    case 'error':
      return { ...base, status: decision.status, error: decision.code === undefined ? decision.message : `${decision.code}: ${decision.message}` };
    case 'redirect':
      return { ...base, status: 307, target: decision.target, location: decision.location };
    case 'blob': {
      const ip = normalizeIp(request.ip);
      const family = ipFamily(ip);
      if (family === undefined) return { ...base, status: 400, error: `invalid client address ${JSON.stringify(request.ip)}` };
      // Routing sees what the server sees (locate); the report shows everything known (describe).
      const located = rt.locator.locate(ip);
      const client = rt.locator.describe(ip);
      const distance = rt.distanceKm ?? (() => undefined);
      const candidates = blobCandidates(rt.plan, ip, family, located).map((c) => ({
        bucket: c.bucket.name,
        reason: c.reason,
        url: c.bucket.keyPrefix + decision.digest + c.bucket.keySuffix,
        distance_km: distance(client, c.bucket.config),
      }));
      const checks: CheckTrace[] = [];
      const outcome = await routeBlob(rt, decision.name, decision.digest, ip, family, checks);
      return { ...base, client: { ip, ...client }, candidates, checks, status: 307, target: outcome.target, location: outcome.location };
    }
  }
}
