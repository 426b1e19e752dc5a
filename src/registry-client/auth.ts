/**
 * Registry authentication as clients do it: read the `WWW-Authenticate` challenge of a 401,
 * then either send Basic credentials or fetch a bearer token from the named realm for the
 * scope the request needs (anonymously, or with the credentials as Basic). Parsing is pure.
 */

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  /** Lower case: `bearer`, `basic`, ... */
  scheme: string;
  params: Record<string, string>;
}

const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

/** Parses `Bearer realm="…",service="…",scope="…"` (RFC 9110 §11.6.1; one challenge is enough). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  const rest = match[2] ?? '';
  const params: Record<string, string> = {};
  if (TOKEN68.test(rest.trim())) return { scheme, params };
  const pair = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/gy;
  let found: RegExpExecArray | null;
  while ((found = pair.exec(rest)) !== null && found[0] !== '') {
    const key = (found[1] ?? '').toLowerCase();
    params[key] = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : (found[3] ?? '');
  }
  return { scheme, params };
}

export function basicHeader(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** The token endpoint URL for a scope; undefined when the challenge names no usable realm. */
export function tokenRequestUrl(challenge: Challenge, scope: string): URL | undefined {
  const realm = challenge.params.realm;
  if (realm === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
  if (scope !== '') url.searchParams.set('scope', scope);
  return url;
}

export interface TokenAnswer {
  token: string;
  /** Milliseconds the token may be reused for. */
  lifetimeMs: number;
}

/** Reads a token endpoint's JSON (`token` or `access_token`, `expires_in` seconds, default 60). */
export function parseTokenAnswer(body: string): TokenAnswer {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Error('token endpoint answered something other than JSON');
  }
  const record = (value ?? {}) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const token = typeof record.token === 'string' && record.token !== '' ? record.token : record.access_token;
  if (typeof token !== 'string' || token === '') throw new Error('token endpoint answered no token');
  const seconds = typeof record.expires_in === 'number' && record.expires_in > 0 ? record.expires_in : 60;
  // Renew a little early: a token that expires between our check and the origin's is a 401.
  return { token, lifetimeMs: Math.max(1, seconds - 5) * 1000 };
}

/** The pull scope of a repository, and the catalog scope. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export const CATALOG_SCOPE = 'registry:catalog:*';
