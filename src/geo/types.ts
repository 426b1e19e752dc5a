export type GeoLogLevel = 'debug' | 'info' | 'warn' | 'error';
/** How geo code (run time and pipeline) logs without depending on a logger. */
export type GeoLog = (level: GeoLogLevel, msg: string, fields?: Record<string, unknown>) => void;


/** What registry-edge knows about where a client is. Every field may be unknown. */
export interface ClientLocation {
  /** Cloud provider whose published ranges contain the address (aws, gcp, azure, oracle). */
  provider?: string;
  /** Provider region, e.g. `eu-west-3`; absent for global/edge ranges. */
  region?: string;
  /** ISO 3166-1 alpha-2 country code from the geolocation database. */
  country?: string;
  lat?: number;
  lon?: number;
}

/** Resolves a client IP (already normalised: IPv4-mapped IPv6 is plain IPv4) to a location. */
export interface Locator {
  /**
   * What routing needs, as cheaply as possible: a cloud client's provider and region, or else
   * a place from the geolocation data. The result may be shared: never mutate it.
   */
  locate(ip: string): ClientLocation;
  /** Everything known (cloud and geography merged), for `explain`; any string is accepted. */
  describe(ip: string): ClientLocation;
  /**
   * Pending while city data the locator was asked to load after start-up is still loading
   * (`locate` then answers AWAITING_GEOGRAPHY for a client no cloud range places); undefined
   * once everything is loaded, or when nothing was deferred.
   */
  readonly geography?: Promise<void> | undefined;
  /** Size of the recent-client memo, for the cache metrics (absent in stand-ins). */
  recentFigures?(): { entries: number; bytes: number; maxEntries: number; maxBytes: number };
}

/**
 * What `locate` answers for a client that only the city data could place while that data is
 * still loading: the caller waits for `geography` and asks again, so no answer is ever made
 * without the data. Compared by identity; never memoised or logged.
 */
export const AWAITING_GEOGRAPHY: ClientLocation = Object.freeze({});
