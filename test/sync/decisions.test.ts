/** The pure decisions of sync and its registry client, by tables. */
import { describe, expect, it } from 'vitest';
import { basicHeader, parseChallenge, parseTokenAnswer, tokenRequestUrl } from '../../src/registry-client/auth.js';
import { authsKeyHost, dockerConfigCredentials } from '../../src/registry-client/docker-config.js';
import { redirectTarget } from '../../src/registry-client/http.js';
import { RequestLimiter } from '../../src/registry-client/limiter.js';
import { nextPageUrl } from '../../src/registry-client/link.js';
import { isRetryableStatus, isTransientError, parseRetryAfter, retryDelayMs, TransientError } from '../../src/registry-client/retry.js';
import { retryableCopyError } from '../../src/sync/copy.js';
import { DigestMismatchError } from '../../src/sync/guard.js';
import { cosignTags, parseManifest, platformMatches, selectChildren, selectTags, type Descriptor } from '../../src/sync/manifest.js';
import { digestOfKey, heldDigests, planBucket } from '../../src/sync/plan.js';
import { keyPrefix, objectKey } from '../../src/sync/stores/types.js';
import { RegistryError } from '../../src/registry-client/session.js';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;

describe('WWW-Authenticate and tokens', () => {
  it.each([
    ['Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"', 'bearer', { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a:pull' }],
    ['Basic realm="Registry Realm"', 'basic', { realm: 'Registry Realm' }],
    ['bearer realm=https://a/t, service=x', 'bearer', { realm: 'https://a/t', service: 'x' }],
    ['Bearer realm="a\\"b"', 'bearer', { realm: 'a"b' }],
    ['Negotiate abc123==', 'negotiate', {}],
  ])('%s', (header, scheme, params) => {
    expect(parseChallenge(header)).toEqual({ scheme, params });
  });

  it('builds the token URL with service and scope, and refuses realms that are not http(s)', () => {
    const challenge = { scheme: 'bearer', params: { realm: 'https://auth.example/token?x=1', service: 'reg' } };
    expect(tokenRequestUrl(challenge, 'repository:a/b:pull')?.href).toBe('https://auth.example/token?x=1&service=reg&scope=repository%3Aa%2Fb%3Apull');
    expect(tokenRequestUrl({ scheme: 'bearer', params: { realm: 'file:///etc/passwd' } }, '')).toBeUndefined();
    expect(tokenRequestUrl({ scheme: 'bearer', params: { realm: 'not a url' } }, '')).toBeUndefined();
    expect(tokenRequestUrl({ scheme: 'bearer', params: {} }, '')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge('')).toBeUndefined();
  });

  it('reads token answers (token or access_token, expires_in) and refuses bad ones', () => {
    expect(parseTokenAnswer('{"token":"t","expires_in":300}')).toEqual({ token: 't', lifetimeMs: 295_000 });
    expect(parseTokenAnswer('{"access_token":"a"}')).toEqual({ token: 'a', lifetimeMs: 55_000 });
    expect(() => parseTokenAnswer('{}')).toThrow('no token');
    expect(() => parseTokenAnswer('<html>')).toThrow('other than JSON');
    expect(basicHeader({ username: 'u', password: 'p:w' })).toBe(`Basic ${Buffer.from('u:p:w').toString('base64')}`);
  });

  it('finds credentials in a Docker config.json by host, whatever the key form', () => {
    const auth = Buffer.from('me:pw').toString('base64');
    const text = JSON.stringify({ auths: { 'https://Reg.Example:5000/v1/': { auth }, other: { username: 'a', password: 'b' } } });
    expect(dockerConfigCredentials(text, 'reg.example:5000', 'f')).toEqual({ username: 'me', password: 'pw' });
    expect(dockerConfigCredentials(text, 'other', 'f')).toEqual({ username: 'a', password: 'b' });
    expect(dockerConfigCredentials(text, 'none', 'f')).toBeUndefined();
    expect(dockerConfigCredentials('{"credsStore":"desktop"}', 'x', 'f')).toBeUndefined();
    expect(() => dockerConfigCredentials(JSON.stringify({ auths: { x: { auth: 'bm9jb2xvbg==' } } }), 'x', 'f')).toThrow('not base64 of user:password');
    expect(() => dockerConfigCredentials('{', 'x', 'f')).toThrow('f: invalid JSON');
    expect(dockerConfigCredentials(JSON.stringify({ auths: { x: 'junk' } }), 'x', 'f')).toBeUndefined();
    expect(authsKeyHost('registry.example')).toBe('registry.example');
  });

  it.each([
    ['https://index.docker.io/v1/', 'registry-1.docker.io'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['docker.io', 'registry-1.docker.io:443'],
    ['registry-1.docker.io', 'index.docker.io'],
  ])('finds Docker Hub credentials filed under %s for an origin at %s', (key, host) => {
    const text = JSON.stringify({ auths: { [key]: { auth: Buffer.from('hub:pw').toString('base64') } } });
    expect(dockerConfigCredentials(text, host, 'f')).toEqual({ username: 'hub', password: 'pw' });
  });

  it('keeps other registries apart from Docker Hub', () => {
    const text = JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') } } });
    expect(dockerConfigCredentials(text, 'ghcr.io', 'f')).toBeUndefined();
    expect(dockerConfigCredentials(text, 'index.docker.io.evil.example', 'f')).toBeUndefined();
  });
});

describe('pages, redirects and retries', () => {
  const page = new URL('http://r.example/v2/a/tags/list?n=2');
  it.each([
    ['</v2/a/tags/list?n=2&last=b>; rel="next"', 'http://r.example/v2/a/tags/list?n=2&last=b'],
    ['<http://r.example/v2/a/tags/list?last=c>; rel=next', 'http://r.example/v2/a/tags/list?last=c'],
    ['</x>; rel="prev", </y>; rel="next"', 'http://r.example/y'],
    ['<http://evil.example/v2/a/tags/list>; rel="next"', undefined],
    ['</y>; rel="prev"', undefined],
    [undefined, undefined],
  ])('Link %s', (header, next) => {
    expect(nextPageUrl(header, page)?.href).toBe(next);
  });

  it.each([
    [302, '/b', 'http://r.example/b'],
    [307, 'https://cdn.example/x', 'https://cdn.example/x'],
    [200, '/b', undefined],
    [301, undefined, undefined],
    [302, 'ftp://x/y', undefined],
    [302, 'http://[bad', undefined],
  ])('redirect %s %s', (status, location, target) => {
    expect(redirectTarget(status, location, new URL('http://r.example/a'))?.href).toBe(target);
  });

  it.each([[429, true], [408, true], [500, true], [503, true], [501, false], [505, false], [404, false], [401, false]])('status %s retryable: %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });

  it('reads Retry-After as seconds or a date, capped, and backs off with full jitter', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('999999', now)).toBe(300_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect([0, 1, 2, 10].map((attempt) => retryDelayMs(attempt, 0.999))).toEqual([249, 499, 999, 29_970]);
    expect(retryDelayMs(3, 0.5, 1234)).toBe(1234);
  });

  it('classifies copy failures worth another GET', () => {
    expect(retryableCopyError(new DigestMismatchError('x'))).toBe(true);
    expect(retryableCopyError(new TransientError('x'))).toBe(true);
    expect(retryableCopyError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(retryableCopyError(new Error('aborted'))).toBe(true);
    expect(retryableCopyError(new RegistryError('x', 503))).toBe(true);
    expect(retryableCopyError(new RegistryError('x', 404))).toBe(false);
    expect(retryableCopyError(new Error('ENOSPC'))).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });

  it('spaces requests at origin_rps once the first second of burst is spent', async () => {
    let now = 0;
    const waits: number[] = [];
    const limiter = new RequestLimiter(2, { now: () => now, sleep: async (ms) => { waits.push(ms); now += ms; } });
    for (let i = 0; i < 4; i++) await limiter.acquire();
    expect(waits).toEqual([500, 500]);
    await new RequestLimiter(0).acquire();
  });
});

describe('manifests and platforms', () => {
  const amd: Descriptor = { mediaType: 'm', digest: D1, size: 1, platform: { os: 'linux', architecture: 'amd64' } };
  const arm: Descriptor = { mediaType: 'm', digest: D2, size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } };
  const attestation: Descriptor = { mediaType: 'm', digest: `sha256:${'c'.repeat(64)}`, size: 1, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': D2 } };

  it.each([
    ['linux/arm', arm.platform, true],
    ['linux/arm/v7', arm.platform, true],
    ['linux/arm/v6', arm.platform, false],
    ['linux/amd64', arm.platform, false],
    ['linux/amd64', undefined, false],
  ])('%s matches %j: %s', (wanted, platform, expected) => {
    expect(platformMatches(wanted, platform)).toBe(expected);
  });

  it('selects index children by platform, with the attestations of those chosen', () => {
    expect(selectChildren([amd, arm, attestation], 'all')).toHaveLength(3);
    expect(selectChildren([amd, arm, attestation], ['linux/arm']).map((item) => item.digest)).toEqual([D2, attestation.digest]);
    expect(selectChildren([amd, arm, attestation], ['linux/amd64']).map((item) => item.digest)).toEqual([D1]);
  });

  it('refuses manifests it cannot read, naming the field', () => {
    const parse = (value: unknown, type = '') => () => parseManifest(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), type, 'x:1');
    expect(parse('not json')).toThrow('x:1: manifest is not JSON');
    expect(parse(5)).toThrow('not a JSON object');
    expect(parse({ manifests: [{ digest: 'md5:1', size: 1 }] })).toThrow('x:1: manifests[0]: digest "md5:1"');
    expect(parse({ config: { digest: D1, size: -1 }, layers: [] })).toThrow('x:1: config: size -1');
    expect(parse({ mediaType: 'application/x-unknown' })).toThrow('unknown media type');
    expect(parseManifest(Buffer.from(JSON.stringify({ config: { digest: D1, size: 2 }, layers: [], subject: { digest: D2 } })), '', 'x').kind).toBe('image');
  });

  it('selects tags by expression and names cosign tags', () => {
    expect(selectTags(['v1', '1.0', 'latest', 'sha256-x.sig'], '^v?[0-9]')).toEqual(['v1', '1.0']);
    expect(selectTags(['a', 'b'], '')).toEqual(['a', 'b']);
    expect(cosignTags(D1)).toEqual([`sha256-${'a'.repeat(64)}.sig`, `sha256-${'a'.repeat(64)}.att`, `sha256-${'a'.repeat(64)}.sbom`]);
  });
});

describe('keys and plans', () => {
  it.each([
    ['/containers/images/{digest}', D1, `containers/images/${D1}`, 'containers/images/'],
    ['/{digest}', D1, D1, ''],
    ['/blobs/{digest}/data', D1, `blobs/${D1}/data`, 'blobs/'],
  ])('key template %s', (template, digest, key, prefix) => {
    expect(objectKey(template, digest)).toBe(key);
    expect(keyPrefix(template)).toBe(prefix);
    expect(digestOfKey(template, key)).toBe(digest);
  });

  it('copies what is absent or of the wrong size, and reads only digest keys from a listing', () => {
    const held = heldDigests('/c/{digest}', new Map([[`c/${D1}`, 5], [`c/${D2}`, 9], ['c/readme', 1], ['other/x', 2]]));
    expect([...held]).toEqual([[D1, 5], [D2, 9]]);
    const third = `sha256:${'c'.repeat(64)}`;
    const plan = planBucket('b', [D1, D2, third].map((digest) => ({ digest, size: 5, repository: 'r', reference: 'r:t' })), held);
    expect(plan.present.map((blob) => blob.digest)).toEqual([D1]);
    expect(plan.copy.map((blob) => [blob.digest, blob.replace])).toEqual([[D2, true], [third, false]]);
  });
});
