import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reader } from 'maxmind';
import { afterAll, describe, expect, test } from 'vitest';
import { compileLocations, locationDistanceKm } from '../../geo/locations.js';
import { MmdbWriter, type WriterValue } from '../../geo/mmdb/writer.js';
import { extractGeolocation } from '../../src/geo/location-record.js';
import { haversineKm } from '../../src/geo/nearest.js';
import { mmdblookup, tempDir } from '../support/geo.js';

const scratch = tempDir();
afterAll(() => scratch.cleanup());
let counter = 0;

function source(entries: Array<[string, WriterValue]>): string {
  const writer = new MmdbWriter({ databaseType: 'city', mergeAdjacent: false });
  for (const [cidr, record] of entries) writer.insertCidr(cidr, record);
  const path = join(scratch.path, `source-${counter++}.mmdb`);
  writeFileSync(path, writer.build().file);
  return path;
}

const dbip = (country: string, latitude: number, longitude: number): WriterValue => ({
  city: 'Somewhere',
  country_code: country,
  latitude,
  longitude,
  postcode: '',
  state1: 'State',
  state2: '',
  timezone: '',
});

const geolite = (country: string, latitude: number, longitude: number): WriterValue => ({
  city: { geoname_id: 1, names: { en: 'Somewhere' } },
  continent: { code: 'EU', names: { en: 'Europe' } },
  country: { iso_code: country, names: { en: country } },
  location: { accuracy_radius: 20, latitude, longitude, time_zone: 'Europe/Paris' },
});

async function compile(sources: string[], options: { decimals?: number; maxErrorKm?: number } = {}) {
  const out = join(scratch.path, `compact-${counter++}.mmdb`);
  const result = await compileLocations({ sources, out, attribution: 'Source: test data.', ...options });
  return { out, result, reader: new Reader<Record<string, unknown>>(readFileSync(out)) };
}

describe('extractGeolocation', () => {
  test.each([
    ['DB-IP flat record', dbip('fr', 48.8566, 2.3522), { country: 'FR', lat: 48.8566, lon: 2.3522 }],
    ['GeoLite2 nested record', geolite('DE', 52.52, 13.405), { country: 'DE', lat: 52.52, lon: 13.405 }],
    ['GeoLite2 with registered_country only', { registered_country: { iso_code: 'US' } }, { country: 'US' }],
    ['coordinates (0, 0) are a placeholder', dbip('GH', 0, 0), { country: 'GH' }],
    ['out-of-range coordinates are ignored', { country_code: 'XX', latitude: 95, longitude: 0 }, { country: 'XX' }],
    ['half a coordinate pair is ignored', { country_code: 'US', latitude: 40 }, { country: 'US' }],
    ['not a country code', { country_code: 'USA', latitude: 40, longitude: -75 }, { lat: 40, lon: -75 }],
    ['not a map', 'text', {}],
    ['null', null, {}],
  ])('%s', (_label, record, expected) => {
    expect(extractGeolocation(record as never)).toEqual(expected);
  });
});

describe('compileLocations', () => {
  test('keeps only country and rounded coordinates, from DB-IP and GeoLite2 shaped sources alike', async () => {
    const { out, reader, result } = await compile([
      source([
        ['81.2.69.0/24', dbip('GB', 51.5143, -0.0912)],
        ['2a00:1450::/32', dbip('PL', 52.2297, 21.0122)],
        ['198.51.100.0/24', { country_code: 'FR' }],
        ['203.0.113.0/24', { city: 'nothing useful' }],
      ]),
      source([['192.0.2.0/24', geolite('DE', 52.52, 13.405)]]),
    ]);
    expect(result.networks).toBe(4);
    expect(reader.metadata.databaseType).toBe('registry-edge-locations');
    // maxmind types description as a string; it is the map the spec defines.
    expect((reader.metadata.description as unknown as Record<string, string>)['en']).toMatch(/country_code, latitude, longitude.*Source: test data\./);
    expect(reader.get('81.2.69.160')).toEqual({ country_code: 'GB', latitude: 51.5, longitude: -0.1 });
    expect(reader.get('2a00:1450:4001::1')).toEqual({ country_code: 'PL', latitude: 52.2, longitude: 21 });
    expect(reader.get('192.0.2.1')).toEqual({ country_code: 'DE', latitude: 52.5, longitude: 13.4 });
    expect(reader.get('198.51.100.1')).toEqual({ country_code: 'FR' });
    expect(reader.get('203.0.113.1')).toBeNull();
    expect(await mmdblookup(out, '81.2.69.160')).toEqual({ country_code: 'GB', latitude: 51.5, longitude: -0.1 });
  });

  test('decimals sets the precision and -0 never appears', async () => {
    const { reader } = await compile([source([['10.0.0.0/8', dbip('GB', 51.51432, -0.04)]])], { decimals: 2 });
    expect(reader.get('10.1.1.1')).toEqual({ country_code: 'GB', latitude: 51.51, longitude: -0.04 });
    const coarse = await compile([source([['10.0.0.0/8', dbip('GB', 51.5, -0.04)]])]);
    expect(Object.is((coarse.reader.get('10.1.1.1') as { longitude: number }).longitude, 0)).toBe(true);
  });

  test('neighbours in the same country within maxErrorKm merge; other countries and far cities do not', async () => {
    const entries: Array<[string, WriterValue]> = [
      // Paris and Versailles (~17 km) are siblings: merged.
      ['10.0.0.0/25', dbip('FR', 48.86, 2.35)],
      ['10.0.0.128/25', dbip('FR', 48.8, 2.13)],
      // Strasbourg and Kehl (~4 km) are siblings across a border: never merged.
      ['10.0.1.0/25', dbip('FR', 48.58, 7.75)],
      ['10.0.1.128/25', dbip('DE', 48.57, 7.81)],
      // Paris and Lyon (~390 km): not merged.
      ['10.0.2.0/25', dbip('FR', 48.86, 2.35)],
      ['10.0.2.128/25', dbip('FR', 45.76, 4.84)],
    ];
    const { reader } = await compile([source(entries)], { maxErrorKm: 50 });
    const where = (ip: string) => extractGeolocation(reader.get(ip) as never);
    const [paris, versailles] = [where('10.0.0.1'), where('10.0.0.200')];
    expect(reader.getWithPrefixLength('10.0.0.1')[1]).toBe(24);
    expect(paris).toEqual(versailles);
    expect(haversineKm(paris as { lat: number; lon: number }, { lat: 48.8, lon: 2.13 })).toBeLessThanOrEqual(50);
    expect(where('10.0.1.1').country).toBe('FR');
    expect(where('10.0.1.200').country).toBe('DE');
    expect(where('10.0.2.1')).toEqual({ country: 'FR', lat: 48.9, lon: 2.4 });
    expect(where('10.0.2.200')).toEqual({ country: 'FR', lat: 45.8, lon: 4.8 });

    const exact = await compile([source(entries)], { maxErrorKm: 0 });
    expect(exact.reader.getWithPrefixLength('10.0.0.1')[1]).toBe(25);
    expect(exact.result.stats.nodeCount).toBeGreaterThan((await compile([source(entries)])).result.stats.nodeCount);
  });

  test('the first source wins where two sources describe the same network', async () => {
    const first = source([['10.0.0.0/8', dbip('FR', 48.86, 2.35)]]);
    const second = source([['10.0.0.0/8', dbip('DE', 52.52, 13.4)], ['11.0.0.0/8', dbip('DE', 52.52, 13.4)]]);
    const { reader } = await compile([first, second]);
    expect(reader.get('10.0.0.1')).toMatchObject({ country_code: 'FR' });
    expect(reader.get('11.0.0.1')).toMatchObject({ country_code: 'DE' });
  });

  test('locationDistanceKm refuses to relate records of different countries or without coordinates', () => {
    expect(locationDistanceKm({ country_code: 'FR', latitude: 48.9, longitude: 2.4 }, { country_code: 'FR', latitude: 48.9, longitude: 2.4 })).toBe(0);
    expect(locationDistanceKm({ country_code: 'FR', latitude: 48.9, longitude: 2.4 }, { country_code: 'BE', latitude: 48.9, longitude: 2.4 })).toBe(Infinity);
    expect(locationDistanceKm({ country_code: 'FR' }, { country_code: 'FR', latitude: 48.9, longitude: 2.4 })).toBe(Infinity);
    expect(locationDistanceKm('x', 'x')).toBe(Infinity);
  });
});
