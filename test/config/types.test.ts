import { describe, expectTypeOf, it } from 'vitest';
import type { SigningConfig } from '../../src/signing/index.js';
import type { StoreConfig, SyncSection } from '../../src/config/sync.js';
import type { BucketConfig, ClientIpLogging, Config, LatLon, LogLevel, OriginsRouting, OthersRouting } from '../../src/config/types.js';

// The types are inferred from the schema; these are the shapes other modules were written
// against (the former hand-written interfaces). `npm run typecheck` fails when they drift.
describe('types inferred from the schema', () => {
  it('keep the names and shapes other modules use', () => {
    expectTypeOf<LogLevel>().toEqualTypeOf<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'>();
    expectTypeOf<ClientIpLogging>().toEqualTypeOf<'truncated' | 'full' | 'none'>();
    expectTypeOf<OthersRouting>().toEqualTypeOf<'default' | 'nearest'>();
    expectTypeOf<OriginsRouting>().toEqualTypeOf<'primary' | 'nearest'>();
    expectTypeOf<LatLon>().toEqualTypeOf<{ lat: number; lon: number }>();
    expectTypeOf<BucketConfig>().toEqualTypeOf<{
      name: string;
      url: string;
      provider?: string | undefined;
      regions: string[];
      networks: string[];
      location?: LatLon | undefined;
      signing?: SigningConfig | undefined;
      store?: StoreConfig | undefined;
    }>();
    expectTypeOf<Config>().toEqualTypeOf<{
      listen: {
        host: string;
        port: number;
        max_connections: number;
        headers_timeout_ms: number;
        request_timeout_ms: number;
        keep_alive_timeout_ms: number;
        shutdown_timeout_ms: number;
        tls?:
          | {
              cert: string;
              key: string;
              client_ca: string;
              handshake_timeout_ms: number;
              watch: boolean;
              watch_debounce_ms: number;
              http2: { enabled: boolean; max_concurrent_streams: number; max_header_list_bytes: number };
            }
          | undefined;
      };
      origin: {
        url: string;
        path: string;
        mirrors: Array<{ url: string; path: string; provider?: string | undefined; regions: string[]; location?: LatLon | undefined }>;
        probe: { interval_ms: number; timeout_ms: number; failures: number };
      };
      signatures: { url: string };
      info_url: string;
      privacy_url: string;
      client_ip: { trusted_hops: number };
      geo: { ranges: string; locations: string[]; refresh: string };
      routing: { others: OthersRouting; origins: OriginsRouting };
      blobs: {
        key: string;
        candidates: number;
        inventory: string;
        check: {
          timeout_ms: number;
          ttl_s: number;
          negative_ttl_s: number;
          max_entries: number;
          max_inflight: number;
          failure_threshold: number;
          cooldown_ms: number;
        };
      };
      providers: Record<string, 'origin'>;
      buckets: BucketConfig[];
      default_bucket: string;
      admin: { host: string; port: number; token_file: string; metrics_auth: boolean };
      log: { level: LogLevel; client_ip: ClientIpLogging; events: { manifests: boolean; blobs: boolean } };
      metrics: { repos: boolean };
      limits: { per_ip_rps: number; burst: number; max_clients: number };
      sync: SyncSection;
    }>();
  });
});
