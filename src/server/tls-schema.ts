/**
 * `listen.tls` in the configuration file, as a valibot schema: the single source of its type,
 * defaults and checks. Meant to sit in the listen schema as `tls: v.optional(TLS_SCHEMA)`
 * (absent: plain HTTP, the default). Paths are resolved by the config loader like every other
 * path; the files themselves are read and checked by loadTlsMaterial (exit 78 when refused).
 */
import * as v from 'valibot';
import type { TlsServerLimits } from './tls-server.js';

function whole(field: string, min: number, max: number) {
  return v.pipe(
    v.number(`${field}: expected a whole number`),
    v.integer(`${field}: expected a whole number`),
    v.minValue(min, (issue) => `${field}: ${String(issue.input)} is below ${min}`),
    v.maxValue(max, (issue) => `${field}: ${String(issue.input)} is above ${max}`),
  );
}

function file(field: string) {
  return v.pipe(v.string(`${field}: expected a file path`), v.nonEmpty(`${field}: a PEM file path is required`));
}

/** Messages for a mapping's own issues: a missing field, an unknown one, or no mapping at all. */
function mapping(field: string) {
  return (issue: v.BaseIssue<unknown>): string => {
    const key = issue.path?.at(-1)?.key;
    if (typeof key !== 'string') return `${field}: expected a mapping`;
    return issue.expected === 'never' ? `${field}.${key}: unknown field` : `${field}.${key}: required`;
  };
}

export const TLS_DEFAULTS = {
  client_ca: '',
  handshake_timeout_ms: 10_000,
  watch: true,
  watch_debounce_ms: 1_000,
  http2: { enabled: true, max_concurrent_streams: 100, max_header_list_bytes: 16_384 },
} as const;

const HTTP2_SCHEMA = v.strictObject({
  enabled: v.optional(v.boolean('listen.tls.http2.enabled: expected true or false'), TLS_DEFAULTS.http2.enabled),
  max_concurrent_streams: v.optional(whole('listen.tls.http2.max_concurrent_streams', 1, 10_000), TLS_DEFAULTS.http2.max_concurrent_streams),
  max_header_list_bytes: v.optional(whole('listen.tls.http2.max_header_list_bytes', 1_024, 1_048_576), TLS_DEFAULTS.http2.max_header_list_bytes),
}, mapping('listen.tls.http2'));

export const TLS_SCHEMA = v.strictObject({
  /** PEM: the server certificate, then its intermediates. */
  cert: file('listen.tls.cert'),
  /** PEM private key of the certificate (unencrypted). */
  key: file('listen.tls.key'),
  /** PEM CA bundle; set: clients must present a certificate it issued (mutual TLS). */
  client_ca: v.optional(v.string('listen.tls.client_ca: expected a file path'), TLS_DEFAULTS.client_ca),
  handshake_timeout_ms: v.optional(whole('listen.tls.handshake_timeout_ms', 100, 120_000), TLS_DEFAULTS.handshake_timeout_ms),
  /** Reload when the files change on disk (a renewed, mounted Secret). */
  watch: v.optional(v.boolean('listen.tls.watch: expected true or false'), TLS_DEFAULTS.watch),
  watch_debounce_ms: v.optional(whole('listen.tls.watch_debounce_ms', 0, 60_000), TLS_DEFAULTS.watch_debounce_ms),
  http2: v.optional(HTTP2_SCHEMA, {}),
}, mapping('listen.tls'));

export type TlsSettings = v.InferOutput<typeof TLS_SCHEMA>;

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
