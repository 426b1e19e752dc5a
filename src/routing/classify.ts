/**
 * Classifies a raw request target against the OCI distribution-spec grammar. Pure: no config,
 * no I/O. Works on the target exactly as the client sent it (never decoded), so `%2e%2e`,
 * `%2F` and friends simply fail the grammar instead of being interpreted.
 */
import { DIGEST_FORM, isValidDigest, SHA256_LENGTH } from './digest.js';

export type OciErrorCode =
  | 'NAME_INVALID'
  | 'DIGEST_INVALID'
  | 'MANIFEST_INVALID'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

export type Route =
  | { kind: 'root' }
  | { kind: 'privacy' }
  | { kind: 'ping' }
  | { kind: 'catalog' }
  | { kind: 'manifest'; name: string; reference: string; signature: boolean }
  | { kind: 'tags'; name: string; query: string }
  | { kind: 'referrers'; name: string; digest: string; query: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'invalid'; code: OciErrorCode; message: string }
  | { kind: 'too_long' }
  | { kind: 'unsupported' }
  | { kind: 'not_found' };

export type RouteKind = Route['kind'];

/** Longest request target we interpret; anything longer is refused before parsing. */
export const MAX_TARGET_LENGTH = 4096;
/** Longest repository name; what common registries accept. */
export const MAX_NAME_LENGTH = 255;

// distribution-spec: path-component = [a-z0-9]+ (separator [a-z0-9]+)*, separator = [_.] | __ | [-]+
const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const COSIGN_TAG = /^sha256-[a-f0-9]{64}\.(?:sig|att|sbom)$/;
// Query strings are copied into Location verbatim, so they must be safe header bytes.
const SAFE_QUERY = /^[\x21-\x22\x24-\x7e]*$/;

// Routes without fields are made once: every ping (a load balancer's health check) would otherwise allocate one.
const TOO_LONG_ROUTE: Route = { kind: 'too_long' };
const ROOT_ROUTE: Route = { kind: 'root' };
const PRIVACY_ROUTE: Route = { kind: 'privacy' };
const PING_ROUTE: Route = { kind: 'ping' };
const NOT_FOUND_ROUTE: Route = { kind: 'not_found' };
const CATALOG_ROUTE: Route = { kind: 'catalog' };
const UNSUPPORTED_ROUTE: Route = { kind: 'unsupported' };
const INVALID_QUERY: Route = invalid('UNSUPPORTED', 'query string contains characters that are not allowed');
const DIGEST_ERROR: Route = invalid('DIGEST_INVALID', `invalid digest: expected ${DIGEST_FORM}`);

function invalid(code: OciErrorCode, message: string): Route {
  return { kind: 'invalid', code, message };
}

function validName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

function nameError(name: string): Route {
  return invalid(
    'NAME_INVALID',
    name.length > MAX_NAME_LENGTH
      ? `repository name longer than ${MAX_NAME_LENGTH} characters`
      : 'invalid repository name: components must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)* separated by /',
  );
}

/**
 * The index of the last `/` at or before `from`, or -1. A loop over character codes: the path's
 * leaf is a tag or a digest, and String.prototype.lastIndexOf is a call into the runtime that
 * cost more than the scan, twice per request.
 */
function lastSlash(text: string, from: number): number {
  let i = from;
  while (i >= 0 && text.charCodeAt(i) !== 47 /* / */) i--;
  return i;
}

/**
 * Whether a digest is one already held to the grammar, so the classifier need not test it again
 * (the existence cache's keys, every one of which came through here). Asked with the very string
 * the route carries on, so the cache lookup that follows finds its hash already computed.
 */
export type KnownDigests = (digest: string) => boolean;

const NO_KNOWN_DIGESTS: KnownDigests = () => false;

/**
 * Where the slash before a sha256 digest leaf would be, found without scanning the leaf's 71
 * characters; -1 when the path does not end like one. Most requests name a blob by such a leaf.
 */
function sha256LeafSlash(path: string): number {
  const slash = path.length - SHA256_LENGTH - 1;
  return slash > 4 && path.charCodeAt(slash) === 47 /* / */ && path.startsWith('sha256:', slash + 1) ? slash : -1;
}

export function classify(target: string, known: KnownDigests = NO_KNOWN_DIGESTS): Route {
  if (target.length > MAX_TARGET_LENGTH) return TOO_LONG_ROUTE;
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);

  if (path === '/') return ROOT_ROUTE;
  if (path === '/privacy') return PRIVACY_ROUTE;
  if (path === '/v2' || path === '/v2/') return PING_ROUTE;
  if (!path.startsWith('/v2/')) return NOT_FOUND_ROUTE;
  if (path === '/v2/_catalog') return CATALOG_ROUTE;

  // `/v2/<name>/<verb>/<leaf>`, split by offsets into the path itself: the slash at index 3 is
  // the one before the name, so a last or second-last slash there or at 4 leaves no name.
  // A leaf that is a digest holds no slash, so the one before it is the path's last; any other
  // leaf is found by the scan and held to the grammar below.
  let last = sha256LeafSlash(path);
  let leaf = last < 0 ? '' : path.slice(last + 1);
  const digestOk = last >= 0 && (known(leaf) || isValidDigest(leaf));
  if (!digestOk) {
    last = lastSlash(path, path.length - 1);
    leaf = path.slice(last + 1);
  }
  if (last <= 4) return UNSUPPORTED_ROUTE;
  const second = lastSlash(path, last - 1);
  if (second <= 4) return UNSUPPORTED_ROUTE;
  const verb = path.slice(second + 1, last);
  const name = path.slice(4, second);

  switch (verb) {
    case 'manifests': {
      if (!validName(name)) return nameError(name);
      if (leaf.includes(':')) {
        if (!digestOk && !isValidDigest(leaf)) return DIGEST_ERROR;
        return { kind: 'manifest', name, reference: leaf, signature: false };
      }
      if (!TAG.test(leaf)) {
        return invalid('MANIFEST_INVALID', 'invalid tag: expected [A-Za-z0-9_][A-Za-z0-9._-]{0,127} or a digest');
      }
      // Most tags are versions: the prefix test spares them a second regex run.
      return { kind: 'manifest', name, reference: leaf, signature: leaf.startsWith('sha256-') && COSIGN_TAG.test(leaf) };
    }
    case 'blobs': {
      if (leaf === 'uploads') return UNSUPPORTED_ROUTE;
      if (!validName(name)) return nameError(name);
      if (!digestOk && !isValidDigest(leaf)) return DIGEST_ERROR;
      return { kind: 'blob', name, digest: leaf };
    }
    case 'referrers': {
      if (!validName(name)) return nameError(name);
      if (!digestOk && !isValidDigest(leaf)) return DIGEST_ERROR;
      if (!SAFE_QUERY.test(query)) return INVALID_QUERY;
      return { kind: 'referrers', name, digest: leaf, query };
    }
    case 'tags': {
      if (leaf !== 'list') return UNSUPPORTED_ROUTE;
      if (!validName(name)) return nameError(name);
      if (!SAFE_QUERY.test(query)) return INVALID_QUERY;
      return { kind: 'tags', name, query };
    }
    default:
      return UNSUPPORTED_ROUTE;
  }
}
