import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import type { BucketConfig, LatLon } from '../../src/config/types.js';
import {
  EARTH_RADIUS_KM,
  RegionsFormatError,
  bucketLocation,
  clientPoint,
  haversineKm,
  loadRegions,
  parseRegions,
  rankBuckets,
  sameProviderNearest,
  type RegionCoordinates,
} from '../../src/geo/nearest.js';
import type { ClientLocation } from '../../src/geo/types.js';
import { sharedRangesFile, tempDir } from '../support/geo.js';

const scratch = tempDir();
afterAll(() => scratch.cleanup());

const PARIS: LatLon = { lat: 48.8566, lon: 2.3522 };
const LONDON: LatLon = { lat: 51.5072, lon: -0.1276 };
const NEW_YORK: LatLon = { lat: 40.7128, lon: -74.006 };
const SYDNEY: LatLon = { lat: -33.8688, lon: 151.2093 };

describe('haversineKm', () => {
  test.each([
    ['same point', PARIS, PARIS, 0, 0.001],
    ['Paris–London', PARIS, LONDON, 344, 3],
    ['London–New York', LONDON, NEW_YORK, 5570, 15],
    ['Paris–Sydney', PARIS, SYDNEY, 16960, 40],
    ['one degree of latitude', { lat: 0, lon: 0 }, { lat: 1, lon: 0 }, 111.2, 0.1],
    ['across the antimeridian', { lat: 0, lon: 179.5 }, { lat: 0, lon: -179.5 }, 111.2, 0.1],
    ['pole to pole', { lat: 90, lon: 0 }, { lat: -90, lon: 0 }, Math.PI * EARTH_RADIUS_KM, 0.001],
    ['antipodes', { lat: 0, lon: 0 }, { lat: 0, lon: 180 }, Math.PI * EARTH_RADIUS_KM, 0.001],
  ])('%s', (_label, a, b, km, tolerance) => {
    expect(Math.abs(haversineKm(a, b) - km)).toBeLessThanOrEqual(tolerance);
    expect(haversineKm(b, a)).toBeCloseTo(haversineKm(a, b), 9);
  });

  test('is a metric on random points (never NaN, symmetric, triangle inequality)', () => {
    const point = fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) });
    fc.assert(
      fc.property(point, point, point, (a, b, c) => {
        const ab = haversineKm(a, b);
        expect(Number.isFinite(ab)).toBe(true);
        expect(ab).toBeLessThanOrEqual(Math.PI * EARTH_RADIUS_KM + 1e-6);
        // Near antipodal points asin() loses precision (centimetres on 20,000 km): allow a metre.
        expect(haversineKm(a, c)).toBeLessThanOrEqual(ab + haversineKm(b, c) + 1e-3);
      }),
      // The seed that found the antipodal case, so a run always covers it.
      { seed: 1330490329 },
    );
  });
});

const regions: RegionCoordinates = parseRegions({
  providers: {
    aws: {
      'eu-west-3': { lat: 48.86, lon: 2.35 },
      'eu-west-2': { lat: 51.51, lon: -0.13 },
      'eu-central-1': { lat: 50.11, lon: 8.68 },
      'us-east-1': { lat: 38.95, lon: -77.45 },
      'ap-southeast-2': { lat: -33.87, lon: 151.21 },
    },
    gcp: { 'europe-west9': { lat: 48.86, lon: 2.35 }, 'us-central1': { lat: 41.26, lon: -95.86 } },
  },
});

function bucket(name: string, fields: Partial<BucketConfig> = {}): BucketConfig {
  return { name, url: `https://${name}.example`, regions: [], networks: [], ...fields };
}

const paris = bucket('aws-paris', { provider: 'aws', regions: ['eu-west-3'] });
const london = bucket('aws-london', { provider: 'aws', regions: ['eu-west-2', 'eu-west-1'] });
const virginia = bucket('aws-virginia', { provider: 'aws', regions: ['us-east-1'] });
const sydney = bucket('aws-sydney', { provider: 'aws', regions: ['ap-southeast-2'] });
const gcpIowa = bucket('gcp-iowa', { provider: 'gcp', regions: ['us-central1'] });
const lab = bucket('lab', { location: { lat: 50.85, lon: 4.35 }, networks: ['127.0.0.0/8'] });
const nowhere = bucket('nowhere', { provider: 'aws', regions: ['xx-unknown-1'] });
const buckets = [paris, london, virginia, sydney, gcpIowa, lab, nowhere];

describe('bucketLocation', () => {
  test.each([
    ['explicit location', lab, { lat: 50.85, lon: 4.35 }],
    ["its provider's first region", london, { lat: 51.51, lon: -0.13 }],
    ['unknown region', nowhere, undefined],
    ['no provider and no location', bucket('plain'), undefined],
    ['explicit location beats regions', bucket('x', { provider: 'aws', regions: ['eu-west-3'], location: { lat: 1, lon: 2 } }), { lat: 1, lon: 2 }],
  ])('%s', (_label, subject, expected) => {
    expect(bucketLocation(subject, regions)).toEqual(expected);
  });
});

describe('clientPoint', () => {
  test.each<[string, ClientLocation, LatLon | undefined]>([
    ['cloud region known: region coordinates win over geolocation', { provider: 'aws', region: 'eu-west-3', lat: 47.6, lon: -122.3 }, { lat: 48.86, lon: 2.35 }],
    ['cloud without region: geolocation', { provider: 'aws', lat: 10, lon: 20 }, { lat: 10, lon: 20 }],
    ['region unknown to regions.json: geolocation', { provider: 'aws', region: 'xx-unknown-1', lat: 10, lon: 20 }, { lat: 10, lon: 20 }],
    ['no cloud: geolocation', { country: 'FR', lat: 45.76, lon: 4.84 }, { lat: 45.76, lon: 4.84 }],
    ['nothing known', { country: 'FR' }, undefined],
  ])('%s', (_label, client, expected) => {
    expect(clientPoint(client, regions)).toEqual(expected);
  });
});

describe('rankBuckets', () => {
  const names = (client: ClientLocation, options = {}) => rankBuckets(client, buckets, regions, options).map((ranked) => ranked.bucket.name);

  test.each<[string, ClientLocation, string[]]>([
    ['client in Lyon', { country: 'FR', lat: 45.76, lon: 4.84 }, ['aws-paris', 'lab', 'aws-london', 'aws-virginia', 'gcp-iowa', 'aws-sydney']],
    ['client in Boston', { country: 'US', lat: 42.36, lon: -71.06 }, ['aws-virginia', 'gcp-iowa', 'aws-london', 'aws-paris', 'lab', 'aws-sydney']],
    ['client in AWS eu-central-1 (Frankfurt)', { provider: 'aws', region: 'eu-central-1' }, ['lab', 'aws-paris', 'aws-london', 'aws-virginia', 'gcp-iowa', 'aws-sydney']],
    // Near Europe's antipode every European bucket is ~18 000 km away; Paris is the farthest.
    ['client in Auckland', { country: 'NZ', lat: -36.85, lon: 174.76 }, ['aws-sydney', 'gcp-iowa', 'aws-virginia', 'lab', 'aws-london', 'aws-paris']],
    ['client with unknown position', { country: 'FR' }, []],
  ])('%s', (_label, client, expected) => {
    expect(names(client)).toEqual(expected);
  });

  test('reports great-circle distances in km, nearest first', () => {
    const ranked = rankBuckets({ lat: 48.86, lon: 2.35 }, buckets, regions);
    expect(ranked[0]).toEqual({ bucket: paris, km: 0 });
    expect(ranked[1]?.km).toBeCloseTo(haversineKm({ lat: 48.86, lon: 2.35 }, { lat: 50.85, lon: 4.35 }), 6);
    for (let i = 1; i < ranked.length; i++) expect(ranked[i]?.km).toBeGreaterThanOrEqual(ranked[i - 1]?.km ?? 0);
  });

  test('equal distances keep configuration order', () => {
    const twin = bucket('aws-paris-twin', { provider: 'aws', regions: ['eu-west-3'] });
    expect(rankBuckets({ lat: 0, lon: 0 }, [twin, paris], regions).map((r) => r.bucket.name)).toEqual(['aws-paris-twin', 'aws-paris']);
    expect(rankBuckets({ lat: 0, lon: 0 }, [paris, twin], regions).map((r) => r.bucket.name)).toEqual(['aws-paris', 'aws-paris-twin']);
  });

  test('provider and limit options', () => {
    expect(names({ lat: 42.36, lon: -71.06 }, { provider: 'gcp' })).toEqual(['gcp-iowa']);
    expect(names({ lat: 42.36, lon: -71.06 }, { limit: 2 })).toEqual(['aws-virginia', 'gcp-iowa']);
    expect(names({ lat: 42.36, lon: -71.06 }, { provider: 'oracle' })).toEqual([]);
  });
});

describe('sameProviderNearest', () => {
  test.each<[string, ClientLocation, string | undefined]>([
    ['AWS eu-central-1 has no bucket: nearest AWS bucket, not the nearer lab bucket', { provider: 'aws', region: 'eu-central-1' }, 'aws-paris'],
    ['GCP europe-west9 (Paris): the only GCP bucket, across the Atlantic', { provider: 'gcp', region: 'europe-west9' }, 'gcp-iowa'],
    ['AWS edge without region: by geolocation', { provider: 'aws', lat: -37.8, lon: 144.96 }, 'aws-sydney'],
    ['provider without buckets', { provider: 'azure', region: 'westeurope', lat: 52.37, lon: 4.9 }, undefined],
    ['not in a cloud', { lat: 48.86, lon: 2.35 }, undefined],
    ['cloud client with unknown position', { provider: 'aws', region: 'xx-unknown-1' }, undefined],
  ])('%s', (_label, client, expected) => {
    expect(sameProviderNearest(client, buckets, regions)?.bucket.name).toBe(expected);
  });
});

describe('region coordinates', () => {
  test('geo/regions.json loads and has city-level coordinates for the four providers', () => {
    const loaded = loadRegions();
    expect([...loaded.keys()]).toEqual(['aws', 'gcp', 'azure', 'oracle']);
    expect(haversineKm(loaded.get('aws')?.get('eu-west-3') as LatLon, PARIS)).toBeLessThan(30);
    expect(haversineKm(loaded.get('gcp')?.get('europe-west9') as LatLon, PARIS)).toBeLessThan(30);
    expect(haversineKm(loaded.get('azure')?.get('uksouth') as LatLon, LONDON)).toBeLessThan(30);
    expect(haversineKm(loaded.get('oracle')?.get('ap-sydney-1') as LatLon, SYDNEY)).toBeLessThan(30);
    expect(loaded.get('azure')?.size).toBeGreaterThan(50);
    expect(loaded.get('oracle')?.size).toBeGreaterThan(35);
  });

  test('every region in the shared AWS and Google Cloud feeds has coordinates (shared: ../shared/ranges)', () => {
    const aws = JSON.parse(readFileSync(sharedRangesFile('aws-ip-ranges.json'), 'utf8')) as { prefixes: Array<{ region: string }>; ipv6_prefixes: Array<{ region: string }> };
    const gcp = JSON.parse(readFileSync(sharedRangesFile('gcp-cloud.json'), 'utf8')) as { prefixes: Array<{ scope: string }> };
    const loaded = loadRegions();
    const missing: string[] = [];
    for (const region of new Set([...aws.prefixes, ...aws.ipv6_prefixes].map((p) => p.region))) {
      if (region !== 'GLOBAL' && !loaded.get('aws')?.has(region)) missing.push(`aws/${region}`);
    }
    for (const scope of new Set(gcp.prefixes.map((p) => p.scope))) {
      if (scope !== 'global' && !loaded.get('gcp')?.has(scope)) missing.push(`gcp/${scope}`);
    }
    expect(missing).toEqual([]);
  });

  test.each([
    ['no providers', {}, /no "providers" object/],
    ['provider not an object', { providers: { aws: [] } }, /providers.aws is not an object/],
    ['latitude out of range', { providers: { aws: { x: { lat: 91, lon: 0 } } } }, /providers.aws.x needs numeric lat/],
    ['longitude missing', { providers: { aws: { x: { lat: 1 } } } }, /providers.aws.x/],
    ['null document', null, /no "providers" object/],
  ])('parseRegions rejects %s', (_label, document, message) => {
    expect(() => parseRegions(document)).toThrow(RegionsFormatError);
    expect(() => parseRegions(document)).toThrow(message);
  });

  test('loadRegions names the file it could not use', () => {
    const directory = join(scratch.path, 'regions');
    mkdirSync(directory);
    const broken = join(directory, 'broken.json');
    writeFileSync(broken, '{"providers": ');
    expect(() => loadRegions(broken)).toThrow(/broken.json is not valid JSON/);
    expect(() => loadRegions(join(directory, 'absent.json'))).toThrow(/cannot read region coordinates .*absent.json/);
  });
});
