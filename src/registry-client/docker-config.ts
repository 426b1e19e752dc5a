/**
 * Credentials from a Docker `config.json`: the `auths` map, keyed by registry host (or URL),
 * each with a base64 `auth` of `user:password` (or separate `username`/`password`).
 * Credential helpers (`credsStore`) are programs, which a sync job does not run.
 */
import type { Credentials } from './auth.js';

/**
 * Docker Hub has one set of credentials under several names: `docker login` files them under
 * `https://index.docker.io/v1/`, while images are pulled from `registry-1.docker.io`.
 */
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** One name per registry: lower case, Docker Hub's aliases folded into `docker.io`. */
export function registryIdentity(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_HOSTS.has(lower.replace(/:443$/, '')) ? 'docker.io' : lower;
}

/** The registry an `auths` key names: `https://r.example:5000/v1/` → `r.example:5000`. */
export function authsKeyHost(key: string): string {
  const withoutScheme = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  return registryIdentity(withoutScheme.split('/')[0] ?? '');
}

function decodeEntry(entry: unknown, where: string): Credentials | undefined {
  if (entry === null || typeof entry !== 'object') return undefined;
  const record = entry as { auth?: unknown; username?: unknown; password?: unknown };
  if (typeof record.auth === 'string' && record.auth !== '') {
    const text = Buffer.from(record.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) throw new Error(`${where}: "auth" is not base64 of user:password`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof record.username === 'string' && typeof record.password === 'string') {
    return { username: record.username, password: record.password };
  }
  return undefined;
}

/** The credentials `config.json` text holds for `host` (host[:port]); undefined if none. */
export function dockerConfigCredentials(text: string, host: string, source: string): Credentials | undefined {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  const auths = (document as { auths?: unknown } | null)?.auths;
  if (auths === undefined || auths === null || typeof auths !== 'object') return undefined;
  const wanted = registryIdentity(host);
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (authsKeyHost(key) === wanted) return decodeEntry(entry, `${source}: auths["${key}"]`);
  }
  return undefined;
}
