/**
 * The configuration file, as one schema: the single source of its types (types.ts infers
 * them), defaults and per-field validation. Checks that relate fields to each other or to
 * package data live in semantic.ts. Field names match the YAML on purpose: they are the
 * public interface, and `check-config` prints the parsed result back.
 */
import { resolve } from 'node:path';
import * as v from 'valibot';
import { defaultRangesPath } from '../paths.js';
import { tlsSchema } from '../server/tls-schema.js';
import { signingSchema, type SigningConfig } from '../signing/schema.js';
import {
  checked, choice, cidrProblem, duration, expected, file, flag, int, isMapping, list, listenHost, mapping, optionalFile,
  optionalUrl, requiredUrl, section, urlProblem,
} from './fields.js';
import { storeSchema, SYNC_DEFAULTS, syncSectionSchema } from './sync.js';

/** The providers whose feeds `geo update` compiles (geo/feeds.ts; a test keeps the two equal). */
export const KNOWN_PROVIDERS = ['aws', 'gcp', 'azure', 'oracle'] as const;

export const logLevel = choice(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
export const clientIpLogging = choice(['truncated', 'full', 'none']);
export const othersRouting = choice(['default', 'nearest']);
export const originsRouting = choice(['primary', 'nearest']);

const MAX_MS = 3_600_000;
const PATH_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const KEY_TEMPLATE = /^\/[A-Za-z0-9._~\-/]*\{digest\}[A-Za-z0-9._~\-/]*$/;

const knownProvider = checked((name) =>
  (KNOWN_PROVIDERS as readonly string[]).includes(name) ? undefined : `expected a known provider (${KNOWN_PROVIDERS.join(', ')})`,
);

/** Where to reach the origin's repositories: `/`-separated segments, never `.` or `..`. */
const originPath = v.pipe(
  v.string(expected('a string')),
  v.transform((path) => path.replace(/^\/+|\/+$/g, '')),
  checked((path) =>
    path === '' || path.split('/').every((segment) => PATH_SEGMENT.test(segment) && segment !== '.' && segment !== '..')
      ? undefined
      : 'expected path segments of [A-Za-z0-9._-] separated by /, no . or .. segments',
  ),
);

const keyTemplate = checked((key) =>
  KEY_TEMPLATE.test(key) && key.indexOf('{digest}') === key.lastIndexOf('{digest}') && !/(^|\/)\.\.?(\/|\{|$)/.test(key)
    ? undefined
    : 'expected a path starting with / containing {digest} once, no . or .. segments',
);

function coordinate(limit: number, what: string) {
  const message = expected(`${what} from -${limit} to ${limit}`);
  return v.pipe(v.number(message), v.check((n) => Math.abs(n) <= limit, message));
}

export const latLon = mapping({ lat: coordinate(90, 'a latitude'), lon: coordinate(180, 'a longitude') });

/** Left out, `null` and `""` all mean "not set" for these optional bucket fields. */
function unset<T>(value: T | null | ''): T | undefined {
  return value === null || value === '' ? undefined : value;
}

/** Every `*_file` of a signing block, resolved against the configuration file's folder. */
function signingFiles(folder: string) {
  return (signing: SigningConfig): SigningConfig => {
    const resolved: Record<string, unknown> = { ...signing };
    for (const [field, value] of Object.entries(signing)) {
      if (field.endsWith('_file') && typeof value === 'string') resolved[field] = resolve(folder, value);
    }
    return resolved as SigningConfig;
  };
}

/** One bucket; `folder` is where relative key and credential files are. */
export function bucketSchema(folder: string) {
  return mapping({
    name: v.nullish(
      checked((name) => (BUCKET_NAME.test(name) ? undefined : 'expected a name of [A-Za-z0-9._-], up to 63 characters')),
      '',
    ),
    url: requiredUrl(),
    provider: v.optional(v.pipe(v.nullable(v.string(expected('a string'))), v.transform(unset), v.optional(knownProvider))),
    regions: list(v.pipe(v.string(expected('a region name')), v.nonEmpty(expected('a region name')))),
    networks: list(checked(cidrProblem)),
    location: v.optional(v.pipe(v.nullable(latLon), v.transform(unset))),
    /** Private bucket: credentials are read (and checked) by the loader, see src/signing/. */
    signing: v.optional(v.pipe(signingSchema, v.transform(signingFiles(folder)))),
    /** Where `registry-edge sync` writes this bucket's objects; file paths resolved against `folder`. */
    store: v.optional(v.pipe(v.nullable(storeSchema(folder)), v.transform(unset))),
  });
}

export type BucketSchema = ReturnType<typeof bucketSchema>;

/** A replica of the origin (same repositories, another host); `path` left out means origin.path. */
const mirrorSchema = mapping({
  url: requiredUrl(),
  path: v.optional(v.pipe(v.nullable(originPath), v.transform(unset))),
  provider: v.optional(v.pipe(v.nullable(v.string(expected('a string'))), v.transform(unset), v.optional(knownProvider))),
  regions: list(v.pipe(v.string(expected('a region name')), v.nonEmpty(expected('a region name')))),
  location: v.optional(v.pipe(v.nullable(latLon), v.transform(unset))),
});

const originSection = v.pipe(
  section({
    url: requiredUrl(),
    path: v.nullish(originPath, ''),
    mirrors: v.nullish(v.array(mirrorSchema, expected('a list of origin replicas')), []),
    probe: section({
      interval_ms: int(100, MAX_MS, 5_000),
      timeout_ms: int(10, 60_000, 2_000),
      failures: int(1, 100, 2),
    }),
  }),
  // Each replica serves the same repositories: its path is origin.path unless it says otherwise.
  v.transform((origin) => ({ ...origin, mirrors: origin.mirrors.map(({ url, path, ...rest }) => ({ url, path: path ?? origin.path, ...rest })) })),
);

/** A bucket name (checked against the buckets by semantic.ts) or a URL, checked here. */
const bucketOrUrl = v.pipe(
  v.string(expected('a string')),
  v.trim(),
  checked((value) => (/^https?:\/\//.test(value) ? urlProblem(value) : undefined)),
  v.transform((value) => (/^https?:\/\//.test(value) ? value.replace(/\/+$/, '') : value)),
);

const providerRules = v.pipe(
  v.custom<Record<string, unknown>>(isMapping, expected('a mapping of provider to "origin"')),
  v.record(knownProvider, v.literal('origin', expected('"origin"'))),
);

const limits = v.pipe(
  mapping({
    per_ip_rps: int(0, 1_000_000, 0),
    burst: int(0, 1_000_000, 0),
    max_clients: int(1, 10_000_000, 100_000),
  }),
  // A burst of one second's worth is the usual token bucket; 0 means "that".
  v.transform((l) => ({ ...l, burst: l.per_ip_rps > 0 && l.burst === 0 ? l.per_ip_rps : l.burst })),
);

export interface SchemaContext {
  /** The configuration file's folder: relative paths in it belong there. */
  folder: string;
  /** For the data folder, where `geo.ranges` is when the file names none. */
  env: NodeJS.ProcessEnv;
}

/** The whole configuration; file fields resolve against `context.folder`. */
export function configSchema(context: SchemaContext) {
  return mapping({
    listen: section({
      host: v.nullish(listenHost(), '0.0.0.0'),
      port: int(0, 65535, 8080),
      max_connections: int(0, 1_000_000, 10_000),
      headers_timeout_ms: int(100, MAX_MS, 2_000),
      request_timeout_ms: int(100, MAX_MS, 10_000),
      keep_alive_timeout_ms: int(0, MAX_MS, 5_000),
      shutdown_timeout_ms: int(0, MAX_MS, 5_000),
      tls: tlsSchema(context.folder),
    }),
    origin: originSection,
    signatures: section({ url: optionalUrl() }),
    info_url: optionalUrl(true),
    privacy_url: optionalUrl(true),
    client_ip: section({ trusted_hops: int(0, 16, 0) }),
    geo: section({
      ranges: v.nullish(file(context.folder), () => defaultRangesPath(context.env)),
      locations: list(file(context.folder)),
      refresh: v.nullish(duration(60_000, '1m'), ''),
    }),
    routing: section({ others: v.nullish(othersRouting, 'default'), origins: v.nullish(originsRouting, 'primary') }),
    blobs: section({
      key: v.nullish(keyTemplate, '/containers/images/{digest}'),
      candidates: int(1, 16, 2),
      inventory: optionalFile(context.folder),
      check: section({
        timeout_ms: int(1, 60_000, 5_000),
        ttl_s: int(0, 7 * 86_400, 21_600),
        negative_ttl_s: int(0, 86_400, 60),
        max_entries: int(1, 10_000_000, 100_000),
        max_inflight: int(1, 100_000, 256),
        failure_threshold: int(1, 1000, 3),
        cooldown_ms: int(0, MAX_MS, 10_000),
      }),
    }),
    providers: v.nullish(providerRules, {}),
    buckets: v.nullish(v.array(bucketSchema(context.folder), expected('a list of buckets')), []),
    default_bucket: v.nullish(bucketOrUrl, ''),
    admin: section({
      host: v.nullish(listenHost(true), '127.0.0.1'),
      port: int(0, 65535, 9090),
      token_file: optionalFile(context.folder),
      metrics_auth: flag(false),
    }),
    log: section({
      level: v.nullish(logLevel, 'info'),
      client_ip: v.nullish(clientIpLogging, 'truncated'),
      events: section({ manifests: flag(false), blobs: flag(false) }),
    }),
    metrics: section({ repos: flag(false) }),
    limits: v.nullish(limits, {}),
    sync: v.nullish(syncSectionSchema(context.folder), SYNC_DEFAULTS),
  });
}

export type ConfigSchema = ReturnType<typeof configSchema>;
