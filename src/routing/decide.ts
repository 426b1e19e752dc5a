import type { OciErrorCode, Route } from './classify.js';
import { originUrl, type RoutingPlan } from './plan.js';

export type RedirectTarget = 'origin' | 'signatures' | 'info' | 'privacy';

/** Everything but blobs is decided from the route and the configuration alone. */
export type Decision =
  | { type: 'redirect'; location: string; target: RedirectTarget }
  | { type: 'ping' }
  | { type: 'blob'; name: string; digest: string }
  | { type: 'error'; status: number; code: OciErrorCode | undefined; message: string };

export const ALLOWED_METHODS = 'GET, HEAD';

export function isReadMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

const NOT_FOUND: Decision = { type: 'error', status: 404, code: undefined, message: '404 page not found' };
const UNSUPPORTED: Decision = {
  type: 'error',
  status: 404,
  code: 'UNSUPPORTED',
  message: 'this registry front door serves pulls only: /v2/<name>/manifests|blobs|tags/list|referrers',
};
const CATALOG: Decision = { type: 'error', status: 404, code: 'UNSUPPORTED', message: 'catalog listing is not supported' };
const TOO_LONG: Decision = { type: 'error', status: 414, code: 'UNSUPPORTED', message: 'request target too long' };
const PING: Decision = { type: 'ping' };

export function decide(route: Route, plan: RoutingPlan): Decision {
  switch (route.kind) {
    case 'ping':
      return PING;
    case 'manifest':
      return route.signature
        ? { type: 'redirect', location: originUrl(plan.signaturesPrefix, route.name, `manifests/${route.reference}`), target: plan.config.signatures.url === '' ? 'origin' : 'signatures' }
        : { type: 'redirect', location: originUrl(plan.originPrefix, route.name, `manifests/${route.reference}`), target: 'origin' };
    case 'blob':
      return { type: 'blob', name: route.name, digest: route.digest };
    case 'tags':
      return { type: 'redirect', location: originUrl(plan.originPrefix, route.name, `tags/list${route.query}`), target: 'origin' };
    case 'referrers':
      return { type: 'redirect', location: originUrl(plan.originPrefix, route.name, `referrers/${route.digest}${route.query}`), target: 'origin' };
    case 'root':
      return plan.config.info_url === '' ? NOT_FOUND : { type: 'redirect', location: plan.config.info_url, target: 'info' };
    case 'privacy':
      return plan.config.privacy_url === '' ? NOT_FOUND : { type: 'redirect', location: plan.config.privacy_url, target: 'privacy' };
    case 'catalog':
      return CATALOG;
    case 'invalid':
      return { type: 'error', status: 400, code: route.code, message: route.message };
    case 'too_long':
      return TOO_LONG;
    case 'unsupported':
      return UNSUPPORTED;
    case 'not_found':
      return NOT_FOUND;
  }
}

/** The OCI distribution-spec error document. */
export function ociErrorBody(code: OciErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}
