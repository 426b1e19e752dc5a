/**
 * A stand-in for the upstream a client falls back to (containerd's `server`, registries.conf's
 * `location`): it records every connection and request, and forwards requests to the origin
 * registry when given one, so a fallback pull can really succeed while skipping the mirror.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class RecordingUpstream {
  /** `METHOD target` of every request, in order. */
  readonly requests: string[] = [];
  connections = 0;
  url = '';
  closeServer: () => Promise<void> = async () => undefined;

  get host(): string {
    return new URL(this.url).host;
  }

  close(): Promise<void> {
    return this.closeServer();
  }
}

function forward(target: string, req: IncomingMessage, res: ServerResponse): void {
  const upstream = new URL(target);
  const proxied = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  proxied.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(proxied);
}

export async function startRecordingUpstream(forwardTo?: string): Promise<RecordingUpstream> {
  const upstream = new RecordingUpstream();
  const server = createServer((req, res) => {
    upstream.requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    if (forwardTo !== undefined) {
      forward(forwardTo, req, res);
      return;
    }
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'the e2e upstream serves nothing' }] }));
  });
  // Bytes that are not HTTP (a TLS ClientHello from a client that wanted HTTPS) still count.
  server.on('connection', () => {
    upstream.connections += 1;
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  upstream.url = `http://127.0.0.1:${port}`;
  upstream.closeServer = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return upstream;
}
