/**
 * The public listener over TLS: node's HTTP/2 secure server with HTTP/1.1 allowed (ALPN offers
 * h2 and http/1.1; a client that offers neither gets HTTP/1.1), built through
 * @hono/node-server's `createServer` option so the hono app answers both protocols.
 *
 * The plain listener's protections hold here too: a handshake timeout, the header and request
 * timeouts for HTTP/1.1 and the first request of an HTTP/2 session, an idle timeout for HTTP/2
 * sessions after it, `max_connections`, and HTTP/2
 * stream and header-list limits. Bytes that are not TLS, and handshakes that never finish, are
 * cut and counted; none of it can throw out of an event handler.
 */
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type SecureServerOptions } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TlsOptions, TLSSocket } from 'node:tls';
import { createAdaptorServer } from '@hono/node-server';
import type { Logger } from '../log.js';
import { listenPublic, type DrainableServer, type RunningPublicServer } from './listen.js';
import type { TlsContextHolder } from './tls-context.js';
import { boundSession, countRequestTimeouts, guardHandshakes, guardHeaderList, type ClientErrorHandler, type FetchCallback } from './tls-guards.js';

export type { FetchCallback };
import type { TlsMetrics } from './tls-metrics.js';
import type { TlsMaterial } from './tls.js';


export interface TlsServerLimits {
  handshakeTimeoutMs: number;
  /** Time to receive the request headers (HTTP/1.1), or an HTTP/2 session's preface and first request. */
  headersTimeoutMs: number;
  /** HTTP/1.1: time to receive the whole request. */
  requestTimeoutMs: number;
  /** HTTP/1.1 keep-alive, and the idle time after which an HTTP/2 session that made a request is closed. */
  keepAliveTimeoutMs: number;
  /** Open sockets on the port; 0 = unbounded. */
  maxConnections: number;
  http2: {
    /** Off: an HTTPS/1.1 server, ALPN offers http/1.1 only (node's HTTP/2 server always offers h2). */
    enabled: boolean;
    maxConcurrentStreams: number;
    /** SETTINGS_MAX_HEADER_LIST_SIZE: bytes of one request's decoded header list. */
    maxHeaderListBytes: number;
  };
}

/** How often node checks HTTP/1.1 sockets against the header and request timeouts. */
const TIMEOUT_CHECK_INTERVAL_MS = 250;
/** Header fields per HTTP/2 request; a pull sends about ten. */
const MAX_HEADER_LIST_PAIRS = 128;

/** The TLS half of the server options, the same for both server kinds. Pure. */
export function tlsServerOptions(material: TlsMaterial, limits: TlsServerLimits): TlsOptions {
  return {
    ...material.contextOptions,
    requestCert: material.mutual,
    // Refused after the handshake instead, where it can be counted (see tls-guards.ts).
    rejectUnauthorized: false,
    handshakeTimeout: limits.handshakeTimeoutMs,
    // Nagle off, as node:http and node:https servers have it; node's HTTP/2 server leaves it on.
    noDelay: true,
  };
}

/** The HTTP/2 secure-server options for a pair and limits. Pure; the listener test reads it back. */
export function secureServerOptions(material: TlsMaterial, limits: TlsServerLimits): SecureServerOptions {
  return {
    ...tlsServerOptions(material, limits),
    allowHTTP1: true,
    maxHeaderListPairs: MAX_HEADER_LIST_PAIRS,
    settings: {
      maxConcurrentStreams: limits.http2.maxConcurrentStreams,
      maxHeaderListSize: limits.http2.maxHeaderListBytes,
      enablePush: false,
    },
  };
}

export interface TlsServerParts {
  /** The hono app's fetch. */
  fetch: FetchCallback;
  holder: TlsContextHolder;
  limits: TlsServerLimits;
  metrics?: TlsMetrics;
  logger?: Logger;
  /**
   * HTTP/1.1 requests node's parser refused (the plain listener answers them with an OCI
   * error); default: close the socket. TLS failures never reach it.
   */
  onClientError?: ClientErrorHandler;
}

/** setDraining asks every client to go elsewhere: `Connection: close` on HTTP/1.1, GOAWAY on HTTP/2. */
export type TlsPublicServer = DrainableServer<SecureServer>;

/** Node's HTTP/2 server with HTTP/1.1 allowed, or its HTTPS/1.1 server when http2 is off. */
export type SecureServer = Http2SecureServer | HttpsServer;

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

/**
 * Fields node's secure HTTP/2 server has (from tls.Server, and from the HTTP/1.1 server it
 * lends its connections to with allowHTTP1) that @types/node leaves out.
 */
interface NodeServerFields {
  requestCert: boolean;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
  closeIdleConnections(): void;
}

function fields(server: SecureServer): NodeServerFields {
  return server as unknown as NodeServerFields;
}

/** Keeps the server's context and client-certificate policy in step with the holder. */
function followHolder(server: SecureServer, holder: TlsContextHolder): void {
  holder.onChange((material) => {
    // New handshakes use the new context; sockets already set up keep theirs.
    server.setSecureContext(material.contextOptions);
    fields(server).requestCert = material.mutual;
  });
}

function applyTimeouts(server: SecureServer, limits: TlsServerLimits): void {
  // node reads these from the server object for the HTTP/1.1 connections it accepts.
  const http1 = fields(server);
  http1.headersTimeout = limits.headersTimeoutMs;
  http1.requestTimeout = limits.requestTimeoutMs;
  http1.keepAliveTimeout = limits.keepAliveTimeoutMs;
  http1.connectionsCheckingInterval = TIMEOUT_CHECK_INTERVAL_MS;
  // Not server.setTimeout: node would also put that timeout on every HTTP/1.1 socket and arm a
  // fresh timer for each request on it (plain HTTP does neither), where keep-alive and the
  // header and request timeouts already bound HTTP/1.1. HTTP/2 sessions get theirs in 'session'.
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
}

function buildServer({ holder, limits, ...parts }: TlsServerParts): SecureServer {
  const fetch = guardHeaderList(parts.fetch, limits.http2.maxHeaderListBytes);
  if (limits.http2.enabled) {
    return createAdaptorServer({ fetch, createServer: createSecureServer, serverOptions: secureServerOptions(holder.current, limits) }) as Http2SecureServer;
  }
  const serverOptions = { ...tlsServerOptions(holder.current, limits), ALPNProtocols: ['http/1.1'] };
  return createAdaptorServer({ fetch, createServer: createHttpsServer, serverOptions }) as HttpsServer;
}

export function createTlsPublicServer(parts: TlsServerParts): TlsPublicServer {
  const { holder, limits } = parts;
  const server = buildServer(parts);
  followHolder(server, holder);
  guardHandshakes(server, parts);
  applyTimeouts(server, limits);

  const sockets = new Set<TLSSocket>();
  const sessions = new Set<Http2Session>();
  let draining = false;
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    boundSession(session, limits, parts.metrics);
    if (draining) session.close();
  });
  server.on('sessionError', (error: Error) => parts.logger?.debug({ err: error }, 'http2 session error'));
  server.on('drop', () => parts.metrics?.dropped());
  const onClientError: ClientErrorHandler = parts.onClientError ?? ((_error, socket) => void socket.destroy());
  server.on('clientError', countRequestTimeouts(onClientError, parts.metrics));

  return {
    server,
    isDraining: () => draining,
    setDraining() {
      if (draining) return;
      draining = true;
      // Prepended only now, so serving pays nothing for it before shutdown.
      server.prependListener('request', (req: AnyRequest, res: AnyResponse) => {
        if (req.httpVersionMajor === 1) res.setHeader('Connection', 'close');
      });
      for (const session of sessions) session.close();
      fields(server).closeIdleConnections();
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Starts the TLS door on host:port; shutdown drains it and destroys what is left after `graceMs`. */
export function startTlsServer(host: string, port: number, parts: TlsServerParts, graceMs: number): Promise<RunningPublicServer<SecureServer>> {
  return listenPublic(createTlsPublicServer(parts), { host, port }, graceMs);
}
