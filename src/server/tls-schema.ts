/**
 * `listen.tls` in the configuration file, built from the same field kinds as the rest of the
 * schema (src/config/fields.ts): absent means plain HTTP, the default. Its file fields resolve
 * against the configuration file's folder like every other path; the files themselves are
 * read and checked by loadTlsMaterial when the listener starts (exit 78 when refused).
 */
import * as v from 'valibot';
import { file, flag, int, mapping, optionalFile, section } from '../config/fields.js';
import type { TlsServerLimits } from './tls-server.js';

export const TLS_DEFAULTS = {
  client_ca: '',
  handshake_timeout_ms: 10_000,
  watch: true,
  watch_debounce_ms: 1_000,
  http2: { enabled: true, max_concurrent_streams: 100, max_header_list_bytes: 16_384 },
} as const;

/** The `listen.tls` mapping; relative paths in it belong to `folder`. */
export function tlsSchema(folder: string) {
  return v.optional(
    mapping({
      /** PEM: the server certificate, then its intermediates. */
      cert: file(folder),
      /** PEM private key of the certificate (unencrypted). */
      key: file(folder),
      /** PEM CA bundle; set: clients must present a certificate it issued (mutual TLS). */
      client_ca: optionalFile(folder),
      handshake_timeout_ms: int(100, 120_000, TLS_DEFAULTS.handshake_timeout_ms),
      /** Reload when the files change on disk (a renewed, mounted Secret). */
      watch: flag(TLS_DEFAULTS.watch),
      watch_debounce_ms: int(0, 60_000, TLS_DEFAULTS.watch_debounce_ms),
      http2: section({
        enabled: flag(TLS_DEFAULTS.http2.enabled),
        max_concurrent_streams: int(1, 10_000, TLS_DEFAULTS.http2.max_concurrent_streams),
        max_header_list_bytes: int(1_024, 1_048_576, TLS_DEFAULTS.http2.max_header_list_bytes),
      }),
    }),
  );
}

export type TlsSettings = NonNullable<v.InferOutput<ReturnType<typeof tlsSchema>>>;

/** The listen fields the TLS listener shares with the plain one. */
export interface SharedListenSettings {
  max_connections: number;
  headers_timeout_ms: number;
  request_timeout_ms: number;
  keep_alive_timeout_ms: number;
}

/** The listener's limits from the validated configuration. Pure. */
export function tlsServerLimits(listen: SharedListenSettings, tls: TlsSettings): TlsServerLimits {
  return {
    handshakeTimeoutMs: tls.handshake_timeout_ms,
    headersTimeoutMs: listen.headers_timeout_ms,
    requestTimeoutMs: listen.request_timeout_ms,
    keepAliveTimeoutMs: listen.keep_alive_timeout_ms,
    maxConnections: listen.max_connections,
    http2: {
      enabled: tls.http2.enabled,
      maxConcurrentStreams: tls.http2.max_concurrent_streams,
      maxHeaderListBytes: tls.http2.max_header_list_bytes,
    },
  };
}
