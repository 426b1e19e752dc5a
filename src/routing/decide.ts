import type { OciErrorCode, Route, RouteKind } from './classify.js';
import type { ClientLocation } from '../geo/types.js';
import { originUrl, type RoutingPlan } from './plan.js';
import type { PlannedOrigin } from './origin-choice.js';

/** What the log line and the metrics call a request: its route, or why it never got one. */
export type AnswerKind = RouteKind | 'method_not_allowed';

export type RedirectTarget = 'origin' | 'signatures' | 'info' | 'privacy';

/** A 307. Every redirect, blob or not, has this one shape (built by `redirect`). */
export interface RedirectAnswer {
  readonly type: 'redirect';
  readonly kind: AnswerKind;
  readonly location: string;
  /** A RedirectTarget, or the name of the bucket a blob goes to. */
  readonly target: string;
  /** Repository name, when the route has one. */
  readonly repo: string | undefined;
  /** Where a blob's client is; undefined for other routes. */
  readonly client: ClientLocation | undefined;
  /** Why a blob went to the origin rather than to a bucket; undefined otherwise. */
  readonly reason: string | undefined;
  /** The host of the origin replica (or primary) it points at; undefined when it points elsewhere. */
  readonly origin: string | undefined;
}

export interface PingAnswer {
  readonly type: 'ping';
  readonly kind: 'ping';
}

export interface ErrorAnswer {
  readonly type: 'error';
  readonly kind: AnswerKind;
  readonly status: number;
  /** The OCI error code; undefined for the plain-text 404 outside /v2/. */
  readonly code: OciErrorCode | undefined;
  readonly message: string;
  readonly repo: string | undefined;
}

/** How one request is answered: everything the response and its log line need. */
export type Answer = RedirectAnswer | PingAnswer | ErrorAnswer;

/** Every route but a blob's: decided from the route and the configuration alone. */
export type StaticRoute = Exclude<Route, { kind: 'blob' }>;

export const ALLOWED_METHODS = 'GET, HEAD';

export function isReadMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

export function redirect(
  kind: AnswerKind,
  location: string,
  target: string,
  repo: string | undefined,
  client?: ClientLocation,
  reason?: string,
  origin?: string,
): RedirectAnswer {
  return { type: 'redirect', kind, location, target, repo, client, reason, origin };
}

export function refusal(kind: AnswerKind, status: number, code: OciErrorCode | undefined, message: string, repo?: string): ErrorAnswer {
  return { type: 'error', kind, status, code, message, repo };
}

export const METHOD_NOT_ALLOWED = refusal('method_not_allowed', 405, 'UNSUPPORTED', 'method not allowed: this front door serves pulls only (GET, HEAD)');

const PLAIN_NOT_FOUND = '404 page not found';
const NOT_FOUND = refusal('not_found', 404, undefined, PLAIN_NOT_FOUND);
const NO_INFO = refusal('root', 404, undefined, PLAIN_NOT_FOUND);
const NO_PRIVACY = refusal('privacy', 404, undefined, PLAIN_NOT_FOUND);
const UNSUPPORTED = refusal('unsupported', 404, 'UNSUPPORTED', 'this registry front door serves pulls only: /v2/<name>/manifests|blobs|tags/list|referrers');
const CATALOG = refusal('catalog', 404, 'UNSUPPORTED', 'catalog listing is not supported');
const TOO_LONG = refusal('too_long', 414, 'UNSUPPORTED', 'request target too long');
const PING: PingAnswer = { type: 'ping', kind: 'ping' };

/**
 * The answer for every route but a blob's. Manifests, tags and referrers go to `origin`: the
 * replica chosen for the client (request.ts), the primary when none is configured or the
 * client could not be placed. `client` is where that choice placed it, for the log line.
 */
export function decide(route: StaticRoute, plan: RoutingPlan, origin: PlannedOrigin = plan.origins.primary, client?: ClientLocation): Answer {
  switch (route.kind) {
    case 'ping':
      return PING;
    case 'manifest':
      return route.signature && plan.signaturesPrefix !== ''
        ? redirect('manifest', originUrl(plan.signaturesPrefix, route.name, `manifests/${route.reference}`), 'signatures', route.name, client)
        : toOrigin('manifest', origin, route.name, `manifests/${route.reference}`, client);
    case 'tags':
      return toOrigin('tags', origin, route.name, `tags/list${route.query}`, client);
    case 'referrers':
      return toOrigin('referrers', origin, route.name, `referrers/${route.digest}${route.query}`, client);
    case 'root':
      return plan.config.info_url === '' ? NO_INFO : redirect('root', plan.config.info_url, 'info', undefined);
    case 'privacy':
      return plan.config.privacy_url === '' ? NO_PRIVACY : redirect('privacy', plan.config.privacy_url, 'privacy', undefined);
    case 'catalog':
      return CATALOG;
    case 'invalid':
      return refusal('invalid', 400, route.code, route.message);
    case 'too_long':
      return TOO_LONG;
    case 'unsupported':
      return UNSUPPORTED;
    case 'not_found':
      return NOT_FOUND;
  }
}

function toOrigin(kind: AnswerKind, origin: PlannedOrigin, name: string, rest: string, client: ClientLocation | undefined): RedirectAnswer {
  return redirect(kind, originUrl(origin.prefix, name, rest), 'origin', name, client, undefined, origin.host);
}

/** The OCI distribution-spec error document. */
export function ociErrorBody(code: OciErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}
