import { createServer, STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { MAX_TARGET_LENGTH } from '../routing/classify.js';
import { ociErrorBody } from '../routing/decide.js';
import { createApp, type AppHooks } from './app.js';
import { listenPublic, type DrainableServer, type RunningPublicServer } from './listen.js';
import type { RuntimeHolder } from './runtime.js';
import type { TlsContextHolder } from './tls-context.js';
import type { TlsMetrics } from './tls-metrics.js';
import { tlsServerLimits } from './tls-schema.js';

/** The public listener, plain or TLS: its address, draining state and shutdown. */
export type RunningServer = RunningPublicServer;

/** What the TLS listener needs besides the configuration: the certificate in use and its metrics. */
export interface TlsDoorParts {
  holder: TlsContextHolder;
  metrics?: TlsMetrics;
}

/** How often node checks sockets against the header and request timeouts (its default is 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 250;

const REQUEST_LINE_START = /^[A-Z]{1,20} /;

/**
 * Whether the bytes that overflowed node's header limit are an over-long request line rather
 * than too many header bytes. Node counts the request line against `maxHeaderSize` (16 KiB)
 * and reports both as HPE_HEADER_OVERFLOW; only the failing chunk is visible, so this can tell
 * only when that chunk starts at a request line (any client sending its request in one write).
 * A chunk from the middle of a request stays 431, which is still a 4xx.
 */
export function isOverlongRequestLine(packet: Buffer | undefined): boolean {
  if (packet === undefined || !REQUEST_LINE_START.test(packet.subarray(0, 21).toString('latin1'))) return false;
  const lineEnd = packet.indexOf(0x0a);
  return (lineEnd === -1 ? packet.length : lineEnd) > MAX_TARGET_LENGTH;
}

/**
 * The status for a request node's parser refused before our handler saw it, or undefined when
 * the connection is gone and only closing is left. Pure, so every error code is unit-tested.
 */
export function clientErrorStatus(code: string | undefined, packet: Buffer | undefined): number | undefined {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return isOverlongRequestLine(packet) ? 414 : 431;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ETIMEDOUT':
      return undefined;
    default:
      return 400;
  }
}

const CLIENT_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  400: 'malformed HTTP request',
  408: 'request headers not received in time',
  413: 'chunk extensions too large',
  414: 'request target too long',
  431: 'request header fields too large',
};

/** A complete answer written straight to the socket: node has no response object for it. */
export function clientErrorResponse(status: number): string {
  const body = ociErrorBody('UNSUPPORTED', CLIENT_ERROR_MESSAGES[status] ?? 'malformed HTTP request');
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** Node's own field for the response a socket is currently serving; absent when it serves none. */
type ServingSocket = Duplex & { _httpMessage?: ServerResponse | null };

function answerClientError(logger: Logger, error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  const status = clientErrorStatus(error.code, error.rawPacket);
  // Debug only: scanners produce these by the thousand and each one is harmless.
  logger.debug({ code: error.code, status }, 'client error');
  const owed = (socket as ServingSocket)._httpMessage;
  if (owed !== undefined && owed !== null) {
    // The request was read in full before the bytes after it broke the framing (a bad
    // Transfer-Encoding body, garbage pipelined behind it). Its answer is on the way: let it
    // go out, then close instead of parsing further. An error answer now would be read as
    // that request's response.
    if (owed.writableFinished) socket.destroy();
    else {
      const close = (): void => void socket.destroy();
      owed.once('finish', close);
      owed.once('close', close);
    }
    return;
  }
  if (status === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  // Destroy once flushed: http sockets allow half-open, so waiting for the peer could
  // keep a socket alive for as long as a hostile client likes.
  socket.end(clientErrorResponse(status), () => socket.destroy());
}

/** The client-error answer for a listener: OCI-shaped errors for what node's parser refused. */
export function clientErrorHandler(holder: RuntimeHolder): (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => void {
  return (error, socket) => answerClientError(holder.current.logger, error, socket);
}

export function createPublicServer(listen: Config['listen'], holder: RuntimeHolder, logger: Logger, hooks: AppHooks = {}): DrainableServer<Server> {
  const app = createApp(holder, logger, hooks);
  const listener = getRequestListener(app.fetch);
  let draining = false;
  const server = createServer(
    {
      headersTimeout: listen.headers_timeout_ms,
      requestTimeout: listen.request_timeout_ms,
      keepAliveTimeout: listen.keep_alive_timeout_ms,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    (req, res: ServerResponse) => {
      // While draining, every answer tells the client to go elsewhere for its next request.
      if (draining) res.setHeader('Connection', 'close');
      void listener(req, res);
    },
  );
  server.on('clientError', clientErrorHandler(holder));
  if (listen.max_connections > 0) server.maxConnections = listen.max_connections;
  return {
    server,
    isDraining: () => draining,
    setDraining() {
      draining = true;
      server.closeIdleConnections();
    },
    destroyAll: () => server.closeAllConnections(),
  };
}

/**
 * The public listener: TLS with HTTP/2 and HTTP/1.1 when `listen.tls` is set (`tls` is then the
 * door's certificate and metrics), plain HTTP otherwise. Both drain the same way (listen.ts).
 */
export async function startServer(config: Config, holder: RuntimeHolder, logger: Logger, hooks: AppHooks = {}, tls?: TlsDoorParts): Promise<RunningServer> {
  const { listen } = config;
  if (listen.tls === undefined || tls === undefined) return listenPublic(createPublicServer(listen, holder, logger, hooks), listen, listen.shutdown_timeout_ms);
  // The TLS listener's modules load with listen.tls only.
  const { createTlsPublicServer } = await import('./tls-server.js');
  const app = createApp(holder, logger, hooks);
  const door = createTlsPublicServer({
    fetch: app.fetch,
    holder: tls.holder,
    limits: tlsServerLimits(listen, listen.tls),
    metrics: tls.metrics,
    logger,
    onClientError: clientErrorHandler(holder),
  });
  return listenPublic(door, listen, listen.shutdown_timeout_ms);
}
