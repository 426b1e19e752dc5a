import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { classify } from '../../src/routing/classify.js';
import { decide, ociErrorBody, type Answer } from '../../src/routing/decide.js';
import { buildPlan, redirectHosts, type RoutingPlan } from '../../src/routing/plan.js';

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

/** decide() for every route but a blob's (blobs go through routeBlob). */
function decideStatic(target: string, on: RoutingPlan = plan): Answer {
  const route = classify(target);
  if (route.kind === 'blob') throw new Error(`${target} is a blob route`);
  return decide(route, on);
}

describe('decide', () => {
  it.each<[string, string, string, string | undefined]>([
    ['/', 'https://info.example/', 'info', undefined],
    ['/privacy', 'https://privacy.example/p', 'privacy', undefined],
    ['/v2/pause/manifests/3.9', 'https://origin.example/v2/prod/images/pause/manifests/3.9', 'origin', 'pause'],
    ['/v2/library/app/manifests/latest', 'https://origin.example/v2/prod/images/library/app/manifests/latest', 'origin', 'library/app'],
    [`/v2/pause/manifests/${S256}`, `https://origin.example/v2/prod/images/pause/manifests/${S256}`, 'origin', 'pause'],
    [`/v2/pause/manifests/${COSIGN}`, `https://sigs.example/v2/prod/images/pause/manifests/${COSIGN}`, 'signatures', 'pause'],
    ['/v2/pause/tags/list?n=2&last=1.0', 'https://origin.example/v2/prod/images/pause/tags/list?n=2&last=1.0', 'origin', 'pause'],
    [`/v2/pause/referrers/${S256}?artifactType=x`, `https://origin.example/v2/prod/images/pause/referrers/${S256}?artifactType=x`, 'origin', 'pause'],
  ])('%s -> 307 %s', (target, location, to, repo) => {
    const kind = classify(target).kind;
    const origin = to === 'origin' ? 'origin.example' : undefined;
    expect(decideStatic(target)).toEqual({ type: 'redirect', kind, location, target: to, repo, client: undefined, reason: undefined, origin });
  });

  it.each<[string, string, number, string | undefined]>([
    ['/v2/_catalog', 'catalog', 404, 'UNSUPPORTED'],
    ['/v2/x/y/z', 'unsupported', 404, 'UNSUPPORTED'],
    ['/nope', 'not_found', 404, undefined],
    ['/v2/A/manifests/x', 'invalid', 400, 'NAME_INVALID'],
    ['/v2/a/blobs/sha256:1', 'invalid', 400, 'DIGEST_INVALID'],
    [`/${'x'.repeat(5000)}`, 'too_long', 414, 'UNSUPPORTED'],
  ])('%.60s -> %s %i %s', (target, kind, status, code) => {
    expect(decideStatic(target)).toMatchObject({ type: 'error', kind, status, code, repo: undefined });
  });

  it('answers the ping', () => {
    expect(decideStatic('/v2/')).toEqual({ type: 'ping', kind: 'ping' });
  });

  it('sends cosign tags to the origin when no signature upstream is set, and 404s unset info URLs in plain text', () => {
    const bare = buildPlan(validateConfig({ origin: { url: 'https://o.example' } }, 'test'));
    expect(decideStatic(`/v2/p/manifests/${COSIGN}`, bare)).toMatchObject({
      type: 'redirect',
      location: `https://o.example/v2/p/manifests/${COSIGN}`,
      target: 'origin',
    });
    expect(decideStatic('/', bare)).toEqual({ type: 'error', kind: 'root', status: 404, code: undefined, message: '404 page not found', repo: undefined });
    expect(decideStatic('/privacy', bare)).toMatchObject({ type: 'error', kind: 'privacy', status: 404, code: undefined });
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
