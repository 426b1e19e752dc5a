import { connect, type Socket } from 'node:net';
import { expect } from 'vitest';
import { startEdge, type EdgeUnderTest } from './harness.js';
import { startBucket, type BucketServer } from './buckets.js';

/** One HTTP response as the bytes on the wire said it, parsed by hand. */
export interface RawResponse {
  status: number;
  /** Header names lower-cased; repeated headers keep their last value. */
  headers: Record<string, string>;
  /** Every header line exactly as received (to catch injected lines). */
  headerLines: string[];
  body: string;
}

export interface RawExchange {
  /** Responses parsed from everything the server sent before closing or the deadline. */
  responses: RawResponse[];
  /** Whether the server closed the connection before the deadline. */
  closed: boolean;
  /** Milliseconds from the first byte sent to the close (or the deadline). */
  elapsedMs: number;
  /** A socket error such as ECONNRESET, when there was one. */
  error: string | undefined;
}

/** Splits a byte stream of HTTP/1.1 responses; tolerates a truncated last one. */
export function parseResponses(wire: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < wire.length) {
    const end = wire.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const head = wire.subarray(at, end).toString('latin1').split('\r\n');
    const statusLine = head[0] ?? '';
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!match) break;
    const headers: Record<string, string> = {};
    const headerLines = head.slice(1);
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? '0');
    const bodyStart = end + 4;
    // A HEAD answer announces a length it never sends; callers only use GET when they read bodies.
    const body = wire.subarray(bodyStart, bodyStart + length).toString('utf8');
    out.push({ status: Number(match[1]), headers, headerLines, body });
    at = bodyStart + length;
  }
  return out;
}

/**
 * Sends bytes exactly as given over a fresh TCP connection and collects what comes back until
 * the server closes it, `stopAfterResponses` final answers arrived, or `deadlineMs` passes.
 * For inputs an HTTP client would refuse or fix.
 */
export function rawExchange(
  port: number,
  payload: Buffer | string | Array<Buffer | string>,
  options: { deadlineMs?: number; stopAfterResponses?: number; gapMs?: number } = {},
): Promise<RawExchange> {
  const deadlineMs = options.deadlineMs ?? 3_000;
  const chunks = Array.isArray(payload) ? payload : [payload];
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let error: string | undefined;
    let started = 0;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses: parseResponses(Buffer.concat(received)), closed, elapsedMs: performance.now() - started, error });
    };
    const timer = setTimeout(() => finish(false), deadlineMs);
    socket.on('connect', () => {
      started = performance.now();
      const gap = options.gapMs ?? 0;
      if (gap === 0) for (const chunk of chunks) socket.write(chunk);
      else {
        // Separate writes with pauses, so the server reads them as separate packets.
        let next = 0;
        const writeNext = (): void => {
          if (done || socket.destroyed || next >= chunks.length) return;
          socket.write(chunks[next++] as Buffer | string);
          setTimeout(writeNext, gap);
        };
        writeNext();
      }
    });
    socket.on('data', (data: Buffer) => {
      received.push(data);
      const want = options.stopAfterResponses;
      // Interim 1xx answers (100 Continue) do not count: the final answer is what is awaited.
      if (want !== undefined && parseResponses(Buffer.concat(received)).filter((r) => r.status >= 200).length >= want) finish(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.on('close', () => finish(true));
  });
}

/** A GET for `target` with the given extra header lines, closing the connection afterwards. */
export function requestBytes(target: string | Buffer, extraHeaders: string[] = [], method = 'GET'): Buffer {
  const head = Buffer.from(`${method} `, 'latin1');
  const line = typeof target === 'string' ? Buffer.from(target, 'latin1') : target;
  const rest = ['', 'Host: edge.test', ...extraHeaders, 'Connection: close', '', ''].join('\r\n');
  return Buffer.concat([head, line, Buffer.from(' HTTP/1.1', 'latin1'), Buffer.from(rest, 'latin1')]);
}

/** Sends one raw request and returns its only response; fails the test when there is none. */
export async function rawRequest(port: number, target: string | Buffer, extraHeaders: string[] = [], method = 'GET'): Promise<RawResponse> {
  const exchange = await rawExchange(port, requestBytes(target, extraHeaders, method), { stopAfterResponses: 1 });
  const [response] = exchange.responses;
  if (response === undefined) throw new Error(`no response (closed=${exchange.closed}, error=${exchange.error ?? 'none'})`);
  return response;
}

/** Where a Location may point: each entry is a URL prefix the edge was configured with. */
export interface RedirectScope {
  /** `origin.url/v2/origin.path/` and the signatures equivalent. */
  registries: string[];
  /** `bucket.url + blobs.key` up to `{digest}`. */
  buckets: string[];
  /** info_url / privacy_url, matched exactly. */
  exact?: string[];
}

const DIGEST_TAIL = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const NAME_AND_REST = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\/(?:manifests|blobs|tags|referrers)\//;

/**
 * Promise 2: the Location is one of the configured hosts, under the configured prefix, and a
 * URL parser resolving it (as every client does) lands in the same place: no dot segments,
 * no encoded separators, no control bytes that could split the header.
 */
export function assertLocationInScope(location: string, scope: RedirectScope): void {
  expect(location, 'Location must be printable ASCII without spaces').toMatch(/^[\x21-\x7e]+$/);
  if (scope.exact?.includes(location)) return;
  const resolved = new URL(location);
  const registry = scope.registries.find((prefix) => location.startsWith(prefix));
  if (registry !== undefined) {
    const rest = location.slice(registry.length);
    expect(rest, `Location ${location} leaves the registry prefix`).toMatch(NAME_AND_REST);
    const path = rest.split('?')[0] ?? '';
    expect(path.split('/'), `dot segment in ${location}`).not.toContain('..');
    expect(path, `encoded or odd bytes in the path of ${location}`).not.toMatch(/[%\\]|\/\/|\/\.\/|\/\.$/);
    expect(resolved.href.startsWith(new URL(registry).href), `${location} resolves outside ${registry}`).toBe(true);
    return;
  }
  const bucket = scope.buckets.find((prefix) => location.startsWith(prefix));
  expect(bucket, `Location ${location} points at no configured host`).toBeDefined();
  expect(location.slice((bucket ?? '').length), `bucket Location ${location} is not prefix + digest`).toMatch(DIGEST_TAIL);
  expect(resolved.href).toBe(location);
}

/** Promise 1 and 2 for one answer: never 5xx, and any redirect stays in scope. */
export function assertAnswerKeepsPromises(response: { status: number; location: string | undefined }, scope: RedirectScope): void {
  expect(response.status, 'a client input produced a server error').toBeLessThan(500);
  expect(response.status).toBeGreaterThanOrEqual(200);
  if (response.status >= 300 && response.status < 400) {
    expect(response.location, `redirect ${response.status} without Location`).toBeDefined();
    assertLocationInScope(response.location ?? '', scope);
  } else {
    expect(response.location).toBeUndefined();
  }
}

/** Opens a TCP connection and resolves once it is established (or rejects on error). */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves when the socket closes, or with false after `ms`. */
export function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.closed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export const ORIGIN = 'https://origin.example';
export const ORIGIN_PATH = 'k8s/images';
export const SIGNATURES = 'https://sigs.example';
export const INFO_URL = 'https://info.example/';
export const PRIVACY_URL = 'https://privacy.example/';
export const KEY = '/containers/images/';

export interface HostileSetup {
  edge: EdgeUnderTest;
  bucket: BucketServer;
  scope: RedirectScope;
  close(): Promise<void>;
}

/**
 * The edge every hostile test aims at: an origin under a path prefix, a separate signatures
 * host, info and privacy pages and one real bucket for loopback clients, so every kind of
 * Location can occur and be checked against its scope.
 */
export async function startHostileEdge(extra: Record<string, unknown> = {}, present: string[] = []): Promise<HostileSetup> {
  const bucket = await startBucket(present.map((digest) => `${KEY}${digest}`));
  const edge = await startEdge({
    origin: { url: ORIGIN, path: ORIGIN_PATH },
    signatures: { url: SIGNATURES },
    info_url: INFO_URL,
    privacy_url: PRIVACY_URL,
    log: { level: 'warn' },
    buckets: [{ name: 'lab', url: bucket.url, networks: ['127.0.0.0/8', '::1/128'] }],
    blobs: { check: { timeout_ms: 1000 } },
    ...extra,
  });
  return {
    edge,
    bucket,
    scope: scopeFor(bucket.url),
    async close() {
      await edge.close();
      await bucket.close();
    },
  };
}

export function scopeFor(bucketUrl: string): RedirectScope {
  return {
    registries: [`${ORIGIN}/v2/${ORIGIN_PATH}/`, `${SIGNATURES}/v2/${ORIGIN_PATH}/`],
    buckets: [`${bucketUrl}${KEY}`],
    exact: [INFO_URL, PRIVACY_URL],
  };
}

/** Lines the edge logged at error level or above: any of them means a request went wrong inside. */
export function errorLines(edge: EdgeUnderTest): Array<Record<string, unknown>> {
  return edge.logs.lines.filter((line) => typeof line.level === 'number' && line.level >= 50);
}
