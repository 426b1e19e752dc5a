/**
 * The checks the TLS door makes before a request reaches the app: every failed handshake is
 * counted by reason and cut, a client certificate client_ca did not issue is refused, and an
 * HTTP/2 header list over the limit gets 431 (node announces SETTINGS_MAX_HEADER_LIST_SIZE but
 * does not enforce it; HTTP/1.1 has node's 16 KiB header limit), and a connection that sends no
 * request in time is cut and counted, HTTP/2 sessions included.
 */
import type { Http2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { createAdaptorServer } from '@hono/node-server';
import type { Logger } from '../log.js';
import type { TlsContextHolder } from './tls-context.js';
import { handshakeFailureReason, type HandshakeFailureReason, type TlsMetrics } from './tls-metrics.js';

/** The hono app's `fetch`, as @hono/node-server calls it. */
export type FetchCallback = Parameters<typeof createAdaptorServer>[0]['fetch'];

interface Accounting {
  holder: TlsContextHolder;
  metrics?: TlsMetrics;
  logger?: Logger;
}

function refuse(socket: TLSSocket, reason: HandshakeFailureReason, code: string | undefined, parts: Accounting): void {
  parts.metrics?.failure(reason);
  // Debug only: scanners and load balancers' TCP probes cause these all day.
  parts.logger?.debug({ reason, code }, 'tls handshake failed');
  socket.destroy();
}

/**
 * Counts and cuts failed handshakes, and refuses unauthorised client certificates. Node checks
 * a client's chain only after the handshake, and with rejectUnauthorized it drops such a
 * socket without any event; so the server asks for certificates without rejecting, and the
 * check happens here, first among the secureConnection listeners, before HTTP sees the socket.
 */
export function guardHandshakes(server: TlsServer, parts: Accounting): void {
  // Node's HTTP/2 server re-emits TLS failures as 'clientError', where an HTTP/1.1 handler
  // would write a plaintext answer onto a socket that never finished its handshake.
  server.removeAllListeners('tlsClientError');
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => refuse(socket, handshakeFailureReason(error), error.code, parts));
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    if (parts.holder.current.mutual && !socket.authorized) {
      refuse(socket, 'client_certificate', String(socket.authorizationError ?? 'NO_CLIENT_CERTIFICATE'), parts);
      return;
    }
    parts.metrics?.handshake(socket);
  });
}

/** RFC 9113 §6.5.2: a header list's size is each name and value plus 32 octets per field. */
export function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 16 * rawHeaders.length;
  for (const text of rawHeaders) bytes += text.length;
  return bytes;
}

const TOO_LARGE_BODY = JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message: 'request header fields too large', detail: null }] });

/** Answers HTTP/2 requests whose header list is over `maxBytes` with 431; others go to `fetch`. */
export function guardHeaderList(fetch: FetchCallback, maxBytes: number): FetchCallback {
  return (request, env) => {
    const { incoming } = env;
    if (incoming.httpVersionMajor === 2 && headerListBytes(incoming.rawHeaders) > maxBytes) {
      return new Response(TOO_LARGE_BODY, { status: 431, headers: { 'content-type': 'application/json; charset=utf-8' } });
    }
    return fetch(request, env);
  };
}

/** The two timeouts an HTTP/2 session is held to, in milliseconds. */
export interface SessionTimeouts {
  /** Until the first request: the preface and the first stream's headers. */
  headersTimeoutMs: number;
  /** Idle time between requests once one came; 0: none (as HTTP/1.1 keep-alive). */
  keepAliveTimeoutMs: number;
}

/** An HTTP/2 session idle for `idleMs` is destroyed, as node's server timeout would. */
function closeWhenIdle(session: Http2Session, idleMs: number): void {
  if (idleMs <= 0) return;
  session.setTimeout(idleMs, () => {
    if (!session.destroyed && !session.closed) session.destroy();
  });
}

/**
 * Holds an HTTP/2 session to what node holds an HTTP/1.1 connection to: the header timeout
 * until its first request, then the keep-alive timeout as its idle timeout. Node's HTTP/2
 * server has no first-request deadline, so a client that finished the handshake and then sent
 * nothing, or only its preface, kept a connection slot until the idle timeout (forever with
 * keep_alive_timeout_ms: 0). One timer per session, none per request.
 */
export function boundSession(session: Http2Session, timeouts: SessionTimeouts, metrics?: TlsMetrics): void {
  let prefaceSeen = false;
  // The client preface ends with its SETTINGS frame.
  session.once('remoteSettings', () => void (prefaceSeen = true));
  const deadline = setTimeout(() => {
    metrics?.timedOut('h2', prefaceSeen ? 'no_request' : 'no_preface');
    session.destroy();
  }, timeouts.headersTimeoutMs);
  deadline.unref();
  session.once('close', () => clearTimeout(deadline));
  session.once('stream', () => {
    clearTimeout(deadline);
    closeWhenIdle(session, timeouts.keepAliveTimeoutMs);
  });
}

export type ClientErrorHandler = (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => void;

/** Counts the HTTP/1.1 requests node's header or request timeout cut, then lets `handler` answer. */
export function countRequestTimeouts(handler: ClientErrorHandler, metrics: TlsMetrics | undefined): ClientErrorHandler {
  if (metrics === undefined) return handler;
  return (error, socket) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') metrics.timedOut('http/1.1', 'request_timeout');
    handler(error, socket);
  };
}
