import { describe, expect, it } from 'vitest';
import { headerListBytes } from '../../src/server/tls-guards.js';
import { HANDSHAKE_FAILURE_REASONS, handshakeFailureReason, negotiatedProtocol } from '../../src/server/tls-metrics.js';

describe('handshakeFailureReason', () => {
  it.each([
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'timeout'],
    ['ERR_SSL_HTTP_REQUEST', 'plain_http'],
    ['ERR_SSL_UNSUPPORTED_PROTOCOL', 'protocol_version'],
    ['ERR_SSL_NO_SHARED_CIPHER', 'no_shared_cipher'],
    ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'client_certificate'],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'certificate_refused_by_client'],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'certificate_refused_by_client'],
    ['ERR_SSL_NO_APPLICATION_PROTOCOL', 'no_application_protocol'],
    ['ECONNRESET', 'reset'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'malformed'],
    ['ERR_SSL_PACKET_LENGTH_TOO_LONG', 'malformed'],
    ['ERR_SOMETHING_ELSE', 'other'],
    [undefined, 'other'],
    [42, 'other'],
  ])('%s → %s', (code, reason) => {
    expect(handshakeFailureReason({ code })).toBe(reason);
  });

  it('only ever returns a declared label value (no unbounded series)', () => {
    for (const code of ['ERR_SSL_X', 'ERR_TLS_Y', 'E', '']) expect(HANDSHAKE_FAILURE_REASONS).toContain(handshakeFailureReason({ code }));
  });
});

describe('negotiatedProtocol', () => {
  it.each([
    ['h2', 'h2'],
    ['http/1.1', 'http/1.1'],
    [false, 'none'],
    [null, 'none'],
    ['spdy/3', 'none'],
  ] as const)('%s → %s', (alpn, label) => {
    expect(negotiatedProtocol(alpn)).toBe(label);
  });
});

describe('headerListBytes', () => {
  it.each([
    [[], 0],
    [[':path', '/v2/'], 5 + 4 + 32],
    [[':method', 'GET', 'user-agent', 'containerd/1.6.20'], 7 + 3 + 32 + 10 + 17 + 32],
  ])('%j → %d', (raw, bytes) => {
    expect(headerListBytes(raw)).toBe(bytes);
  });
});
