/**
 * Recorded request expectations for the GCS JSON API, not an emulator: no maintained local
 * GCS server ships on npm or in Debian. This answers the few requests @google-cloud/storage
 * makes for sync (object metadata, listing, media download, multipart and resumable uploads)
 * the way the API reference documents them, and records every request for the assertions.
 * An upload becomes an object only when its body is complete.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GcsRequest {
  method: string;
  target: string;
  headers: IncomingMessage['headers'];
}

async function body(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of request) chunks.push(chunk as Buffer);
  } catch {
    return undefined;
  }
  return request.complete ? Buffer.concat(chunks) : undefined;
}

/** The content part of a `multipart/related` upload (metadata first, media second). */
function mediaPart(raw: Buffer, contentType: string): Buffer | undefined {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (boundary === undefined) return undefined;
  const text = raw.toString('latin1');
  const parts = text.split(`--${boundary}`).slice(1, -1);
  const media = parts[1];
  if (media === undefined) return undefined;
  const start = media.indexOf('\r\n\r\n') + 4;
  return Buffer.from(media.slice(start, media.length - 2), 'latin1');
}

export class GcsExpectations {
  readonly objects = new Map<string, Buffer>();
  readonly requests: GcsRequest[] = [];
  private readonly sessions = new Map<string, { name: string; chunks: Buffer[] }>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private metadata(bucket: string, name: string): string {
    return JSON.stringify({ kind: 'storage#object', bucket, name, size: String(this.objects.get(name)?.length ?? 0), generation: '1' });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    this.requests.push({ method: request.method ?? '', target: url.pathname + url.search, headers: request.headers });
    const json = (status: number, text: string): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(text);
    const objectPath = /^\/(?:storage|download\/storage)\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    if (request.method === 'GET' && objectPath) {
      const name = decodeURIComponent(objectPath[2] ?? '');
      const bytes = this.objects.get(name);
      if (bytes === undefined) return json(404, '{"error":{"code":404,"message":"No such object"}}');
      if (url.searchParams.get('alt') === 'media') return void response.writeHead(200, { 'content-length': bytes.length }).end(bytes);
      return json(200, this.metadata(objectPath[1] ?? '', name));
    }
    const listPath = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (request.method === 'GET' && listPath) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const items = [...this.objects.keys()].filter((name) => name.startsWith(prefix)).map((name) => JSON.parse(this.metadata(listPath[1] ?? '', name)) as unknown);
      return json(200, JSON.stringify({ kind: 'storage#objects', items }));
    }
    const uploadPath = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (uploadPath) return this.upload(request, response, url, uploadPath[1] ?? '', json);
    json(400, `{"error":{"code":400,"message":"unexpected ${request.method} ${url.pathname}"}}`);
  }

  private async upload(request: IncomingMessage, response: ServerResponse, url: URL, bucket: string, json: (status: number, text: string) => void): Promise<void> {
    const raw = await body(request);
    if (raw === undefined) return;
    const type = url.searchParams.get('uploadType');
    if (type === 'multipart') {
      const media = mediaPart(raw, request.headers['content-type'] ?? '');
      const name = url.searchParams.get('name') ?? (JSON.parse(raw.toString('latin1').split('\r\n\r\n')[1]?.split('\r\n')[0] ?? '{}') as { name?: string }).name ?? '';
      if (media === undefined) return json(400, '{"error":{"code":400}}');
      this.objects.set(name, media);
      return json(200, this.metadata(bucket, name));
    }
    const sessionId = url.searchParams.get('upload_id');
    if (sessionId === null) {
      const name = url.searchParams.get('name') ?? (JSON.parse(raw.toString('utf8') || '{}') as { name?: string }).name ?? '';
      const id = String(this.sessions.size + 1);
      this.sessions.set(id, { name, chunks: [] });
      return void response.writeHead(200, { location: `${this.url}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&upload_id=${id}` }).end();
    }
    const session = this.sessions.get(sessionId);
    if (session === undefined) return json(404, '{}');
    session.chunks.push(raw);
    // `bytes 0-*/*`: the whole rest in this request, final when the request body completes.
    const range = /bytes (\d+)-(\d+|\*)\/(\d+|\*)/.exec(request.headers['content-range'] ?? '');
    const received = session.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const final = range !== null && (range[3] === '*' ? range[2] === '*' : received === Number(range[3]));
    if (final) {
      this.objects.set(session.name, Buffer.concat(session.chunks));
      return json(200, this.metadata(bucket, session.name));
    }
    response.writeHead(308, received > 0 ? { range: `bytes=0-${received - 1}` } : {}).end();
  }
}
