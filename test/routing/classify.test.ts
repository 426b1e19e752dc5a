import { describe, expect, it } from 'vitest';
import { classify, MAX_TARGET_LENGTH, type Route } from '../../src/routing/classify.js';

const S256 = `sha256:${'0123456789abcdef'.repeat(4)}`;
const S512 = `sha512:${'0123456789abcdef'.repeat(8)}`;
const COSIGN = `sha256-${'ab'.repeat(32)}`;

const table: Array<[string, Route]> = [
  ['/', { kind: 'root' }],
  ['/privacy', { kind: 'privacy' }],
  ['/v2', { kind: 'ping' }],
  ['/v2/', { kind: 'ping' }],
  ['/v2/_catalog', { kind: 'catalog' }],
  ['/v2/pause/manifests/3.9', { kind: 'manifest', name: 'pause', reference: '3.9', signature: false }],
  ['/v2/library/app/manifests/latest', { kind: 'manifest', name: 'library/app', reference: 'latest', signature: false }],
  ['/v2/a/b/c/d/manifests/v1.0.0-rc_1', { kind: 'manifest', name: 'a/b/c/d', reference: 'v1.0.0-rc_1', signature: false }],
  [`/v2/pause/manifests/${S256}`, { kind: 'manifest', name: 'pause', reference: S256, signature: false }],
  [`/v2/pause/manifests/${S512}`, { kind: 'manifest', name: 'pause', reference: S512, signature: false }],
  [`/v2/pause/manifests/${COSIGN}.sig`, { kind: 'manifest', name: 'pause', reference: `${COSIGN}.sig`, signature: true }],
  [`/v2/pause/manifests/${COSIGN}.att`, { kind: 'manifest', name: 'pause', reference: `${COSIGN}.att`, signature: true }],
  [`/v2/pause/manifests/${COSIGN}.sbom`, { kind: 'manifest', name: 'pause', reference: `${COSIGN}.sbom`, signature: true }],
  [`/v2/pause/manifests/${COSIGN}.txt`, { kind: 'manifest', name: 'pause', reference: `${COSIGN}.txt`, signature: false }],
  // A name may itself contain a "manifests" component: the verb is read from the right.
  ['/v2/x/manifests/y/manifests/z', { kind: 'manifest', name: 'x/manifests/y', reference: 'z', signature: false }],
  ['/v2/my-org/my__app.v2/manifests/t', { kind: 'manifest', name: 'my-org/my__app.v2', reference: 't', signature: false }],
  ['/v2/pause/tags/list', { kind: 'tags', name: 'pause', query: '' }],
  ['/v2/pause/tags/list?n=1&last=3.8', { kind: 'tags', name: 'pause', query: '?n=1&last=3.8' }],
  [`/v2/pause/referrers/${S256}`, { kind: 'referrers', name: 'pause', digest: S256, query: '' }],
  [`/v2/pause/referrers/${S256}?artifactType=application%2Fvnd.dev.cosign`, { kind: 'referrers', name: 'pause', digest: S256, query: '?artifactType=application%2Fvnd.dev.cosign' }],
  [`/v2/library/app/blobs/${S256}`, { kind: 'blob', name: 'library/app', digest: S256 }],
  [`/v2/pause/blobs/${S512}`, { kind: 'blob', name: 'pause', digest: S512 }],
  [`/v2/pause/blobs/${S256}?ignored=1`, { kind: 'blob', name: 'pause', digest: S256 }],
  ['/v2/pause/blobs/uploads', { kind: 'unsupported' }],
  ['/v2/pause/blobs/uploads/1234', { kind: 'unsupported' }],
  ['/v2/pause/tags/other', { kind: 'unsupported' }],
  ['/v2/pause', { kind: 'unsupported' }],
  ['/v2/pause/something/else', { kind: 'unsupported' }],
  ['/v2/_catalog/x', { kind: 'unsupported' }],
  ['/v3/', { kind: 'not_found' }],
  ['/favicon.ico', { kind: 'not_found' }],
  ['/privacy/', { kind: 'not_found' }],
  ['', { kind: 'not_found' }],
  ['http://evil.example/v2/', { kind: 'not_found' }],
];

const invalid: Array<[string, string]> = [
  ['/v2/PAUSE/manifests/3.9', 'NAME_INVALID'],
  ['/v2/a/../b/manifests/x', 'NAME_INVALID'],
  ['/v2/a/./b/manifests/x', 'NAME_INVALID'],
  ['/v2/%2e%2e/manifests/x', 'NAME_INVALID'],
  ['/v2/a%2Fb/manifests/x', 'NAME_INVALID'],
  ['/v2//host/manifests/x', 'NAME_INVALID'],
  ['/v2/a\\b/manifests/x', 'NAME_INVALID'],
  ['/v2/-a/manifests/x', 'NAME_INVALID'],
  ['/v2/a-/manifests/x', 'NAME_INVALID'],
  ['/v2/a___b/manifests/x', 'NAME_INVALID'],
  ['/v2/caf\u00e9/manifests/x', 'NAME_INVALID'],
  [`/v2/${'a'.repeat(256)}/manifests/x`, 'NAME_INVALID'],
  ['/v2/pause/manifests/.hidden', 'MANIFEST_INVALID'],
  [`/v2/pause/manifests/${'t'.repeat(129)}`, 'MANIFEST_INVALID'],
  ['/v2/pause/manifests/', 'MANIFEST_INVALID'],
  ['/v2/pause/manifests/a%00b', 'MANIFEST_INVALID'],
  ['/v2/pause/manifests/sha256:abc', 'DIGEST_INVALID'],
  [`/v2/pause/manifests/${S256.toUpperCase()}`, 'DIGEST_INVALID'],
  ['/v2/pause/blobs/sha256:abc', 'DIGEST_INVALID'],
  [`/v2/pause/blobs/md5:${'a'.repeat(32)}`, 'DIGEST_INVALID'],
  [`/v2/pause/blobs/sha512:${'a'.repeat(64)}`, 'DIGEST_INVALID'],
  [`/v2/pause/blobs/${S256}%3F`, 'DIGEST_INVALID'],
  [`/v2/pause/blobs/${S256}%23x`, 'DIGEST_INVALID'],
  [`/v2/pause/blobs/${S256}#x`, 'DIGEST_INVALID'],
  [`/v2/PAUSE/blobs/${S256}`, 'NAME_INVALID'],
  ['/v2/pause/referrers/latest', 'DIGEST_INVALID'],
  [`/v2/Pause/referrers/${S256}`, 'NAME_INVALID'],
  ['/v2/Pause/tags/list', 'NAME_INVALID'],
  ['/v2/pause/tags/list?n=1%0d%0aX: y', 'UNSUPPORTED'],
  ['/v2/pause/tags/list?n=1#frag', 'UNSUPPORTED'],
  [`/v2/pause/referrers/${S256}?a=\u00ff`, 'UNSUPPORTED'],
];

describe('classify', () => {
  it.each(table)('%s', (target, expected) => {
    expect(classify(target)).toEqual(expected);
  });

  it.each(invalid)('%s is refused with %s', (target, code) => {
    const route = classify(target);
    expect(route.kind).toBe('invalid');
    expect(route.kind === 'invalid' && route.code).toBe(code);
  });

  it('takes a digest the caller already knows without holding it to the grammar again, and any other leaf only through the grammar', () => {
    // The caller vouches for what it knows (the existence cache holds only digests classify admitted before).
    const vouched = `sha256:${'Z'.repeat(64)}`;
    const known = (digest: string): boolean => digest === vouched;
    expect(classify(`/v2/app/blobs/${vouched}`, known)).toEqual({ kind: 'blob', name: 'app', digest: vouched });
    expect(classify(`/v2/app/blobs/${vouched}`)).toMatchObject({ kind: 'invalid', code: 'DIGEST_INVALID' });
    expect(classify(`/v2/app/blobs/${S256}`, known)).toEqual({ kind: 'blob', name: 'app', digest: S256 });
    expect(classify(`/v2/app/manifests/${S256}?x=1`, known)).toEqual({ kind: 'manifest', name: 'app', reference: S256, signature: false });
    // Known or not, a name is still held to its grammar.
    expect(classify(`/v2/App/blobs/${vouched}`, known)).toMatchObject({ kind: 'invalid', code: 'NAME_INVALID' });
  });

  it('reads a leaf shaped like a sha256 digest but holding a slash as the scan does: the slash inside it is the last one', () => {
    const slashed = `sha256:${'a'.repeat(30)}/${'a'.repeat(33)}`;
    expect(slashed).toHaveLength(S256.length);
    expect(classify(`/v2/app/blobs/${slashed}`)).toEqual({ kind: 'unsupported' });
    expect(classify(`/v2/app/blobs/${slashed}`, () => false)).toEqual({ kind: 'unsupported' });
  });

  it('refuses targets longer than the limit before parsing them', () => {
    expect(classify(`/v2/${'a/'.repeat(MAX_TARGET_LENGTH)}manifests/x`)).toEqual({ kind: 'too_long' });
  });
});
