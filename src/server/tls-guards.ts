/**
 * The checks the TLS door makes before a request reaches the app: every failed handshake is
 * counted by reason and cut, a client certificate client_ca did not issue is refused, and an
 * HTTP/2 header list over the limit gets 431 (node announces SETTINGS_MAX_HEADER_LIST_SIZE but
 * does not enforce it; HTTP/1.1 has node's 16 KiB header limit).
 */
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
