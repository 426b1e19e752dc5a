import type { MmdbValue } from './mmdb-format.js';

/** The part of a city database record registry-edge uses. */
export interface Geolocation {
  country?: string;
  lat?: number;
  lon?: number;
}

type MmdbMap = { [key: string]: MmdbValue };

function asMap(value: MmdbValue | undefined): MmdbMap | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
    ? value
    : undefined;
}

function finiteNumber(value: MmdbValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function countryCode(value: MmdbValue | undefined): string | undefined {
  return typeof value === 'string' && /^[A-Za-z]{2}$/.test(value) ? value.toUpperCase() : undefined;
}

/**
 * Reads country and coordinates from the two record shapes in use:
 * - flat, as in DB-IP City Lite (`@ip-location-db`) and registry-edge's compact file:
 *   `{country_code, latitude, longitude}`;
 * - nested, as in MaxMind GeoLite2/GeoIP2 City:
 *   `{country: {iso_code}, location: {latitude, longitude}}` (falling back to
 *   `registered_country` when `country` is absent, as for anonymous or satellite ranges).
 * Coordinates are only reported as a pair, and (0, 0) counts as "unknown": several
 * databases use it as a placeholder and nobody's clients are in the Gulf of Guinea.
 */
export function extractGeolocation(record: MmdbValue | null | undefined): Geolocation {
  const map = asMap(record ?? undefined);
  if (!map) return {};
  const result: Geolocation = {};
  const location = asMap(map['location']);
  const lat = finiteNumber(location ? location['latitude'] : map['latitude']);
  const lon = finiteNumber(location ? location['longitude'] : map['longitude']);
  const country =
    countryCode(map['country_code']) ??
    countryCode(asMap(map['country'])?.['iso_code']) ??
    countryCode(asMap(map['registered_country'])?.['iso_code']);
  if (country) result.country = country;
  if (
    lat !== undefined &&
    lon !== undefined &&
    Math.abs(lat) <= 90 &&
    Math.abs(lon) <= 180 &&
    !(lat === 0 && lon === 0)
  ) {
    result.lat = lat;
    result.lon = lon;
  }
  return result;
}
