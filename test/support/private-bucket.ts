import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';

/**
 * A private bucket on loopback: serves real files from a folder, but only to requests whose
 * signature its verifier accepts. Everything else gets 403 with the reason in
 * `x-refusal-reason` and an S3-style XML body, as a real bucket would refuse.
 */

export interface BucketRequest {
  method: string;
  /** The Host header as received: what the client signed. */
  host: string;
  /** The path exactly as sent, still percent-encoded. */
  rawPath: string;
  /** The query exactly as sent, without `?`. */
  rawQuery: string;
  query: URLSearchParams;
  /** Whether the request came over TLS (never, on this server). */
  secure: boolean;
}

export type Verdict = { ok: true } | { ok: false; reason: string };
export type RequestVerifier = (request: BucketRequest, nowMs: number) => Verdict | Promise<Verdict>;

export interface PrivateBucketOptions {
  verifier: RequestVerifier;
  /** Folder served: the decoded request path names a file under it. */
  dir: string;
  /** Epoch ms the bucket checks expiry against; default the real clock. */
  now?: () => number;
}

export interface BucketLogEntry {
  method: string;
  path: string;
  status: number;
  /** Body bytes sent: the object's size for a GET answered 200, else 0. */
  bytes: number;
  reason?: string;
}

export interface PrivateBucket {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  log: BucketLogEntry[];
  close(): Promise<void>;
}

function refuse(res: ServerResponse, status: number, code: string, reason: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${reason}</Message></Error>\n`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-refusal-reason': reason });
  res.end(body);
}

function parse(req: IncomingMessage): BucketRequest {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawQuery = q === -1 ? '' : target.slice(q + 1);
  return {
    method: req.method ?? 'GET',
    host: req.headers.host ?? '',
    rawPath: q === -1 ? target : target.slice(0, q),
    rawQuery,
    query: new URLSearchParams(rawQuery),
    secure: false,
  };
}

/** Status and body bytes of a verified request. */
async function serveFile(dir: string, request: BucketRequest, res: ServerResponse): Promise<{ status: number; bytes: number }> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(request.rawPath);
  } catch {
    refuse(res, 400, 'InvalidURI', 'bad percent-encoding');
    return { status: 400, bytes: 0 };
  }
  const path = resolve(dir, `.${decoded}`);
  if (!path.startsWith(resolve(dir) + sep)) {
    refuse(res, 400, 'InvalidURI', 'path escapes the bucket');
    return { status: 400, bytes: 0 };
  }
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    refuse(res, 404, 'NoSuchKey', 'no such key');
    return { status: 404, bytes: 0 };
  }
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': info.size });
  if (request.method === 'HEAD') {
    res.end();
    return { status: 200, bytes: 0 };
  }
  const body = await readFile(path);
  res.end(body);
  return { status: 200, bytes: body.length };
}

export async function startPrivateBucket(options: PrivateBucketOptions): Promise<PrivateBucket> {
  const log: BucketLogEntry[] = [];
  const now = options.now ?? Date.now;
  const server = createServer((req, res) => {
    const request = parse(req);
    void (async () => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        refuse(res, 405, 'MethodNotAllowed', 'read-only bucket');
        log.push({ method: request.method, path: request.rawPath, status: 405, bytes: 0 });
        return;
      }
      const verdict = await options.verifier(request, now());
      if (!verdict.ok) {
        refuse(res, 403, 'AccessDenied', verdict.reason);
        log.push({ method: request.method, path: request.rawPath, status: 403, bytes: 0, reason: verdict.reason });
        return;
      }
      log.push({ method: request.method, path: request.rawPath, ...(await serveFile(options.dir, request, res)) });
    })().catch((error: unknown) => {
      refuse(res, 500, 'InternalError', String(error));
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

export interface BucketReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  reason?: string;
}

/**
 * Sends `method url` to the bucket on loopback. `host` overrides the Host header, so a
 * virtual-hosted URL (`bucket.s3.<region>.amazonaws.com`) reaches the local server as the
 * client would send it to S3.
 */
export function send(bucket: PrivateBucket, method: 'GET' | 'HEAD', url: string, host?: string): Promise<BucketReply> {
  const target = new URL(url);
  return new Promise((resolveReply, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: bucket.port, method, path: target.pathname + target.search, headers: { host: host ?? target.host }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const reason = res.headers['x-refusal-reason'];
          resolveReply({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ...(typeof reason === 'string' ? { reason } : {}) });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

