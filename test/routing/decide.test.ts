import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { classify } from '../../src/routing/classify.js';
import { decide, ociErrorBody } from '../../src/routing/decide.js';
import { buildPlan, redirectHosts } from '../../src/routing/plan.js';

const S256 = `sha256:${'d'.repeat(64)}`;
const COSIGN = `sha256-${'e'.repeat(64)}.sig`;

const config = validateConfig(
  {
    origin: { url: 'https://origin.example', path: 'prod/images' },
    signatures: { url: 'https://sigs.example' },
    info_url: 'https://info.example/',
    privacy_url: 'https://privacy.example/p',
    buckets: [
      { name: 'lab', url: 'http://lab.example', networks: ['10.0.0.0/8'] },
      { name: 'eu3', url: 'https://eu3.example:8443', provider: 'aws', regions: ['eu-west-3'] },
      { name: 'eu3-copy', url: 'https://eu3.example:8443/copy', provider: 'aws', regions: ['eu-west-3'] },
    ],
    default_bucket: 'https://cdn.example/',
  },
  'test',
);
const plan = buildPlan(config);

describe('decide', () => {
  it.each<[string, number, string | undefined, string]>([
    ['/', 307, 'https://info.example/', 'info'],
    ['/privacy', 307, 'https://privacy.example/p', 'privacy'],
    ['/v2/pause/manifests/3.9', 307, 'https://origin.example/v2/prod/images/pause/manifests/3.9', 'origin'],
    ['/v2/library/app/manifests/latest', 307, 'https://origin.example/v2/prod/images/library/app/manifests/latest', 'origin'],
    [`/v2/pause/manifests/${S256}`, 307, `https://origin.example/v2/prod/images/pause/manifests/${S256}`, 'origin'],
    [`/v2/pause/manifests/${COSIGN}`, 307, `https://sigs.example/v2/prod/images/pause/manifests/${COSIGN}`, 'signatures'],
    ['/v2/pause/tags/list?n=2&last=1.0', 307, 'https://origin.example/v2/prod/images/pause/tags/list?n=2&last=1.0', 'origin'],
    [`/v2/pause/referrers/${S256}?artifactType=x`, 307, `https://origin.example/v2/prod/images/pause/referrers/${S256}?artifactType=x`, 'origin'],
  ])('%s -> %i %s', (target, status, location, kind) => {
    const decision = decide(classify(target), plan);
    expect(decision).toEqual({ type: 'redirect', location, target: kind });
    expect(status).toBe(307);
  });

  it.each<[string, number, string | undefined]>([
    ['/v2/_catalog', 404, 'UNSUPPORTED'],
    ['/v2/x/y/z', 404, 'UNSUPPORTED'],
    ['/nope', 404, undefined],
    ['/v2/A/manifests/x', 400, 'NAME_INVALID'],
    ['/v2/a/blobs/sha256:1', 400, 'DIGEST_INVALID'],
    [`/${'x'.repeat(5000)}`, 414, 'UNSUPPORTED'],
  ])('%.60s -> %i %s', (target, status, code) => {
    expect(decide(classify(target), plan)).toMatchObject({ type: 'error', status, code });
  });

  it('answers the ping and hands blobs to blob routing', () => {
    expect(decide(classify('/v2/'), plan)).toEqual({ type: 'ping' });
    expect(decide(classify(`/v2/a/blobs/${S256}`), plan)).toEqual({ type: 'blob', name: 'a', digest: S256 });
  });

  it('sends cosign tags to the origin when no signature upstream is set, and 404s unset info URLs', () => {
    const bare = buildPlan(validateConfig({ origin: { url: 'https://o.example' } }, 'test'));
    expect(decide(classify(`/v2/p/manifests/${COSIGN}`), bare)).toEqual({
      type: 'redirect',
      location: `https://o.example/v2/p/manifests/${COSIGN}`,
      target: 'origin',
    });
    expect(decide(classify('/'), bare)).toMatchObject({ type: 'error', status: 404 });
    expect(decide(classify('/privacy'), bare)).toMatchObject({ type: 'error', status: 404 });
  });

  it('writes OCI error documents', () => {
    expect(JSON.parse(ociErrorBody('NAME_INVALID', 'bad'))).toEqual({ errors: [{ code: 'NAME_INVALID', message: 'bad', detail: null }] });
  });
});

describe('redirectHosts', () => {
  it('lists every host a Location may point at', () => {
    // Sorted, once per host (with its port), the default bucket given as a URL included.
    expect(redirectHosts(plan)).toEqual(['cdn.example', 'eu3.example:8443', 'lab.example', 'origin.example', 'sigs.example']);
  });
});
