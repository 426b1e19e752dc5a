import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TARGET_LENGTH } from '../../src/routing/classify.js';
import { DIGEST_A } from '../support/harness.js';
import { ORIGIN, ORIGIN_PATH, assertAnswerKeepsPromises, errorLines, rawExchange, rawRequest, requestBytes, startHostileEdge, type HostileSetup } from '../support/hostile.js';

const HEX64 = 'a'.repeat(64);

/**
 * Every target goes over a raw socket exactly as written here: an HTTP client library would
 * resolve `..`, re-encode or refuse half of them, and then the test would prove nothing.
 * `code` is the OCI error code when the classifier answers; undefined when node's own parser
 * refuses the bytes first (then only the status is promised).
 */
const HOSTILE_TARGETS: Array<[label: string, target: string | Buffer, status: number, code?: string]> = [
  ['dot-dot segment in the name', '/v2/a/../b/manifests/x', 400, 'NAME_INVALID'],
  ['dot segment in the name', '/v2/./a/manifests/x', 400, 'NAME_INVALID'],
  ['dot-dot climbing out of /v2/', '/v2/../../etc/manifests/x', 400, 'NAME_INVALID'],
  ['dot-dot as the tag', '/v2/a/manifests/..', 400, 'MANIFEST_INVALID'],
  ['dot-dot as the digest', '/v2/a/blobs/..', 400, 'DIGEST_INVALID'],
  ['dot-dot before /v2/', '/../v2/a/manifests/x', 404],
  ['%2e%2e segment', '/v2/%2e%2e/a/manifests/x', 400, 'NAME_INVALID'],
  ['%2E%2E segment, upper case', '/v2/a/%2E%2E/%2E%2E/manifests/x', 400, 'NAME_INVALID'],
  ['%2e%2e as the tag', '/v2/a/manifests/%2e%2e', 400, 'MANIFEST_INVALID'],
  ['..%2f in the name', '/v2/..%2f..%2fetc/manifests/x', 400, 'NAME_INVALID'],
  ['%2F inside a name', '/v2/library%2Fpause/manifests/3.9', 400, 'NAME_INVALID'],
  ['%2f inside a blob name', `/v2/a%2fb/blobs/${DIGEST_A}`, 400, 'NAME_INVALID'],
  ['backslash dot-dot', '/v2/a\\..\\b/manifests/x', 400],
  ['%5c backslash', '/v2/a%5c..%5cb/manifests/x', 400, 'NAME_INVALID'],
  ['//host as the whole target', '//evil.example/v2/a/manifests/x', 404],
  ['/v2//host/...', '/v2//evil.example/a/manifests/x', 400, 'NAME_INVALID'],
  ['empty name component', '/v2/a//b/manifests/x', 400, 'NAME_INVALID'],
  ['absolute-form target to another host', 'http://evil.example/v2/a/manifests/x', 404],
  ['double-encoded dot-dot (%252e)', '/v2/%252e%252e/a/manifests/x', 400, 'NAME_INVALID'],
  ['double-encoded slash in the tag', '/v2/a/manifests/x%252f..', 400, 'MANIFEST_INVALID'],
  ['%00 in the tag', '/v2/a/manifests/x%00', 400, 'MANIFEST_INVALID'],
  ['%00 in the name', '/v2/a%00b/manifests/x', 400, 'NAME_INVALID'],
  ['raw NUL byte', Buffer.from('/v2/a\x00b/manifests/x', 'latin1'), 400],
  ['%0d%0a header injection in the tag', '/v2/a/manifests/x%0d%0aSet-Cookie:%20pwned=1', 400, 'DIGEST_INVALID'],
  ['%0d%0a header injection in the name', '/v2/a%0d%0aLocation:%20https://evil.example/manifests/x', 400, 'NAME_INVALID'],
  ['raw CR inside the target', Buffer.from('/v2/a/manifests/x\rLocation: https://evil.example/', 'latin1'), 400],
  ['%3F inside a digest', `/v2/a/blobs/sha256:${'a'.repeat(32)}%3F${'a'.repeat(29)}`, 400, 'DIGEST_INVALID'],
  ['%23 inside a digest', `/v2/a/manifests/sha256:${'a'.repeat(32)}%23${'a'.repeat(29)}`, 400, 'DIGEST_INVALID'],
  ['%3F after a valid digest', `/v2/a/blobs/sha256:${HEX64}%3Fx=1`, 400, 'DIGEST_INVALID'],
  ['raw # fragment after a tag', '/v2/a/manifests/x#frag', 400, 'MANIFEST_INVALID'],
  ['invalid UTF-8 escape %ff', '/v2/%ff/manifests/x', 400, 'NAME_INVALID'],
  ['truncated UTF-8 escape %c3%28', '/v2/a/manifests/%c3%28', 400, 'MANIFEST_INVALID'],
  ['broken escape %zz', '/v2/a%zz/manifests/x', 400, 'NAME_INVALID'],
  ['lone % at the end', '/v2/a/manifests/x%', 400, 'MANIFEST_INVALID'],
  ['upper-case repository name', '/v2/Library/Pause/manifests/3.9', 400, 'NAME_INVALID'],
  ['percent-encoded unicode name', '/v2/%C3%BCber/manifests/x', 400, 'NAME_INVALID'],
  ['raw UTF-8 bytes in the name', Buffer.from('/v2/über/manifests/x', 'utf8'), 400],
  ['raw UTF-8 bytes in a blob name', Buffer.from(`/v2/образ/blobs/${DIGEST_A}`, 'utf8'), 400],
  ['raw UTF-8 right-to-left override', Buffer.from('/v2/a\u202eb/manifests/x', 'utf8'), 400],
  ['sha256 digest one hex short', `/v2/a/blobs/sha256:${'a'.repeat(63)}`, 400, 'DIGEST_INVALID'],
  ['sha256 digest one hex long', `/v2/a/blobs/sha256:${'a'.repeat(65)}`, 400, 'DIGEST_INVALID'],
  ['sha512 algorithm with a sha256 length', `/v2/a/blobs/sha512:${HEX64}`, 400, 'DIGEST_INVALID'],
  ['unknown algorithm md5', `/v2/a/blobs/md5:${'a'.repeat(32)}`, 400, 'DIGEST_INVALID'],
  ['unknown algorithm sha384', `/v2/a/blobs/sha384:${'a'.repeat(96)}`, 400, 'DIGEST_INVALID'],
  ['upper-case hex digest', `/v2/a/blobs/sha256:${'A'.repeat(64)}`, 400, 'DIGEST_INVALID'],
  ['digest without algorithm', `/v2/a/blobs/:${HEX64}`, 400, 'DIGEST_INVALID'],
  ['manifest digest with a bad length', `/v2/a/manifests/sha256:${'a'.repeat(10)}`, 400, 'DIGEST_INVALID'],
  ['over-long repository name', `/v2/${'a'.repeat(256)}/manifests/x`, 400, 'NAME_INVALID'],
  ['over-long tag', `/v2/a/manifests/${'t'.repeat(129)}`, 400, 'MANIFEST_INVALID'],
  ['8 KiB target (refused by the classifier)', `/v2/${'a/'.repeat(4096)}manifests/x`, 414, 'UNSUPPORTED'],
  ['64 KiB target (refused by the HTTP parser)', `/v2/${'a/'.repeat(32768)}manifests/x`, 414, 'UNSUPPORTED'],
];

describe('hostile request targets over raw sockets', () => {
  let setup: HostileSetup;
  beforeAll(async () => {
    setup = await startHostileEdge({}, [DIGEST_A]);
  });
  afterAll(async () => {
    await setup?.close();
  });

  const cases = HOSTILE_TARGETS.map(([label, target, status, code]) => ({ label, target, status, code }));
  it.each(cases)('$label -> $status', async ({ target, status, code }) => {
    const res = await rawRequest(setup.edge.port, target);
    expect(res.status).toBe(status);
    assertAnswerKeepsPromises({ status: res.status, location: res.headers.location }, setup.scope);
    if (code !== undefined) {
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(res.body).errors[0].code).toBe(code);
    }
    // Nothing the client put in the target may come back as a header line of its own.
    for (const line of res.headerLines) expect(line.toLowerCase()).not.toMatch(/^(set-cookie|location):.*(pwned|evil)/);
  });

  it(`draws the 414 line just above ${MAX_TARGET_LENGTH} characters`, async () => {
    const base = '/v2/a/manifests/';
    const atLimit = await rawRequest(setup.edge.port, base + 'x'.repeat(MAX_TARGET_LENGTH - base.length));
    const overLimit = await rawRequest(setup.edge.port, base + 'x'.repeat(MAX_TARGET_LENGTH - base.length + 1));
    expect(atLimit.status).toBe(400);
    expect(overLimit.status).toBe(414);
  });

  it('copies an encoded CR LF in a tags query into Location as inert text, never as a header', async () => {
    const res = await rawRequest(setup.edge.port, '/v2/a/tags/list?n=1%0d%0aSet-Cookie:%20pwned=1');
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`${ORIGIN}/v2/${ORIGIN_PATH}/a/tags/list?n=1%0d%0aSet-Cookie:%20pwned=1`);
    expect(res.headers['set-cookie']).toBeUndefined();
    assertAnswerKeepsPromises({ status: res.status, location: res.headers.location }, setup.scope);
  });

  it('refuses a tags query carrying a raw # instead of echoing it into Location', async () => {
    const res = await rawRequest(setup.edge.port, '/v2/a/tags/list?n=1#x');
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
  });

  it('answers every one of the targets above on one keep-alive connection without falling over', async () => {
    // Pipelined on a single socket: a parser error must not take down answers already owed.
    const valid = HOSTILE_TARGETS.filter(([, target, , code]) => typeof target === 'string' && code !== undefined && target.length < 4000);
    const wire = valid.map(([, target]) => requestBytes(target).toString('latin1').replace('Connection: close\r\n', ''));
    const exchange = await rawExchange(setup.edge.port, wire.join(''), { stopAfterResponses: valid.length, deadlineMs: 5000 });
    expect(exchange.responses.map((r) => r.status)).toEqual(valid.map(([, , status]) => status));
  });

  it('still serves valid pulls afterwards, and nothing was logged as an internal error', async () => {
    const ping = await rawRequest(setup.edge.port, '/v2/');
    expect(ping.status).toBe(200);
    const blob = await rawRequest(setup.edge.port, `/v2/a/blobs/${DIGEST_A}`);
    expect(blob.status).toBe(307);
    expect(blob.headers.location).toBe(`${setup.bucket.url}/containers/images/${DIGEST_A}`);
    expect(errorLines(setup.edge)).toEqual([]);
  });
});
