/**
 * A scripted distribution-API server for the sync unit tests: the behaviours the real
 * registry (used in test/e2e) cannot be made to show on demand: 429 with Retry-After, 503s,
 * connections reset mid-body, tiny pages, a referrers API, basic or bearer auth.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BuiltArtifact } from '../../support/e2e/oci.js';

export type AuthMode = { kind: 'none' } | { kind: 'basic'; user: string; password: string } | { kind: 'bearer'; user?: string; password?: string };

export interface Fault {
  /** Matched against `METHOD path`. */
  match: RegExp;
  times: number;
  respond: (response: ServerResponse, request: IncomingMessage) => void;
}

export interface LoggedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

interface Repository {
  tags: Map<string, string>;
  content: Map<string, Buffer>;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function mediaTypeOf(bytes: Buffer): string | undefined {
  if (bytes[0] !== 0x7b) return undefined;
  try {
    const value = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; layers?: unknown };
    if (typeof value.mediaType === 'string' && /manifest|index/.test(value.mediaType)) return value.mediaType;
    if (Array.isArray(value.manifests) || Array.isArray(value.layers)) return 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    return undefined;
  }
  return undefined;
}

export class ScriptedRegistry {
  readonly repositories = new Map<string, Repository>();
  readonly faults: Fault[] = [];
  readonly log: LoggedRequest[] = [];
  readonly referrers = new Map<string, Buffer>();
  referrersApi = false;
  auth: AuthMode = { kind: 'none' };
  url = '';
  private server: Server | undefined;

  repository(name: string): Repository {
    let repository = this.repositories.get(name);
    if (repository === undefined) {
      repository = { tags: new Map(), content: new Map() };
      this.repositories.set(name, repository);
    }
    return repository;
  }

  push(name: string, tag: string, artifact: BuiltArtifact): void {
    const repository = this.repository(name);
    for (const [digest, bytes] of artifact.blobs) repository.content.set(digest, bytes);
    repository.tags.set(tag, artifact.descriptor.digest);
  }

  /** Adds raw manifest bytes under a tag (for hand-written manifests). */
  pushManifest(name: string, tag: string | undefined, manifest: unknown, blobs: Buffer[] = []): string {
    const repository = this.repository(name);
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = sha256(bytes);
    repository.content.set(digest, bytes);
    for (const blob of blobs) repository.content.set(sha256(blob), blob);
    if (tag !== undefined) repository.tags.set(tag, digest);
    return digest;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private authorized(request: IncomingMessage, url: URL, response: ServerResponse): boolean {
    const given = request.headers.authorization;
    const auth = this.auth;
    if (auth.kind === 'none') return true;
    if (auth.kind === 'basic') {
      if (given === `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`) return true;
      response.writeHead(401, { 'www-authenticate': 'Basic realm="scripted"' }).end();
      return false;
    }
    if (given?.startsWith('Bearer token-for-')) return true;
    const scope = url.pathname.startsWith('/v2/_catalog') ? 'registry:catalog:*' : 'repository:x:pull';
    response.writeHead(401, { 'www-authenticate': `Bearer realm="${this.url}/token",service="scripted",scope="${scope}"` }).end();
    return false;
  }

  private token(request: IncomingMessage, url: URL, response: ServerResponse): void {
    const auth = this.auth;
    const expected = auth.kind === 'bearer' && auth.user !== undefined ? `Basic ${Buffer.from(`${auth.user}:${auth.password ?? ''}`).toString('base64')}` : undefined;
    if (expected !== undefined && request.headers.authorization !== expected) {
      response.writeHead(401).end('{}');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `token-for-${url.searchParams.get('scope')}`, expires_in: 300 }));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://scripted');
    this.log.push({ method: request.method ?? '', path: url.pathname + url.search, authorization: request.headers.authorization });
    const fault = this.faults.find((candidate) => candidate.times > 0 && candidate.match.test(`${request.method} ${url.pathname}`));
    if (fault !== undefined) {
      fault.times--;
      fault.respond(response, request);
      return;
    }
    if (url.pathname === '/token') return this.token(request, url, response);
    if (!this.authorized(request, url, response)) return;
    if (url.pathname === '/v2/') return void response.writeHead(200).end('{}');
    if (url.pathname === '/v2/_catalog') return this.page(response, url, [...this.repositories.keys()].sort(), 'repositories');
    const match = /^\/v2\/(.+)\/(tags\/list|manifests|blobs|referrers)(?:\/([^/]+))?$/.exec(url.pathname);
    const repository = match ? this.repositories.get(match[1] ?? '') : undefined;
    if (!match || repository === undefined) return void response.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    const [, name = '', kind = '', reference = ''] = match;
    if (kind === 'tags/list') return this.page(response, url, [...repository.tags.keys()].sort(), 'tags', name);
    if (kind === 'referrers') return this.referrersAnswer(response, reference);
    const digest = repository.tags.get(reference) ?? reference;
    const bytes = repository.content.get(digest);
    if (bytes === undefined) return void response.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
    const type = kind === 'manifests' ? (mediaTypeOf(bytes) ?? 'application/octet-stream') : 'application/octet-stream';
    response.writeHead(200, { 'content-type': type, 'content-length': bytes.length, 'docker-content-digest': digest });
    response.end(request.method === 'HEAD' ? undefined : bytes);
  }

  private referrersAnswer(response: ServerResponse, digest: string): void {
    if (!this.referrersApi) return void response.writeHead(404).end();
    const body = this.referrers.get(digest) ?? Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
    response.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(body);
  }

  /** Pages of at most `n` (the client's, capped at 2 so every test paginates). */
  private page(response: ServerResponse, url: URL, all: string[], field: string, name?: string): void {
    const n = Math.min(2, Number(url.searchParams.get('n') ?? 2));
    const last = url.searchParams.get('last');
    const start = last === null ? 0 : all.indexOf(last) + 1;
    const items = all.slice(start, start + n);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (start + n < all.length) headers.link = `<${url.pathname}?n=${n}&last=${encodeURIComponent(items.at(-1) ?? '')}>; rel="next"`;
    response.writeHead(200, headers).end(JSON.stringify(name === undefined ? { [field]: items } : { name, [field]: items }));
  }
}
