/**
 * The run-time locator: answers "which cloud region, country and coordinates is this
 * address in?" from the compiled cloud ranges database and a city geolocation database.
 */
import { isIP } from 'node:net';
import { BoundedMemo, MAP_ENTRY_BYTES, stringBytes } from '../cache-figures.js';
import { checkLocationFiles, chooseLocationFiles, openLocations } from './city-files.js';
import { CLOUD_RANGES_TYPE } from './mmdb-format.js';
import { Database, extractCloud, openDatabase } from './database.js';
import { AWAITING_GEOGRAPHY, type ClientLocation, type GeoLog, type Locator } from './types.js';

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
  /**
   * true: resolve once the cloud ranges are loaded and the city files checked, and load the
   * city data in the background (`geography` is pending meanwhile). A first start-up asks
   * for it, so the port answers before tens of megabytes are read; a reload does not.
   */
  deferLocations?: boolean;
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
  /** Why deferred city data failed to load (the locator then answers without it); undefined otherwise. */
  readonly locationsFailed: string | undefined;
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
  private readonly ipv4Locations: Database<ClientLocation>[] = [];
  private readonly ipv6Locations: Database<ClientLocation>[] = [];
  /** See Locator.geography. */
  geography: Promise<void> | undefined = undefined;

  /** A generation closed while its city data was still loading never puts it in use. */
  closed = false;

  constructor(public ranges: Database<ClientLocation> | undefined) {}

  /** Puts loaded city databases in use; a client placed without them is placed again. */
  useLocations(locations: readonly Database<ClientLocation>[]): void {
    this.ipv4Locations.push(...locations);
    this.ipv6Locations.push(...locations.filter((database) => database.ipVersion === 6));
    this.recent.clear();
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
      if (cloud !== undefined && cloud.provider !== undefined) place = cloud;
      else if (this.geography !== undefined) return AWAITING_GEOGRAPHY;
      else place = this.place(ip) ?? EMPTY;
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
    this.closed = true;
    this.ranges = undefined;
    this.recent.clear();
    this.ipv4Locations.length = 0;
    this.ipv6Locations.length = 0;
  }
}

/** The city databases of a locator, loaded now or (deferLocations) in the background. */
class Geography {
  readonly databases: Database<ClientLocation>[] = [];
  failed: string | undefined = undefined;
}

async function loadGeography(options: LocatorOptions, lookups: Lookups, cacheEntries: number): Promise<Geography> {
  const geography = new Geography();
  const files = options.geolocation === false ? [] : chooseLocationFiles(options);
  const opener = openerOf(options);
  const load = (): Promise<Database<ClientLocation>[]> => openLocations(files, (path, read) => opener('locations', path, read), cacheEntries, options.log);
  const use = (databases: Database<ClientLocation>[]): void => {
    if (lookups.closed) return;
    geography.databases.push(...databases);
    lookups.useLocations(databases);
  };
  if (options.deferLocations !== true || files.length === 0) {
    use(await load());
    return geography;
  }
  await checkLocationFiles(files);
  lookups.geography = load().then(use, (error: unknown) => {
    // Checked before the port opened, so this is an I/O error mid-read: clients are then
    // placed as if no city database knew them (primary origin, default bucket), and /readyz
    // keeps saying why.
    geography.failed = (error as Error).message;
    options.log('error', 'geolocation failed to load; clients outside the cloud ranges are not placed', { error: geography.failed });
  }).finally(() => {
    lookups.geography = undefined;
  });
  return geography;
}

export async function createLocator(options: LocatorOptions): Promise<GeoLocator> {
  const cacheEntries = options.cacheEntries ?? 10_000;
  const lookups = new Lookups(await openRanges(options, cacheEntries));
  const geography = await loadGeography(options, lookups, cacheEntries);
  const locations = geography.databases;
  return {
    locate: (ip) => lookups.locate(ip),
    describe: (ip) => lookups.describe(ip),
    recentFigures: () => lookups.recent.figures(),
    get geography() {
      return lookups.geography;
    },
    get rangesBuiltAt() {
      return lookups.ranges?.buildEpoch;
    },
    get rangesPublishedAt() {
      return lookups.ranges?.publishedAt;
    },
    get locationsBuiltAt() {
      return locations[0]?.buildEpoch;
    },
    get locationsFailed() {
      return geography.failed;
    },
    get locationFiles() {
      return locations.map((database) => database.path);
    },
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
