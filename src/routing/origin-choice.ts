/**
 * Which origin replica a client's manifests (and origin-bound blobs) come from: a pure choice
 * from where the client is, memoised per location by origin-table.ts, then filtered by the
 * replicas' health on every request (a few array reads, no allocation).
 */
import type { LatLon, OriginsRouting } from '../config/types.js';
import type { ClientLocation } from '../geo/types.js';
import { haversineKm } from '../geo/nearest.js';

/** The primary origin or one replica, with everything a Location needs precomputed. */
export interface PlannedOrigin {
  readonly url: string;
  /** What logs, metrics and `explain` call it. */
  readonly host: string;
  /** `url/v2/[path/]`: every Location to it starts with this. */
  readonly prefix: string;
  readonly provider: string | undefined;
  readonly regions: readonly string[];
  /** Its own `location`, else its first region's coordinates. */
  readonly location: LatLon | undefined;
  /** Its index in origin.mirrors (its health slot); -1 for the primary, which is never skipped. */
  readonly index: number;
}

/** Why the preference list is what it is; shown by `explain` and `/debug/route`. */
export type OriginReason = 'region' | 'provider-nearest' | 'nearest' | 'primary';

/** The replicas to use for one location, best first; the primary comes after all of them. */
export interface OriginPreference {
  readonly order: readonly PlannedOrigin[];
  readonly reason: OriginReason;
}

export const PRIMARY_ONLY: OriginPreference = Object.freeze({ order: Object.freeze([]), reason: 'primary' });

/** Replicas with a location, nearest to `point` first; ties keep configuration order (the sort is stable). */
export function rankOrigins(point: LatLon, replicas: readonly PlannedOrigin[]): PlannedOrigin[] {
  const ranked: Array<{ origin: PlannedOrigin; km: number }> = [];
  for (const origin of replicas) if (origin.location !== undefined) ranked.push({ origin, km: haversineKm(point, origin.location) });
  ranked.sort((a, b) => a.km - b.km);
  return ranked.map((r) => r.origin);
}

/** `first`, then every other replica nearest first (config order without a point): where failover goes. */
function thenTheRest(first: readonly PlannedOrigin[], replicas: readonly PlannedOrigin[], point: LatLon | undefined): PlannedOrigin[] {
  const rest = point === undefined ? replicas : rankOrigins(point, replicas);
  return [...first, ...rest.filter((r) => !first.includes(r))];
}

/**
 * The issue-15 rules, in order: (1) a client of a replica's provider, in a region a replica
 * serves → those replicas; (2) a client of that provider elsewhere → its provider's replicas
 * nearest its region; (3) anyone else → every replica nearest its point with `nearest`, the
 * primary alone with `primary`. A client placed nowhere (no region, no coordinates, an address
 * that could not be read) gets the primary. `point` is the client's region's coordinates, else
 * its geolocation.
 */
export function originPreference(
  replicas: readonly PlannedOrigin[],
  client: ClientLocation,
  point: LatLon | undefined,
  mode: OriginsRouting,
): OriginPreference {
  const { provider, region } = client;
  if (provider !== undefined && region !== undefined) {
    const served = replicas.filter((r) => r.provider === provider && r.regions.includes(region));
    if (served.length > 0) return { order: thenTheRest(served, replicas, point), reason: 'region' };
    const own = replicas.filter((r) => r.provider === provider);
    if (own.length > 0 && point !== undefined) return { order: thenTheRest(rankOrigins(point, own), replicas, point), reason: 'provider-nearest' };
  }
  if (mode === 'nearest' && point !== undefined) return { order: rankOrigins(point, replicas), reason: 'nearest' };
  return PRIMARY_ONLY;
}

/** Which replicas the prober has taken out; written by the prober, read by every request. */
export class OriginStates {
  private readonly down: Uint8Array;

  constructor(readonly size: number) {
    this.down = new Uint8Array(size);
  }

  isUp(index: number): boolean {
    return this.down[index] !== 1;
  }

  /** Whether this changed the state. */
  set(index: number, up: boolean): boolean {
    const value = up ? 0 : 1;
    if (this.down[index] === value) return false;
    this.down[index] = value;
    return true;
  }
}

/** The first healthy replica of the preference, else the primary: no request waits on a probe. */
export function pickOrigin(preference: OriginPreference, states: OriginStates, primary: PlannedOrigin): PlannedOrigin {
  const { order } = preference;
  for (let i = 0; i < order.length; i++) {
    const origin = order[i] as PlannedOrigin;
    if (states.isUp(origin.index)) return origin;
  }
  return primary;
}
