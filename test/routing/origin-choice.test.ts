import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { loadRegions } from '../../src/geo/nearest.js';
import type { ClientLocation } from '../../src/geo/types.js';
import { OriginStates, pickOrigin, type PlannedOrigin } from '../../src/routing/origin-choice.js';
import { chosenOrigin, originPreferenceFor, planOrigins } from '../../src/routing/origin-table.js';
import { buildPlan, redirectHosts } from '../../src/routing/plan.js';
import { problems } from '../support/config.js';

// The origin choice of issue 15, rule by rule, over the real geo/regions.json coordinates.

const regions = loadRegions();
const gcp = (region: string, extra: Record<string, unknown> = {}) => ({ url: `https://${region}.example`, provider: 'gcp', regions: [region], ...extra });

function configWith(mode: 'nearest' | 'primary', mirrors: unknown[]): Config {
  return validateConfig({ origin: { url: 'https://primary.example', path: 'p', mirrors }, routing: { origins: mode } }, 'test');
}

const MIRRORS = [gcp('us-central1'), gcp('europe-west1'), gcp('europe-west9'), gcp('asia-northeast1'), gcp('europe-west2', { regions: ['europe-west2', 'europe-west1'] })];

function hosts(mode: 'nearest' | 'primary', client: ClientLocation, mirrors: unknown[] = MIRRORS): { order: string[]; reason: string } {
  const preference = originPreferenceFor(planOrigins(configWith(mode, mirrors), regions), client);
  return { order: preference.order.map((o) => o.host), reason: preference.reason };
}

describe('origin choice (issue 15 rules)', () => {
  it.each<[string, 'nearest' | 'primary', ClientLocation, string, string]>([
    ['1: a Google Cloud client in a served region gets that replica', 'primary', { provider: 'gcp', region: 'asia-northeast1' }, 'asia-northeast1.example', 'region'],
    ['1: ... whatever routing.origins says', 'nearest', { provider: 'gcp', region: 'us-central1' }, 'us-central1.example', 'region'],
    ['2: a Google Cloud client in an unserved region gets its nearest replica (Frankfurt → Belgium)', 'primary', { provider: 'gcp', region: 'europe-west3' }, 'europe-west1.example', 'provider-nearest'],
    ['2: ... Osaka → Tokyo', 'primary', { provider: 'gcp', region: 'asia-northeast2' }, 'asia-northeast1.example', 'provider-nearest'],
    ['3: an AWS client with nearest gets the replica nearest its AWS region (Paris)', 'nearest', { provider: 'aws', region: 'eu-west-3' }, 'europe-west9.example', 'nearest'],
    ['3: a geolocated client with nearest gets the nearest replica (Tokyo)', 'nearest', { country: 'JP', lat: 35.6, lon: 139.7 }, 'asia-northeast1.example', 'nearest'],
  ])('%s', (_name, mode, client, first, reason) => {
    const chosen = hosts(mode, client);
    expect(chosen.order[0]).toBe(first);
    expect(chosen.reason).toBe(reason);
    // Failover goes through every other replica before the primary.
    expect(new Set(chosen.order).size).toBe(MIRRORS.length);
  });

  it.each<[string, 'nearest' | 'primary', ClientLocation]>([
    ['3: an AWS client with primary', 'primary', { provider: 'aws', region: 'eu-west-3' }],
    ['3: a geolocated client with primary', 'primary', { lat: 35.6, lon: 139.7 }],
    ['4: a client placed nowhere, even with nearest', 'nearest', {}],
    ['4: a cloud client without a region and no coordinates', 'nearest', { provider: 'gcp' }],
    ['a region nobody knows, without coordinates', 'primary', { provider: 'aws', region: 'mars-1' }],
  ])('%s → the primary alone', (_name, mode, client) => {
    expect(hosts(mode, client)).toEqual({ order: [], reason: 'primary' });
  });

  it('puts every replica serving the region first, in configuration order, then the rest nearest first', () => {
    expect(hosts('primary', { provider: 'gcp', region: 'europe-west1' }).order).toEqual([
      'europe-west1.example',
      'europe-west2.example',
      'europe-west9.example',
      'us-central1.example',
      'asia-northeast1.example',
    ]);
  });

  it('breaks distance ties by configuration order', () => {
    const twins = [
      { url: 'https://b.example', location: { lat: 10, lon: 10 } },
      { url: 'https://a.example', location: { lat: 10, lon: 10 } },
      { url: 'https://c.example', location: { lat: -10, lon: 10 } },
    ];
    expect(hosts('nearest', { lat: 0, lon: 0 }, twins).order).toEqual(['b.example', 'a.example', 'c.example']);
    expect(hosts('nearest', { lat: 0, lon: 0 }, [twins[2], twins[1], twins[0]]).order).toEqual(['c.example', 'a.example', 'b.example']);
  });

  it('places a replica by its location over its region', () => {
    const moved = [gcp('us-central1', { location: { lat: 35.7, lon: 139.7 } }), gcp('asia-northeast1', { location: { lat: 41, lon: -95 } })];
    expect(hosts('nearest', { lat: 35.6, lon: 139.7 }, moved).order[0]).toBe('us-central1.example');
  });

  it('fills each replica path from origin.path unless it names its own', () => {
    const table = planOrigins(configWith('nearest', [{ url: 'https://a.example', location: { lat: 0, lon: 0 } }, { url: 'https://b.example', path: '/own/', location: { lat: 0, lon: 0 } }]));
    expect(table.replicas.map((r) => r.prefix)).toEqual(['https://a.example/v2/p/', 'https://b.example/v2/own/']);
    expect(table.primary.prefix).toBe('https://primary.example/v2/p/');
  });
});

describe('failover over the preference', () => {
  const table = planOrigins(configWith('nearest', MIRRORS), regions);
  const tokyo: ClientLocation = Object.freeze({ provider: 'gcp', region: 'asia-northeast1' });

  it('skips a replica that is down for the next nearest, then the primary, and returns once it is up', () => {
    const states = new OriginStates(table.replicas.length);
    const order = originPreferenceFor(table, tokyo).order;
    const pick = (): string => pickOrigin(originPreferenceFor(table, tokyo), states, table.primary).host;
    expect(pick()).toBe('asia-northeast1.example');
    expect(states.set((order[0] as PlannedOrigin).index, false)).toBe(true);
    expect(states.set((order[0] as PlannedOrigin).index, false)).toBe(false);
    expect(pick()).toBe((order[1] as PlannedOrigin).host);
    for (const origin of order) states.set(origin.index, false);
    expect(pick()).toBe('primary.example');
    states.set((order[0] as PlannedOrigin).index, true);
    expect(pick()).toBe('asia-northeast1.example');
  });

  it('gives the primary when no replica is configured or the client is unknown', () => {
    const bare = planOrigins(validateConfig({ origin: { url: 'https://primary.example' } }, 'test'));
    expect(chosenOrigin(bare, tokyo).host).toBe('primary.example');
    expect(chosenOrigin(table, undefined).host).toBe('primary.example');
  });

  it('ranks once per location: a second client of the same region reads the memo', () => {
    const fresh = planOrigins(configWith('nearest', MIRRORS), regions);
    const first = originPreferenceFor(fresh, { provider: 'gcp', region: 'europe-west3' });
    expect(originPreferenceFor(fresh, { provider: 'gcp', region: 'europe-west3' })).toBe(first);
    expect(originPreferenceFor(fresh, { lat: 48.861, lon: 2.341 })).toBe(originPreferenceFor(fresh, { lat: 48.859, lon: 2.344 }));
    expect(fresh.memo.size).toBe(2);
    expect(fresh.memo.figures().bytes).toBeGreaterThan(0);
  });
});

describe('origin.mirrors at load', () => {
  const doc = (mirrors: unknown[]) => ({ origin: { url: 'https://registry.example', mirrors } });

  it.each<[string, unknown[], string]>([
    ['a replica with no coordinates', [{ url: 'https://a.example' }], 'origin.mirrors[0]: a replica needs coordinates: a location { lat, lon } or a provider and a region geo/regions.json lists, got "https://a.example"'],
    ['a region nobody knows', [{ url: 'https://a.example', provider: 'gcp', regions: ['mars-1'] }], 'origin.mirrors[0].regions[0]: expected a region geo/regions.json lists for gcp (or a location on the replica), got "mars-1"'],
    ['regions without a provider', [{ url: 'https://a.example', regions: ['us-central1'] }], 'origin.mirrors[0].regions: regions need a provider (aws, gcp, azure, oracle), got ["us-central1"]'],
    ['a URL with a query', [{ url: 'https://a.example/?x=1', location: { lat: 0, lon: 0 } }], 'origin.mirrors[0].url: expected a URL without query, fragment or credentials, got "https://a.example/?x=1"'],
    ['the same replica twice', [gcp('us-east1'), gcp('us-east1')], 'origin.mirrors[1].url: expected each replica once, got "https://us-east1.example"'],
    ['an unknown field', [{ url: 'https://a.example', location: { lat: 0, lon: 0 }, weight: 2 }], 'origin.mirrors[0].weight: unknown field (allowed: url, path, provider, regions, location)'],
  ])('refuses %s with one clear line', (_name, mirrors, line) => {
    expect(problems(doc(mirrors))).toEqual([line]);
  });

  it('refuses a routing.origins it does not know', () => {
    expect(problems({ origin: { url: 'https://registry.example' }, routing: { origins: 'closest' } })).toEqual(['routing.origins: expected one of primary, nearest, got "closest"']);
  });

  it('lists every replica host among the redirect hosts', () => {
    const plan = buildPlan(configWith('nearest', MIRRORS));
    expect(redirectHosts(plan)).toEqual([...MIRRORS.map((m) => new URL(m.url).host), 'primary.example'].sort());
  });
});
