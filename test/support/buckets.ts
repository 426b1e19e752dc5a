import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { BucketConfig } from '../../src/config/types.js';

/**
 * Local stand-ins for buckets, the one set every test uses: a well-behaved HTTP bucket whose
 * answers a test can steer, and raw TCP buckets for the misbehaviour node:http would not produce.
 */

/** A local stand-in for a bucket; `close` ends every connection it accepted. */
export interface TestBucket {
  url: string;
  bucket: BucketConfig;
  /** Requests received, in order, as `METHOD path`. */
  requests: string[];
  /** TCP connections accepted. */
  connections: number;
  /** HEAD requests received, for `path` or for any path. */
  heads(path?: string): number;
  close(): Promise<void>;
}

function headsOf(requests: readonly string[]): (path?: string) => number {
  return (path) => requests.filter((r) => r.startsWith('HEAD ') && (path === undefined || r === `HEAD ${path}`)).length;
}

export function bucketConfig(name: string, url: string): BucketConfig {
  return { name, url, regions: [], networks: [] };
}

async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export interface HttpBucketBehaviour {
  /** Status for a request path; defaults to 200 for paths in `present`, else 404. */
  status?: (path: string) => number;
  present?: Set<string>;
  /** Holds every answer until this resolves (makes concurrency observable). */
  gate?: () => Promise<void>;
  headers?: (path: string) => Record<string, string>;
  /** Answers a request itself when it returns true (a delay, a 500, a redirect). */
  respond?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export type HttpBucket = TestBucket & { behaviour: HttpBucketBehaviour; requestHeaders: http.IncomingHttpHeaders[] };

/** A well-behaved HTTP bucket whose answers a test can change while it runs. */
export async function startHttpBucket(name: string, behaviour: HttpBucketBehaviour = {}): Promise<HttpBucket> {
  const requests: string[] = [];
  const requestHeaders: http.IncomingHttpHeaders[] = [];
  const state = { connections: 0 };
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(`${req.method} ${path}`);
    requestHeaders.push(req.headers);
    if (behaviour.respond?.(req, res)) return;
    const answer = (): void => {
      const status = behaviour.status?.(path) ?? (behaviour.present?.has(path) ? 200 : 404);
      res.writeHead(status, { 'content-length': '1234', ...behaviour.headers?.(path) });
      res.end();
    };
    if (behaviour.gate) void behaviour.gate().then(answer);
    else answer();
  });
  server.on('connection', () => state.connections++);
  const url = await listen(server);
  return {
    url,
    bucket: bucketConfig(name, url),
    requests,
    requestHeaders,
    behaviour,
    heads: headsOf(requests),
    get connections() {
      return state.connections;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A raw TCP bucket: `onConnection` decides what bytes (if any) each connection gets.
 * Used for the misbehaving buckets node:http would not produce.
 */
export async function startRawBucket(
  name: string,
  onData: (socket: net.Socket, chunk: string, requestIndexOnSocket: number) => void,
): Promise<TestBucket> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let perSocket = 0;
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      // One request per header block; HEAD requests carry no body.
      let end = buffered.indexOf('\r\n\r\n');
      while (end !== -1) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        const [method, path] = (head.split('\r\n')[0] ?? '').split(' ');
        requests.push(`${method} ${path}`);
        onData(socket, head, perSocket++);
        end = buffered.indexOf('\r\n\r\n');
      }
    });
  });
  const url = await listen(server);
  return {
    url,
    bucket: bucketConfig(name, url),
    requests,
    heads: headsOf(requests),
    get connections() {
      return state.connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type BucketServer = HttpBucket;

/**
 * A bucket holding the object paths in `present` (200, empty body), 404 for anything else;
 * `respond` may answer a request itself.
 */
export function startBucket(present: Iterable<string>, respond?: HttpBucketBehaviour['respond']): Promise<BucketServer> {
  return startHttpBucket('bucket', { present: new Set(present), respond, headers: () => ({ 'content-length': '0' }) });
}

/** Accepts connections and reads requests, but never answers. */
export function startHangingBucket(name: string): Promise<TestBucket> {
  return startRawBucket(name, () => {});
}

/** Resets every connection as soon as a request arrives. */
export function startResettingBucket(name: string): Promise<TestBucket> {
  return startRawBucket(name, (socket) => socket.resetAndDestroy());
}
