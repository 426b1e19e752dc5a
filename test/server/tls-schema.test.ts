import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { TLS_DEFAULTS, TLS_SCHEMA, tlsServerLimits } from '../../src/server/tls-schema.js';

function messages(input: unknown): string[] {
  const result = v.safeParse(TLS_SCHEMA, input);
  return result.success ? [] : result.issues.map((issue) => issue.message);
}

describe('listen.tls schema', () => {
  it('fills every default around cert and key', () => {
    expect(v.parse(TLS_SCHEMA, { cert: '/etc/tls/tls.crt', key: '/etc/tls/tls.key' })).toEqual({
      cert: '/etc/tls/tls.crt',
      key: '/etc/tls/tls.key',
      ...TLS_DEFAULTS,
    });
  });

  it('keeps what is given', () => {
    const parsed = v.parse(TLS_SCHEMA, {
      cert: 'c', key: 'k', client_ca: 'ca', handshake_timeout_ms: 500, watch: false, watch_debounce_ms: 0,
      http2: { enabled: false, max_concurrent_streams: 10, max_header_list_bytes: 8192 },
    });
    expect(parsed).toMatchObject({ client_ca: 'ca', handshake_timeout_ms: 500, watch: false, http2: { enabled: false, max_concurrent_streams: 10, max_header_list_bytes: 8192 } });
  });

  it.each([
    [{ key: 'k' }, 'listen.tls.cert: required'],
    [{ cert: 7, key: 'k' }, 'listen.tls.cert: expected a file path'],
    ['/etc/tls/tls.crt', 'listen.tls: expected a mapping'],
    [{ cert: 'c', key: 'k', http2: true }, 'listen.tls.http2: expected a mapping'],
    [{ cert: '', key: 'k' }, 'listen.tls.cert: a PEM file path is required'],
    [{ cert: 'c', key: 'k', handshake_timeout_ms: 50 }, 'listen.tls.handshake_timeout_ms: 50 is below 100'],
    [{ cert: 'c', key: 'k', handshake_timeout_ms: 1.5 }, 'listen.tls.handshake_timeout_ms: expected a whole number'],
    [{ cert: 'c', key: 'k', http2: { max_concurrent_streams: 0 } }, 'listen.tls.http2.max_concurrent_streams: 0 is below 1'],
    [{ cert: 'c', key: 'k', http2: { enabled: 'yes' } }, 'listen.tls.http2.enabled: expected true or false'],
  ])('%j → %s', (input, message) => {
    expect(messages(input)).toContain(message);
  });

  it('refuses unknown fields, as the rest of the configuration does', () => {
    expect(messages({ cert: 'c', key: 'k', ciphers: 'ALL' })).toEqual(['listen.tls.ciphers: unknown field']);
    expect(messages({ cert: 'c', key: 'k', http2: { push: true } })).toEqual(['listen.tls.http2.push: unknown field']);
  });
});

describe('tlsServerLimits', () => {
  it('takes the timeouts and max_connections from listen and the rest from listen.tls', () => {
    const tls = v.parse(TLS_SCHEMA, { cert: 'c', key: 'k', handshake_timeout_ms: 3000 });
    expect(tlsServerLimits({ max_connections: 7, headers_timeout_ms: 2000, request_timeout_ms: 10_000, keep_alive_timeout_ms: 5000 }, tls)).toEqual({
      handshakeTimeoutMs: 3000,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5000,
      maxConnections: 7,
      http2: { enabled: true, maxConcurrentStreams: 100, maxHeaderListBytes: 16_384 },
    });
  });
});
