/**
 * The validated, effective configuration. Field names match the YAML file on purpose:
 * they are part of the public interface, and `check-config` prints this object back.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type ClientIpLogging = 'truncated' | 'full' | 'none';
export type OthersRouting = 'default' | 'nearest';

export interface LatLon {
  lat: number;
  lon: number;
}

export interface BucketConfig {
  name: string;
  /** Base URL, no trailing slash; the object key is appended to it. */
  url: string;
  /** Cloud provider whose clients this bucket serves (aws, gcp, azure, oracle, ...). */
  provider?: string;
  /** Regions of `provider` served by this bucket. */
  regions: string[];
  /** CIDR blocks whose clients always use this bucket (first routing rule). */
  networks: string[];
  /** Where the bucket is; defaults to the location of its provider's first region. */
  location?: LatLon;
}

export interface Config {
  listen: {
    host: string;
    port: number;
    /** Upper bound on concurrent sockets on the public port; 0 = unbounded. */
    max_connections: number;
    headers_timeout_ms: number;
    request_timeout_ms: number;
    keep_alive_timeout_ms: number;
    shutdown_timeout_ms: number;
  };
  origin: { url: string; path: string };
  signatures: { url: string };
  info_url: string;
  privacy_url: string;
  client_ip: { trusted_hops: number };
  geo: {
    /** Compiled cloud ranges MMDB (`registry-edge geo update`). Missing file = warning. */
    ranges: string;
    /** City-level MMDB files with coordinates; empty list = the bundled DB-IP City Lite. */
    locations: string[];
    /** Background feed refresh interval such as `12h`; empty = off. */
    refresh: string;
  };
  routing: { others: OthersRouting };
  blobs: {
    /** Object key template inside a bucket; `{digest}` is replaced by `algo:hex`. */
    key: string;
    /** How many buckets a blob request may try before the origin. */
    candidates: number;
    /** Optional file of digests known to be present in every bucket (one per line or JSON list). */
    inventory: string;
    check: {
      timeout_ms: number;
      ttl_s: number;
      negative_ttl_s: number;
      max_entries: number;
      max_inflight: number;
      /** Consecutive failures before a bucket is skipped. */
      failure_threshold: number;
      /** How long a failing bucket is skipped before a half-open probe. */
      cooldown_ms: number;
    };
  };
  /** Per-provider rule; `origin` sends that provider's clients' blobs to the origin. */
  providers: Record<string, 'origin'>;
  buckets: BucketConfig[];
  /** A bucket name or a URL; empty = no default (the origin). */
  default_bucket: string;
  admin: { host: string; port: number };
  log: { level: LogLevel; client_ip: ClientIpLogging };
  metrics: { repos: boolean };
  /** Per-client-IP token bucket; per_ip_rps 0 = off. */
  limits: { per_ip_rps: number; burst: number; max_clients: number };
}
