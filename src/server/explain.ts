import { redactSecrets } from '../signing/index.js';
import type { ClientLocation } from '../geo/types.js';
import type { Answer } from '../routing/decide.js';
import { bucketBlobUrl } from '../routing/plan.js';
import { decideRequest, givenClient, newTrace, type DecisionTrace } from '../routing/request.js';
import type { CheckTrace } from '../routing/route-blob.js';
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
  /** The origin host the answer points at (primary or replica) and why; undefined when it points elsewhere. */
  origin: DecisionTrace['origin'];
  status: number;
  target: string;
  location: string | undefined;
  /** Why a blob goes to the origin rather than to a bucket. */
  reason: string | undefined;
  error: string | undefined;
}

/**
 * The decision for one request and why: the request handler's own decision function run with
 * a trace (existence checks included, so a cold cache sends HEADs as the server would).
 */
export async function explain(rt: Runtime, request: ExplainRequest): Promise<Explanation> {
  // The report describes everything known about the client, city data included.
  await rt.locator.geography;
  const trace = newTrace();
  const answer = await decideRequest(rt, request.method, request.path, givenClient(request.ip), trace);
  const origin = answer.type === 'redirect' && answer.origin !== undefined ? (trace.origin ?? { host: answer.origin, reason: 'primary' as const }) : undefined;
  return { request, route: trace.route ?? 'invalid', ...clientPart(rt, trace), checks: trace.checks, origin, ...answerPart(answer) };
}

/** Routing used what the server sees (locate); the report shows everything known (describe). */
function clientPart(rt: Runtime, trace: DecisionTrace): Pick<Explanation, 'client' | 'candidates'> {
  const { ip, digest } = trace;
  if (ip === undefined) return { client: undefined, candidates: [] };
  const client = rt.locator.describe(ip);
  if (digest === undefined) return { client: { ip, ...client }, candidates: [] };
  const distance = rt.distanceKm ?? (() => undefined);
  const candidates = trace.candidates.map((c) => ({
    bucket: c.bucket.name,
    reason: c.reason,
    url: bucketBlobUrl(c.bucket, digest),
    distance_km: distance(client, c.bucket.config),
  }));
  return { client: { ip, ...client }, candidates };
}

function answerPart(answer: Answer): Pick<Explanation, 'status' | 'target' | 'location' | 'reason' | 'error'> {
  switch (answer.type) {
    case 'redirect':
      // A private bucket's Location is a bearer credential for that blob: never printed whole.
      return { status: 307, target: answer.target, location: redactSecrets(answer.location), reason: answer.reason, error: undefined };
    case 'ping':
      return { status: 200, target: 'none', location: undefined, reason: undefined, error: undefined };
    case 'error':
      return {
        status: answer.status,
        target: 'none',
        location: undefined,
        reason: undefined,
        error: redactSecrets(answer.code === undefined ? answer.message : `${answer.code}: ${answer.message}`),
      };
  }
}
