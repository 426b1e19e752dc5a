/**
 * A tiny standalone hono app served through the TLS listener factory, on an ephemeral
 * loopback port: it answers like a front door (ping 200, blob and manifest 307s) so the TLS
 * tests see real redirects without the whole request flow.
 */
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as http2Connect } from 'node:http2';
import { Writable } from 'node:stream';
import { connect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { createLogger, type Logger } from '../../src/log.js';
import { reportTlsReload, TlsContextHolder, type TlsReloadResult } from '../../src/server/tls-context.js';
import { TlsMetrics } from '../../src/server/tls-metrics.js';
import type { RunningPublicServer } from '../../src/server/listen.js';
import { startTlsServer, type SecureServer, type TlsServerLimits, type TlsServerParts } from '../../src/server/tls-server.js';
import { watchTlsFiles, type TlsWatcher } from '../../src/server/tls-watch.js';
import type { TlsFiles } from '../../src/server/tls.js';

/** JSON log lines written by a logger, parsed. */
export class LogLines extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
  messages(msg: string): Array<Record<string, unknown>> {
    return this.lines.filter((line) => line.msg === msg);
  }
}

export const BUCKET = 'https://bucket.example/containers/images';
export const ORIGIN = 'https://origin.example';

export function demoApp(): Hono {
  const app = new Hono();
  app.get('/v2/', (c) => c.json({}));
  app.on(['GET', 'HEAD'], '/v2/:name{.+}/blobs/:digest', (c) => c.redirect(`${BUCKET}/${c.req.param('digest')}`, 307));
  app.on(['GET', 'HEAD'], '/v2/:name{.+}/manifests/:reference', (c) => c.redirect(`${ORIGIN}${c.req.path}`, 307));
  return app;
}

export const DEFAULT_LIMITS: TlsServerLimits = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 2_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 0,
  http2: { enabled: true, maxConcurrentStreams: 100, maxHeaderListBytes: 16_384 },
};

export interface DemoDoor {
  url: string;
  port: number;
  running: RunningPublicServer<SecureServer>;
  holder: TlsContextHolder;
  registry: Registry;
  metrics: TlsMetrics;
  logs: LogLines;
  logger: Logger;
  /** The file watcher, when asked for; its reloads are reported to `logs` and `metrics`. */
  watcher: TlsWatcher | undefined;
  reloads: TlsReloadResult[];
  /** A sample of one metric (labels matched exactly on the given keys). */
  sample(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  close(): Promise<void>;
}

export async function startDemoDoor(
  files: TlsFiles,
  options: { limits?: Partial<TlsServerLimits>; parts?: Partial<TlsServerParts>; now?: () => number; watchDebounceMs?: number } = {},
): Promise<DemoDoor> {
  const holder = TlsContextHolder.open(files);
  const registry = new Registry();
  const metrics = new TlsMetrics({ registry, certificate: () => holder.current.leaf, now: options.now });
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const logs = new LogLines();
  const logger = createLogger('debug', logs);
  const reloads: TlsReloadResult[] = [];
  const watcher = options.watchDebounceMs === undefined ? undefined : watchTlsFiles(holder, {
    debounceMs: options.watchDebounceMs,
    onReload: (result) => {
      reloads.push(result);
      reportTlsReload(result, 'file', logger, metrics);
    },
  });
  const running = await startTlsServer('127.0.0.1', 0, { fetch: demoApp().fetch, holder, limits, metrics, logger, ...options.parts }, 1000);
  return {
    url: `https://127.0.0.1:${running.port}`,
    port: running.port,
    running,
    holder,
    registry,
    metrics,
    logs,
    logger,
    watcher,
    reloads,
    async sample(name, labels = {}) {
      const metric = registry.getSingleMetric(name);
      if (metric === undefined) return undefined;
      const { values } = await metric.get();
      return values.find((value) => Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted))?.value;
    },
    async close() {
      watcher?.close();
      await running.shutdown();
    },
  };
}

export interface HttpsAnswer {
  status: number;
  location: string | undefined;
  fingerprint: string;
  protocol: string | null;
}

/** One HTTPS/1.1 GET on a fresh connection (or the agent's), with the certificate it saw. */
export function httpsGet(url: string, options: RequestOptions & ConnectionOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent: false, ...options }, (res) => {
      const socket = res.socket as TLSSocket;
      const answer = { status: res.statusCode ?? 0, location: res.headers.location, fingerprint: socket.getPeerCertificate().fingerprint256, protocol: socket.getProtocol() };
      res.resume();
      res.on('end', () => resolve(answer));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A bare TLS handshake: what was negotiated, or the error the client saw. */
export function handshake(port: number, options: ConnectionOptions): Promise<{ socket: TLSSocket; peer: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options }, () => resolve({ socket, peer: socket.getPeerCertificate() }));
    socket.once('error', reject);
  });
}

/** Pulls in a loop (fresh connections, a keep-alive agent and one HTTP/2 session) until stopped. */
export function clientLoop(url: string, caPem: Buffer) {
  const seen = new Set<string>();
  const failures: string[] = [];
  let requests = 0;
  let running = true;
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ca: caPem });
  const session = http2Connect(url, { ca: caPem });
  session.on('error', (error) => failures.push(`h2 session: ${error.message}`));
  const fresh = async (): Promise<void> => {
    while (running) {
      try {
        const answer = await httpsGet(`${url}/v2/`, { ca: caPem });
        if (answer.status !== 200) failures.push(`status ${answer.status}`);
        seen.add(answer.fingerprint);
        requests += 1;
      } catch (error) {
        failures.push(String(error));
      }
    }
  };
  const kept = async (): Promise<void> => {
    while (running) {
      try {
        const answer = await httpsGet(`${url}/v2/`, { agent: keepAlive });
        if (answer.status !== 200) failures.push(`keep-alive status ${answer.status}`);
        requests += 1;
      } catch (error) {
        failures.push(`keep-alive: ${String(error)}`);
      }
    }
  };
  const multiplexed = async (): Promise<void> => {
    while (running) {
      const status = await new Promise<number>((resolve) => {
        const stream = session.request({ ':path': '/v2/' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', (error) => {
          failures.push(`h2 stream: ${error.message}`);
          resolve(0);
        });
        stream.resume();
        stream.end();
      });
      if (status !== 200 && status !== 0) failures.push(`h2 status ${status}`);
      requests += 1;
    }
  };
  const loops = Promise.all([fresh(), fresh(), kept(), multiplexed()]);
  return {
    seen,
    failures,
    get requests() {
      return requests;
    },
    async stop(): Promise<void> {
      running = false;
      await loops;
      keepAlive.destroy();
      session.close();
    },
  };
}
