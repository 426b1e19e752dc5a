import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { validateConfig } from '../../src/config/validate.js';
import { TLS_DEFAULTS, tlsServerLimits } from '../../src/server/tls-schema.js';

const BASE = { origin: { url: 'https://r.example' }, buckets: [{ name: 'b', url: 'https://b.example' }] };

function listenOf(tls: unknown) {
  return validateConfig({ ...BASE, listen: { tls } }, 'test.yaml', { folder: '/etc/registry-edge' }).listen;
}

function problems(tls: unknown): string[] {
  try {
    listenOf(tls);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('listen.tls in the configuration', () => {
  it('is absent by default: plain HTTP', () => {
    expect(validateConfig(BASE, 'test.yaml').listen.tls).toBeUndefined();
  });

  it('fills every default around cert and key, and resolves paths against the config folder', () => {
    expect(listenOf({ cert: 'tls/tls.crt', key: '/abs/tls.key' }).tls).toEqual({
      ...TLS_DEFAULTS,
      cert: '/etc/registry-edge/tls/tls.crt',
      key: '/abs/tls.key',
    });
  });

  it('keeps what is given', () => {
    const tls = listenOf({
      cert: 'c', key: 'k', client_ca: 'ca', handshake_timeout_ms: 500, watch: false, watch_debounce_ms: 0,
      http2: { enabled: false, max_concurrent_streams: 10, max_header_list_bytes: 8192 },
    }).tls;
    expect(tls).toMatchObject({ client_ca: '/etc/registry-edge/ca', handshake_timeout_ms: 500, watch: false, http2: { enabled: false, max_concurrent_streams: 10, max_header_list_bytes: 8192 } });
  });

  it.each([
    [{ key: 'k' }, 'listen.tls.cert: required'],
    [{ cert: 7, key: 'k' }, 'listen.tls.cert: expected a file path, got 7'],
    ['/etc/tls/tls.crt', 'listen.tls: expected a mapping, got "/etc/tls/tls.crt"'],
    [{ cert: 'c', key: 'k', http2: true }, 'listen.tls.http2: expected a mapping, got true'],
    [{ cert: '', key: 'k' }, 'listen.tls.cert: expected a file path, got ""'],
    [{ cert: 'c', key: 'k', handshake_timeout_ms: 50 }, 'listen.tls.handshake_timeout_ms: expected an integer from 100 to 120000, got 50'],
    [{ cert: 'c', key: 'k', http2: { max_concurrent_streams: 0 } }, 'listen.tls.http2.max_concurrent_streams: expected an integer from 1 to 10000, got 0'],
    [{ cert: 'c', key: 'k', http2: { enabled: 'yes' } }, 'listen.tls.http2.enabled: expected true or false, got "yes"'],
  ])('%j → %s', (tls, message) => {
    expect(problems(tls)).toContain(message);
  });

  it('refuses unknown fields, as the rest of the configuration does', () => {
    expect(problems({ cert: 'c', key: 'k', ciphers: 'ALL' })[0]).toMatch(/^listen\.tls\.ciphers: unknown field/);
    expect(problems({ cert: 'c', key: 'k', http2: { push: true } })[0]).toMatch(/^listen\.tls\.http2\.push: unknown field/);
  });
});

describe('tlsServerLimits', () => {
  it('takes the timeouts and max_connections from listen and the rest from listen.tls', () => {
    const listen = validateConfig({ ...BASE, listen: { max_connections: 7, tls: { cert: 'c', key: 'k', handshake_timeout_ms: 3000 } } }, 't').listen;
    if (listen.tls === undefined) throw new Error('no tls');
    expect(tlsServerLimits(listen, listen.tls)).toEqual({
      handshakeTimeoutMs: 3000,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5000,
      maxConnections: 7,
      http2: { enabled: true, maxConcurrentStreams: 100, maxHeaderListBytes: 16_384 },
    });
  });
});
