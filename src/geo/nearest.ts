/**
 * Great-circle geometry for choosing the nearest bucket. Everything here is pure except
 * `loadRegions` (one synchronous file read at startup).
 */
import { readFileSync } from 'node:fs';
import type { BucketConfig, LatLon } from '../config/types.js';
import { regionsPath } from '../paths.js';
import type { ClientLocation } from './types.js';

/** Mean Earth radius (IUGG), the usual choice for the haversine formula. */
export const EARTH_RADIUS_KM = 6371.0088;

const RADIANS = Math.PI / 180;

/** Great-circle distance in km between two points, by the haversine formula. */
export function haversineKm(a: LatLon, b: LatLon): number {
  const dLat = (b.lat - a.lat) * RADIANS;
  const dLon = (b.lon - a.lon) * RADIANS;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RADIANS) * Math.cos(b.lat * RADIANS) * Math.sin(dLon / 2) ** 2;
  // min() guards against rounding pushing h past 1 for antipodal points (asin(>1) is NaN).
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Region coordinates: provider name → region name → location. */
export type RegionCoordinates = ReadonlyMap<string, ReadonlyMap<string, LatLon>>;

export class RegionsFormatError extends Error {
  override name = 'RegionsFormatError';
}

function isLatLon(value: unknown): value is { lat: number; lon: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { lat, lon } = value as { lat?: unknown; lon?: unknown };
  return (
    typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180
  );
}

/**
 * Validates the parsed `geo/regions.json` document (see geo/README.md):
 * `{ "providers": { "<provider>": { "<region>": { "lat": n, "lon": n, ... } } } }`.
 */
export function parseRegions(document: unknown): RegionCoordinates {
  const providers = (document as { providers?: unknown } | null)?.providers;
  if (typeof providers !== 'object' || providers === null || Array.isArray(providers)) {
    throw new RegionsFormatError('regions document has no "providers" object');
  }
  const result = new Map<string, Map<string, LatLon>>();
  for (const [provider, regions] of Object.entries(providers)) {
    if (typeof regions !== 'object' || regions === null || Array.isArray(regions)) {
      throw new RegionsFormatError(`providers.${provider} is not an object`);
    }
    const table = new Map<string, LatLon>();
    for (const [region, entry] of Object.entries(regions as Record<string, unknown>)) {
      if (!isLatLon(entry)) {
        throw new RegionsFormatError(`providers.${provider}.${region} needs numeric lat (±90) and lon (±180)`);
      }
      table.set(region, { lat: entry.lat, lon: entry.lon });
    }
    result.set(provider, table);
  }
  return result;
}

/** Reads and validates a regions document; by default the package's `geo/regions.json`. */
export function loadRegions(path: string = regionsPath()): RegionCoordinates {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RegionsFormatError(`cannot read region coordinates ${path}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new RegionsFormatError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseRegions(document);
}

// Package data that does not change while the process runs: read once, on the first need.
let packageTable: RegionCoordinates | undefined;

/**
 * The package's geo/regions.json, read on the first call and kept: the validator and every
 * runtime generation ask for it, and reading it twice was a part of start-up (issue 20).
 */
export function packageRegions(): RegionCoordinates {
  return (packageTable ??= loadRegions(regionsPath()));
}

export function regionLocation(
  regions: RegionCoordinates,
  provider: string | undefined,
  region: string | undefined,
): LatLon | undefined {
  if (provider === undefined || region === undefined) return undefined;
  return regions.get(provider)?.get(region);
}

/** Where a bucket is: its explicit `location`, else its provider's first region. */
export function bucketLocation(bucket: BucketConfig, regions: RegionCoordinates): LatLon | undefined {
  if (bucket.location) return bucket.location;
  return regionLocation(regions, bucket.provider, bucket.regions[0]);
}

/**
 * The point distances are measured from: the client's cloud region when known (published
 * region data beats IP geolocation, which often puts cloud ranges at the company's
 * headquarters), else its geolocated coordinates.
 */
export function clientPoint(client: ClientLocation, regions: RegionCoordinates): LatLon | undefined {
  const region = regionLocation(regions, client.provider, client.region);
  if (region) return region;
  if (client.lat !== undefined && client.lon !== undefined) return { lat: client.lat, lon: client.lon };
  return undefined;
}

export interface RankedBucket {
  bucket: BucketConfig;
  /** Great-circle distance from the client, in km. */
  km: number;
}

export interface RankOptions {
  /** Only buckets of this provider. */
  provider?: string;
  /** At most this many results. */
  limit?: number;
}

/** Buckets with a known location, nearest first, from a point; ties keep configuration order. */
export function rankFromPoint(
  point: LatLon,
  buckets: readonly BucketConfig[],
  regions: RegionCoordinates,
  options: RankOptions = {},
): RankedBucket[] {
  const ranked: RankedBucket[] = [];
  for (const bucket of buckets) {
    if (options.provider !== undefined && bucket.provider !== options.provider) continue;
    const location = bucketLocation(bucket, regions);
    if (location) ranked.push({ bucket, km: haversineKm(point, location) });
  }
  // Array.prototype.sort is stable, so equal distances keep configuration order.
  ranked.sort((a, b) => a.km - b.km);
  return options.limit === undefined ? ranked : ranked.slice(0, options.limit);
}

/**
 * Buckets ordered by great-circle distance from the client; empty when the client's
 * position is unknown. Buckets whose location cannot be determined are left out.
 */
export function rankBuckets(
  client: ClientLocation,
  buckets: readonly BucketConfig[],
  regions: RegionCoordinates,
  options: RankOptions = {},
): RankedBucket[] {
  const point = clientPoint(client, regions);
  return point ? rankFromPoint(point, buckets, regions, options) : [];
}

/** The nearest bucket of the client's own provider (none when the client is in no cloud). */
export function sameProviderNearest(
  client: ClientLocation,
  buckets: readonly BucketConfig[],
  regions: RegionCoordinates,
): RankedBucket | undefined {
  if (client.provider === undefined) return undefined;
  return rankBuckets(client, buckets, regions, { provider: client.provider, limit: 1 })[0];
}
