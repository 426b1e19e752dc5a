import type { IpFamily } from '../net/ip.js';
import { AWAITING_GEOGRAPHY, type ClientLocation, type Locator } from '../geo/types.js';
import type { CheckNote, ExistenceChecker, Presence } from '../blobs/types.js';
import { bucketLocation, originUrl, type RoutingPlan } from './plan.js';
import { blobCandidates, type Candidate } from './candidates.js';
import { redirect, type RedirectAnswer } from './decide.js';
import type { OriginReason, PlannedOrigin } from './origin-choice.js';
import { chosenOrigin, originPreferenceFor } from './origin-table.js';

/** What blob routing reads from a runtime generation. */
export interface BlobRouting {
  readonly plan: RoutingPlan;
  readonly locator: Locator;
  readonly checker: ExistenceChecker;
}

/** One candidate as the decision saw it: for `explain` and `/debug/route`. */
export interface CheckTrace extends CheckNote {
  bucket: string;
  reason: Candidate['reason'];
  presence: Presence | 'skipped';
  cached: boolean;
}

/** What a blob decision looked at; filled in only when the caller asks for it. */
export interface BlobTrace {
  ip: string | undefined;
  digest: string | undefined;
  located: ClientLocation | undefined;
  candidates: readonly Candidate[];
  checks: CheckTrace[];
  /** The origin replica chosen, when the answer went to an origin, and why. */
  origin: { host: string; reason: OriginReason | 'failover' | 'unknown-client' } | undefined;
}

/** The origin for this client now; with a trace, also why (failover when its best replica is down). */
export function chooseOrigin(plan: RoutingPlan, client: ClientLocation, trace?: BlobTrace): PlannedOrigin {
  const origin = chosenOrigin(plan.origins, client);
  if (trace !== undefined) {
    const preference = originPreferenceFor(plan.origins, client);
    const best = preference.order[0];
    trace.origin = { host: origin.host, reason: best !== undefined && best !== origin ? 'failover' : preference.reason };
  }
  return origin;
}

/*
 * Why a blob went to the origin, for its log line. The most telling one wins: a failed check
 * over a skipped bucket over a plain absence, since only the first two need an operator.
 */
const NO_CANDIDATE = 'no candidate bucket';
const ABSENT = 'absent in every candidate';
const UNHEALTHY = 'bucket unhealthy';

function worse(current: string, next: string): string {
  return current === NO_CANDIDATE || current === ABSENT || (current === UNHEALTHY && next !== ABSENT) ? next : current;
}

/**
 * Picks where a blob is fetched from: the first candidate bucket that holds it, else the origin.
 * Returns synchronously when every answer is cached (the common case), so a warm blob redirect
 * costs no promise and no closure; only a cache miss awaits a HEAD. With a `trace`, records
 * every step in it (no trace, no record).
 */
export function routeBlob(
  rt: BlobRouting,
  name: string,
  digest: string,
  ip: string,
  family: IpFamily,
  trace?: BlobTrace,
): RedirectAnswer | Promise<RedirectAnswer> {
  const client = rt.locator.locate(ip);
  if (client === AWAITING_GEOGRAPHY) return afterGeography(rt, () => routeBlob(rt, name, digest, ip, family, trace));
  const candidates = blobCandidates(rt.plan, ip, family, client);
  if (trace !== undefined) {
    trace.ip = ip;
    trace.digest = digest;
    trace.located = client;
    trace.candidates = candidates;
  }
  return tryCandidates(rt, candidates, 0, NO_CANDIDATE, name, digest, client, trace);
}

/**
 * Decides again once the city data a first start-up loads in the background is in use: the
 * wait is that load's remaining time, at most once per client, and only until it is done.
 */
export async function afterGeography<T>(rt: BlobRouting, decideAgain: () => T | Promise<T>): Promise<T> {
  await rt.locator.geography;
  return decideAgain();
}

function tryCandidates(
  rt: BlobRouting,
  candidates: readonly Candidate[],
  from: number,
  fallback: string,
  name: string,
  digest: string,
  client: ClientLocation,
  trace: BlobTrace | undefined,
): RedirectAnswer | Promise<RedirectAnswer> {
  const { checker } = rt;
  let reason = fallback;
  for (let i = from; i < candidates.length; i++) {
    const candidate = candidates[i] as Candidate;
    const bucket = candidate.bucket.config;
    const step = trace === undefined ? undefined : traced(trace, candidate);
    if (!checker.available(bucket, step)) {
      reason = worse(reason, UNHEALTHY);
      continue;
    }
    const cached = checker.peek(bucket, digest);
    if (cached !== undefined) {
      if (step !== undefined) settle(step, cached, true);
      if (cached === 'present') return toBucket(rt.plan, candidate, name, digest, client);
      reason = worse(reason, cached === 'absent' ? ABSENT : UNHEALTHY);
      continue;
    }
    // A miss pays for a note even untraced: the log line says why a failed check fell through.
    const note: CheckNote = step ?? { cause: undefined };
    const sofar = reason;
    return checker.check(bucket, digest, note).then((presence) => {
      if (step !== undefined) settle(step, presence, false);
      if (presence === 'present') return toBucket(rt.plan, candidate, name, digest, client);
      const next = presence === 'absent' ? ABSENT : `check failed: ${bucket.name}: ${note.cause ?? 'unknown'}`;
      return tryCandidates(rt, candidates, i + 1, worse(sofar, next), name, digest, client, trace);
    });
  }
  const origin = chooseOrigin(rt.plan, client, trace);
  return redirect('blob', originUrl(origin.prefix, name, `blobs/${digest}`), 'origin', name, client, reason, origin.host);
}

function toBucket(plan: RoutingPlan, candidate: Candidate, name: string, digest: string, client: ClientLocation): RedirectAnswer {
  return redirect('blob', bucketLocation(candidate.bucket, digest, plan), candidate.bucket.name, name, client);
}

/** A trace entry for a candidate, `skipped` until a check settles it. */
function traced(trace: BlobTrace, candidate: Candidate): CheckTrace {
  const step: CheckTrace = { bucket: candidate.bucket.name, reason: candidate.reason, presence: 'skipped', cached: false, cause: undefined };
  trace.checks.push(step);
  return step;
}

function settle(step: CheckTrace, presence: Presence, cached: boolean): void {
  step.presence = presence;
  step.cached = cached;
}
