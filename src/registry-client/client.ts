/**
 * The distribution API calls sync makes: catalog, tag lists (paginated), manifests (verified
 * against their digest), the referrers API, and blob bodies as streams.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CATALOG_SCOPE, pullScope } from './auth.js';
import { discard, header, readText } from './http.js';
import { PAGE_SIZE, nextPageUrl } from './link.js';
import { MANIFEST_ACCEPT, OCI_INDEX } from './media-types.js';
import { RegistryError, RegistrySession, type SessionOptions } from './session.js';

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

export interface OriginLocation {
  /** Base URL of the registry, no trailing slash. */
  url: string;
  /** Repository prefix on the origin (`origin.path`), no slashes around it; may be empty. */
  path: string;
}

const LIST_BODY_LIMIT = 16 * 1024 * 1024;
const MANIFEST_BODY_LIMIT = 4 * 1024 * 1024;
const MAX_PAGES = 100_000;

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export class RegistryClient {
  private readonly session: RegistrySession;

  constructor(private readonly origin: OriginLocation, options: SessionOptions) {
    this.session = new RegistrySession(options);
  }

  /** The repository's name on the origin, below `origin.path`. */
  originName(repository: string): string {
    return this.origin.path === '' ? repository : `${this.origin.path}/${repository}`;
  }

  private url(path: string): URL {
    return new URL(`${this.origin.url}/v2/${path}`);
  }

  /** Every repository below `origin.path`, as names relative to it. */
  async catalog(): Promise<string[]> {
    const names = await this.pages(this.url('_catalog'), CATALOG_SCOPE, 'repositories');
    const prefix = this.origin.path === '' ? '' : `${this.origin.path}/`;
    return names.filter((name) => name.startsWith(prefix)).map((name) => name.slice(prefix.length));
  }

  async tags(repository: string): Promise<string[]> {
    const name = this.originName(repository);
    return this.pages(this.url(`${name}/tags/list`), pullScope(name), 'tags');
  }

  private async pages(first: URL, scope: string, field: 'tags' | 'repositories'): Promise<string[]> {
    const names: string[] = [];
    let url: URL | undefined = new URL(first);
    url.searchParams.set('n', String(PAGE_SIZE));
    for (let page = 0; url !== undefined && page < MAX_PAGES; page++) {
      const response = await this.session.request({ method: 'GET', url, scope, accept: 'application/json' });
      const body = await readText(response.body, LIST_BODY_LIMIT);
      if (response.status === 404) throw new RegistryError(`GET ${url.pathname}: not found on the origin (404)`, 404);
      if (response.status !== 200) throw new RegistryError(`GET ${url.pathname} answered ${response.status}`, response.status);
      const list = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)[field];
      if (list !== null && list !== undefined && !Array.isArray(list)) throw new RegistryError(`GET ${url.pathname}: "${field}" is not a list`);
      for (const item of list ?? []) if (typeof item === 'string') names.push(item);
      url = nextPageUrl(header(response.headers, 'link'), url);
    }
    return names;
  }

  /** The manifest `reference` (tag or digest) names; undefined when the origin has none. */
  async manifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const name = this.originName(repository);
    const url = this.url(`${name}/manifests/${reference}`);
    const response = await this.session.request({ method: 'GET', url, scope: pullScope(name), accept: MANIFEST_ACCEPT });
    if (response.status === 404) {
      discard(response.body);
      return undefined;
    }
    const bytes = await readText(response.body, MANIFEST_BODY_LIMIT);
    if (response.status !== 200) throw new RegistryError(`manifest ${repository}:${reference}: origin answered ${response.status}`, response.status);
    const digest = sha256(bytes);
    if (reference.includes(':') && reference !== digest) {
      throw new RegistryError(`manifest ${repository}@${reference}: the origin's bytes hash to ${digest}`);
    }
    const contentType = (header(response.headers, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
    return { mediaType: contentType, digest, bytes };
  }

  /** The referrers index of a manifest; undefined when the origin has no referrers API. */
  async referrers(repository: string, digest: string): Promise<Buffer | undefined> {
    const name = this.originName(repository);
    const url = this.url(`${name}/referrers/${digest}`);
    const response = await this.session.request({ method: 'GET', url, scope: pullScope(name), accept: OCI_INDEX });
    const bytes = await readText(response.body, MANIFEST_BODY_LIMIT);
    if (response.status === 404 || response.status === 405 || response.status === 400) return undefined;
    if (response.status !== 200) throw new RegistryError(`referrers of ${repository}@${digest}: origin answered ${response.status}`, response.status);
    return bytes;
  }

  /** The blob's body stream (status 200); the caller verifies the bytes. */
  async openBlob(repository: string, digest: string): Promise<IncomingMessage> {
    const name = this.originName(repository);
    const url = this.url(`${name}/blobs/${digest}`);
    const response = await this.session.request({ method: 'GET', url, scope: pullScope(name) });
    if (response.status !== 200) {
      discard(response.body);
      throw new RegistryError(`blob ${repository}@${digest}: origin answered ${response.status}`, response.status);
    }
    return response.body;
  }
}
