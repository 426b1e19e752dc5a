import { AWAITING_GEOGRAPHY } from '../geo/types.js';
import { parseForwardedEntry, type ClientIpResult } from '../net/client-ip.js';
import { classify } from './classify.js';
import { decide, isReadMethod, METHOD_NOT_ALLOWED, refusal, type Answer, type AnswerKind, type StaticRoute } from './decide.js';
import { afterGeography, chooseOrigin, routeBlob, type BlobRouting, type BlobTrace } from './route-blob.js';

/**
 * Where the client's address comes from. Asked only when the answer depends on it (blobs, and
 * manifests when origin replicas are configured), so otherwise a manifest request never parses
 * X-Forwarded-For; the server's implementation remembers the result for its log line.
 */
export interface ClientAddress {
  clientIp(): ClientIpResult;
}

/** Everything one decision looked at, for `explain` and `/debug/route`. */
export interface DecisionTrace extends BlobTrace {
  route: AnswerKind | undefined;
}

export function newTrace(): DecisionTrace {
  return { route: undefined, ip: undefined, digest: undefined, located: undefined, candidates: [], checks: [], origin: undefined };
}

/**
 * The one decision for a request, shared by the public handler, `explain` and `/debug/route`:
 * method, raw target (never decoded), then for blobs the client's address, its candidate
 * buckets and their existence checks. Synchronous unless a check needs a HEAD. With a `trace`,
 * also records what it looked at; without one it allocates nothing for it.
 */
export function decideRequest(
  rt: BlobRouting,
  method: string,
  target: string,
  client: ClientAddress,
  trace?: DecisionTrace,
): Answer | Promise<Answer> {
  if (!isReadMethod(method)) {
    if (trace !== undefined) trace.route = METHOD_NOT_ALLOWED.kind;
    return METHOD_NOT_ALLOWED;
  }
  const route = classify(target, rt.checker.knownDigest);
  if (trace !== undefined) trace.route = route.kind;
  if (route.kind !== 'blob') return rt.plan.origins.replicas.length === 0 || !ORIGIN_ROUTES.has(route.kind) ? decide(route, rt.plan) : toChosenOrigin(rt, route, client, trace);
  const ip = client.clientIp();
  if (!ip.ok) return refusal('blob', 400, 'UNSUPPORTED', `cannot determine the client address: ${ip.reason}`, route.name);
  return routeBlob(rt, route.name, route.digest, ip.ip, ip.family, trace);
}

const ORIGIN_ROUTES: ReadonlySet<AnswerKind> = new Set(['manifest', 'tags', 'referrers']);

/**
 * A manifest, tag list or referrers request with replicas configured: to the replica chosen
 * for where the client is. An address that cannot be read (a health check without
 * X-Forwarded-For) goes to the primary: never a 400 on manifests.
 */
function toChosenOrigin(rt: BlobRouting, route: StaticRoute, client: ClientAddress, trace: DecisionTrace | undefined): Answer | Promise<Answer> {
  const ip = client.clientIp();
  if (!ip.ok) {
    if (trace !== undefined) trace.origin = { host: rt.plan.origins.primary.host, reason: 'unknown-client' };
    return decide(route, rt.plan);
  }
  const located = rt.locator.locate(ip.ip);
  if (located === AWAITING_GEOGRAPHY) return afterGeography(rt, () => toChosenOrigin(rt, route, client, trace));
  if (trace !== undefined) {
    trace.ip = ip.ip;
    trace.located = located;
  }
  return decide(route, rt.plan, chooseOrigin(rt.plan, located, trace), located);
}

/**
 * A client address given outright (`explain --ip`, `/debug/route?ip=`), held to the rule the
 * server applies to the address a proxy reports: an IP literal, IPv4-mapped IPv6 unmapped,
 * an IPv6 zone id refused (it means something only on the proxy's own host).
 */
export function givenClient(text: string): ClientAddress & { readonly result: ClientIpResult } {
  const result = parseForwardedEntry(text);
  return { result, clientIp: () => result };
}
