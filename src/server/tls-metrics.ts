/**
 * What the TLS door exports: handshakes by negotiated protocol and TLS version, failed
 * handshakes by reason, connections refused by `listen.max_connections`, connections cut after
 * the handshake because no request came in time, certificate reloads,
 * and the seconds left until the served certificate's notAfter (alert well before zero).
 * Handshakes cost a millisecond of CPU each, so prom-client's own counters are cheap enough.
 */
import { Counter, Gauge, type Registry } from '../ops/prom-client.js';
import type { TLSSocket } from 'node:tls';
import type { CertificateSummary } from './tls.js';

const PREFIX = 'registry_edge_tls_';

export const HANDSHAKE_FAILURE_REASONS = [
  'timeout',
  'plain_http',
  'protocol_version',
  'no_shared_cipher',
  'client_certificate',
  'certificate_refused_by_client',
  'no_application_protocol',
  'reset',
  'malformed',
  'other',
] as const;
export type HandshakeFailureReason = (typeof HANDSHAKE_FAILURE_REASONS)[number];

const REASON_BY_CODE: Readonly<Record<string, HandshakeFailureReason>> = {
  ERR_TLS_HANDSHAKE_TIMEOUT: 'timeout',
  ERR_SSL_HTTP_REQUEST: 'plain_http',
  ERR_SSL_HTTPS_PROXY_REQUEST: 'plain_http',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'protocol_version',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'protocol_version',
  ERR_SSL_NO_SHARED_CIPHER: 'no_shared_cipher',
  ERR_SSL_NO_SHARED_GROUPS: 'no_shared_cipher',
  ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM: 'no_shared_cipher',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'client_certificate',
  ERR_SSL_CERTIFICATE_VERIFY_FAILED: 'client_certificate',
  ERR_SSL_NO_CERTIFICATES_RETURNED: 'client_certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'certificate_refused_by_client',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'certificate_refused_by_client',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'certificate_refused_by_client',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'certificate_refused_by_client',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'certificate_refused_by_client',
  ERR_SSL_NO_APPLICATION_PROTOCOL: 'no_application_protocol',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ERR_SSL_UNEXPECTED_EOF_WHILE_READING: 'reset',
};

/**
 * The metric label for a `tlsClientError`. Pure: the mapping is tested by table, the codes are
 * node's `ERR_SSL_<OpenSSL reason>` names. Unknown OpenSSL reasons are garbage of some kind.
 */
export function handshakeFailureReason(error: { code?: unknown }): HandshakeFailureReason {
  const code = typeof error.code === 'string' ? error.code : '';
  return REASON_BY_CODE[code] ?? (code.startsWith('ERR_SSL_') ? 'malformed' : 'other');
}

/**
 * Why a connection was cut after its handshake: an HTTP/2 client that never sent its preface,
 * or sent it and opened no stream, within the header timeout; an HTTP/1.1 request whose headers
 * (or whole request) did not arrive within the header (request) timeout.
 */
export const TIMEOUT_REASONS = [
  ['h2', 'no_preface'],
  ['h2', 'no_request'],
  ['http/1.1', 'request_timeout'],
] as const;
export type TimeoutReason = (typeof TIMEOUT_REASONS)[number][1];
export type TimedOutProtocol = (typeof TIMEOUT_REASONS)[number][0];

/** `h2`, `http/1.1`, or `none` for a client that offered no ALPN (served HTTP/1.1). */
export function negotiatedProtocol(alpn: string | false | null | undefined): 'h2' | 'http/1.1' | 'none' {
  return alpn === 'h2' || alpn === 'http/1.1' ? alpn : 'none';
}

export interface TlsMetricsOptions {
  registry: Registry;
  /** The certificate being served now (read at scrape time). */
  certificate: () => CertificateSummary | undefined;
  now?: () => number;
}

export class TlsMetrics {
  private readonly handshakes: Counter<'protocol' | 'version'>;
  private readonly failures: Counter<'reason'>;
  private readonly drops: Counter;
  private readonly timeouts: Counter<'protocol' | 'reason'>;
  private readonly reloads: Counter<'result'>;

  constructor(options: TlsMetricsOptions) {
    const registers = [options.registry];
    const now = options.now ?? Date.now;
    this.handshakes = new Counter({
      name: `${PREFIX}handshakes_total`,
      help: 'Completed TLS handshakes on the public port, by negotiated application protocol (ALPN; none = the client offered none and got HTTP/1.1) and TLS version.',
      labelNames: ['protocol', 'version'],
      registers,
    });
    for (const protocol of ['h2', 'http/1.1']) for (const version of ['TLSv1.3', 'TLSv1.2']) this.handshakes.inc({ protocol, version }, 0);
    this.failures = new Counter({
      name: `${PREFIX}handshake_failures_total`,
      help: 'Connections cut before a TLS session was set up, by reason (timeout, plain_http, certificate_refused_by_client, malformed, ...).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of HANDSHAKE_FAILURE_REASONS) this.failures.inc({ reason }, 0);
    this.drops = new Counter({
      name: `${PREFIX}connections_dropped_total`,
      help: 'Connections closed on accept because listen.max_connections sockets were open.',
      registers,
    });
    this.timeouts = new Counter({
      name: `${PREFIX}connections_timed_out_total`,
      help: 'Connections cut after the TLS handshake because no request arrived in time (listen.headers_timeout_ms, request_timeout_ms), by protocol and reason (no_preface, no_request: HTTP/2; request_timeout: HTTP/1.1).',
      labelNames: ['protocol', 'reason'],
      registers,
    });
    for (const [protocol, reason] of TIMEOUT_REASONS) this.timeouts.inc({ protocol, reason }, 0);
    this.reloads = new Counter({
      name: `${PREFIX}certificate_reloads_total`,
      help: 'Certificate reloads that changed the served pair (success) or were refused, the old pair serving on (failure).',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['success', 'failure']) this.reloads.inc({ result }, 0);
    const expiry: Gauge = new Gauge({
      name: `${PREFIX}certificate_expiry_seconds`,
      help: 'Seconds until the notAfter of the certificate the public port presents (negative once expired).',
      registers,
      aggregator: 'min',
      collect: () => {
        expiry.reset();
        const leaf = options.certificate();
        if (leaf !== undefined) expiry.set((leaf.notAfter.getTime() - now()) / 1000);
      },
    });
  }

  handshake(socket: Pick<TLSSocket, 'alpnProtocol' | 'getProtocol'>): void {
    this.handshakes.inc({ protocol: negotiatedProtocol(socket.alpnProtocol), version: socket.getProtocol() ?? 'unknown' });
  }

  failure(reason: HandshakeFailureReason): void {
    this.failures.inc({ reason });
  }

  dropped(): void {
    this.drops.inc();
  }

  timedOut(protocol: TimedOutProtocol, reason: TimeoutReason): void {
    this.timeouts.inc({ protocol, reason });
  }

  reloaded(result: 'success' | 'failure'): void {
    this.reloads.inc({ result });
  }
}
