/**
 * The origin and its replicas compiled for routing, with the location memo of their
 * preference lists: the great-circle ranking runs once per provider and region (or 0.1° cell),
 * not per request.
 */
import { BoundedMemo, MAP_ENTRY_BYTES, stringBytes } from '../cache-figures.js';
import type { Config, LatLon, OriginsRouting } from '../config/types.js';
import { clientPoint, regionLocation, type RegionCoordinates } from '../geo/nearest.js';
import type { ClientLocation } from '../geo/types.js';
import { originPreference, OriginStates, pickOrigin, PRIMARY_ONLY, type OriginPreference, type PlannedOrigin } from './origin-choice.js';

export interface OriginTable {
  readonly primary: PlannedOrigin;
  /** origin.mirrors in configuration order; empty when none are configured. */
  readonly replicas: readonly PlannedOrigin[];
  readonly mode: OriginsRouting;
  readonly states: OriginStates;
  /** Preference lists memoised per location key, bounded in entries and bytes. */
  readonly memo: BoundedMemo<OriginPreference>;
  /** The same by locator answer (frozen, shared per database record); weak, never grows the heap. */
  readonly byClient: WeakMap<ClientLocation, OriginPreference>;
  readonly regions: RegionCoordinates | undefined;
}

const MAX_ORIGIN_MEMO = 4096;
const ORIGIN_ENTRY_BYTES = MAP_ENTRY_BYTES + stringBytes('x'.repeat(64)) + 48;

export function registryPrefix(url: string, path: string): string {
  return `${url}/v2/${path === '' ? '' : `${path}/`}`;
}

function planned(url: string, path: string, index: number, provider?: string, regions: readonly string[] = [], location?: LatLon): PlannedOrigin {
  return { url, host: new URL(url).host, prefix: registryPrefix(url, path), provider, regions, location, index };
}

/** Compiles origin.url and origin.mirrors; `regions` places replicas that name a region but no location. */
export function planOrigins(config: Config, regions?: RegionCoordinates): OriginTable {
  const { origin } = config;
  const replicas = origin.mirrors.map((m, index) => {
    const location = m.location ?? (regions === undefined ? undefined : regionLocation(regions, m.provider, m.regions[0]));
    return planned(m.url, m.path, index, m.provider, m.regions, location);
  });
  const maxBytes = MAX_ORIGIN_MEMO * (ORIGIN_ENTRY_BYTES + 8 * replicas.length);
  return {
    primary: planned(origin.url, origin.path, -1),
    replicas,
    mode: config.routing.origins,
    states: new OriginStates(replicas.length),
    memo: new BoundedMemo<OriginPreference>(MAX_ORIGIN_MEMO, maxBytes, (p) => 48 + 8 * p.order.length),
    byClient: new WeakMap(),
    regions,
  };
}

function originKey(table: OriginTable, client: ClientLocation): string {
  if (client.provider !== undefined && client.region !== undefined) return `${client.provider}\u0000${client.region}`;
  if (table.mode === 'nearest' && client.lat !== undefined && client.lon !== undefined) {
    // 0.1-degree cells (~11 km), as the blob candidates use: finer than geolocation can tell.
    return `@${Math.round(client.lat * 10)},${Math.round(client.lon * 10)}`;
  }
  return '';
}

function pointOf(table: OriginTable, client: ClientLocation): LatLon | undefined {
  if (table.regions !== undefined) return clientPoint(client, table.regions);
  return client.lat !== undefined && client.lon !== undefined ? { lat: client.lat, lon: client.lon } : undefined;
}

/** The replicas to try for this client, best first (memoised by location). */
export function originPreferenceFor(table: OriginTable, client: ClientLocation): OriginPreference {
  if (table.replicas.length === 0) return PRIMARY_ONLY;
  const known = table.byClient.get(client);
  if (known !== undefined) return known;
  const key = originKey(table, client);
  let preference = table.memo.get(key);
  if (preference === undefined) {
    preference = originPreference(table.replicas, client, pointOf(table, client), table.mode);
    table.memo.set(key, preference);
  }
  if (Object.isFrozen(client)) table.byClient.set(client, preference);
  return preference;
}

/** The origin this client's request goes to now: its first healthy replica, else the primary. */
export function chosenOrigin(table: OriginTable, client: ClientLocation | undefined): PlannedOrigin {
  if (client === undefined || table.replicas.length === 0) return table.primary;
  return pickOrigin(originPreferenceFor(table, client), table.states, table.primary);
}
