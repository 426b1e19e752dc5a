import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { parseCidr } from '../net/cidr.js';
import { defaultRangesPath, packageRoot } from '../paths.js';
import type { BucketConfig, ClientIpLogging, Config, LogLevel, OthersRouting } from './types.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[], source: string) {
    super(`invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export { packageRoot };

export const EMBEDDED_CONFIG = 'config/registry-k8s-io.yaml';
const EMBEDDED_SOURCE = `embedded default (${EMBEDDED_CONFIG})`;

/**
 * Resolves a data file named in a config (geo.ranges, geo.locations): relative paths in the
 * embedded default belong to the package, in a user's file they are relative to the working
 * directory. An empty `geo.ranges` (the default) is the data folder's file (src/paths.ts).
 */
export function dataPath(path: string, source: string, env: NodeJS.ProcessEnv = process.env): string {
  if (path === '') return defaultRangesPath(env);
  if (isAbsolute(path)) return path;
  return source === EMBEDDED_SOURCE ? join(packageRoot(), path) : resolve(path);
}

/** Settings every config file starts from; the embedded registry.k8s.io file overrides them too. */
export const BASE_DEFAULTS: Config = {
  listen: {
    host: '0.0.0.0',
    port: 8080,
    max_connections: 10_000,
    headers_timeout_ms: 2_000,
    request_timeout_ms: 10_000,
    keep_alive_timeout_ms: 5_000,
    shutdown_timeout_ms: 5_000,
  },
  origin: { url: '', path: '' },
  signatures: { url: '' },
  info_url: '',
  privacy_url: '',
  client_ip: { trusted_hops: 0 },
  geo: { ranges: '', locations: [], refresh: '' },
  routing: { others: 'default' },
  blobs: {
    key: '/containers/images/{digest}',
    candidates: 2,
    inventory: '',
    check: {
      timeout_ms: 5_000,
      ttl_s: 21_600,
      negative_ttl_s: 60,
      max_entries: 100_000,
      max_inflight: 256,
      failure_threshold: 3,
      cooldown_ms: 10_000,
    },
  },
  providers: {},
  buckets: [],
  default_bucket: '',
  admin: { host: '127.0.0.1', port: 9090 },
  log: { level: 'info', client_ip: 'truncated' },
  metrics: { repos: false },
  limits: { per_ip_rps: 0, burst: 0, max_clients: 100_000 },
};

type Raw = Record<string, unknown>;

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/** Walks a parsed YAML document against the schema, collecting every problem with its field path. */
class Reader {
  readonly problems: string[] = [];

  fail(path: string, value: unknown, expected: string): void {
    this.problems.push(`${path}: ${expected}, got ${show(value)}`);
  }

  section(raw: Raw, key: string, allowed: readonly string[]): Raw {
    const value = raw[key];
    if (value === undefined || value === null) return {};
    if (!isObject(value)) {
      this.fail(key, value, 'expected a mapping');
      return {};
    }
    this.unknownKeys(value, allowed, `${key}.`);
    return value;
  }

  unknownKeys(raw: Raw, allowed: readonly string[], prefix: string): void {
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) this.problems.push(`${prefix}${key}: unknown field (allowed: ${allowed.join(', ')})`);
    }
  }

  string(raw: Raw, key: string, path: string, fallback: string): string {
    const value = raw[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') {
      this.fail(path, value, 'expected a string');
      return fallback;
    }
    return value;
  }

  int(raw: Raw, key: string, path: string, fallback: number, min: number, max: number): number {
    let value = raw[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'string' && /^\d+$/.test(value)) value = Number(value);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, value, `expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  bool(raw: Raw, key: string, path: string, fallback: boolean): boolean {
    const value = raw[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(path, value, 'expected true or false');
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(raw: Raw, key: string, path: string, fallback: T, choices: readonly T[]): T {
    const value = this.string(raw, key, path, fallback);
    if (!(choices as readonly string[]).includes(value)) {
      this.fail(path, value, `expected one of ${choices.join(', ')}`);
      return fallback;
    }
    return value as T;
  }

  stringList(raw: Raw, key: string, path: string): string[] {
    const value = raw[key];
    if (value === undefined || value === null) return [];
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || !list.every((item): item is string => typeof item === 'string')) {
      this.fail(path, value, 'expected a list of strings');
      return [];
    }
    return list;
  }

  /** An absolute http(s) URL with no query, fragment or credentials; returned without trailing slash. */
  baseUrl(raw: Raw, key: string, path: string, fallback: string, required: boolean, keepSlash = false): string {
    const value = this.string(raw, key, path, fallback).trim();
    if (value === '') {
      if (required) this.problems.push(`${path}: required (an http:// or https:// URL)`);
      return '';
    }
    return this.checkUrl(value, path, keepSlash) ?? '';
  }

  checkUrl(value: string, path: string, keepSlash = false): string | undefined {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.fail(path, value, 'expected an absolute http:// or https:// URL');
      return undefined;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      this.fail(path, value, 'expected an http:// or https:// URL');
    } else if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      this.fail(path, value, 'expected a URL without query, fragment or credentials');
    } else if (!/^[\x21-\x7e]+$/.test(value) || value.includes('\\')) {
      this.fail(path, value, 'expected a URL of plain printable ASCII');
    } else {
      return keepSlash ? value : value.replace(/\/+$/, '');
    }
    return undefined;
  }
}

const TOP_LEVEL = [
  'listen', 'origin', 'signatures', 'info_url', 'privacy_url', 'client_ip', 'geo', 'routing', 'blobs',
  'providers', 'buckets', 'default_bucket', 'admin', 'log', 'metrics', 'limits',
] as const;
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const IP_LOGGING: readonly ClientIpLogging[] = ['truncated', 'full', 'none'];
const OTHERS: readonly OthersRouting[] = ['default', 'nearest'];
const PATH_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PROVIDER = /^[a-z][a-z0-9-]{0,31}$/;
const KEY_TEMPLATE = /^\/[A-Za-z0-9._~\-/]*\{digest\}[A-Za-z0-9._~\-/]*$/;
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const MAX_MS = 3_600_000;

/** `12h`, `30m`, `1h30m`, `45s` → milliseconds; empty → 0. Undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === '') return 0;
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const [, h = '0', m = '0', s = '0'] = match;
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000;
}

/** Validates a parsed document (already merged with environment overrides) into a Config. */
export function validateConfig(doc: unknown, source: string): Config {
  const r = new Reader();
  const raw: Raw = isObject(doc) ? doc : {};
  if (doc !== undefined && doc !== null && !isObject(doc)) r.fail('(top level)', doc, 'expected a mapping');
  r.unknownKeys(raw, TOP_LEVEL, '');
  const d = BASE_DEFAULTS;

  const listenRaw = r.section(raw, 'listen', Object.keys(d.listen));
  const listen: Config['listen'] = {
    host: r.string(listenRaw, 'host', 'listen.host', d.listen.host),
    port: r.int(listenRaw, 'port', 'listen.port', d.listen.port, 0, 65535),
    max_connections: r.int(listenRaw, 'max_connections', 'listen.max_connections', d.listen.max_connections, 0, 1_000_000),
    headers_timeout_ms: r.int(listenRaw, 'headers_timeout_ms', 'listen.headers_timeout_ms', d.listen.headers_timeout_ms, 100, MAX_MS),
    request_timeout_ms: r.int(listenRaw, 'request_timeout_ms', 'listen.request_timeout_ms', d.listen.request_timeout_ms, 100, MAX_MS),
    keep_alive_timeout_ms: r.int(listenRaw, 'keep_alive_timeout_ms', 'listen.keep_alive_timeout_ms', d.listen.keep_alive_timeout_ms, 0, MAX_MS),
    shutdown_timeout_ms: r.int(listenRaw, 'shutdown_timeout_ms', 'listen.shutdown_timeout_ms', d.listen.shutdown_timeout_ms, 0, MAX_MS),
  };
  if (listen.request_timeout_ms < listen.headers_timeout_ms) {
    r.problems.push(`listen.request_timeout_ms: must be at least listen.headers_timeout_ms (${listen.headers_timeout_ms}), got ${listen.request_timeout_ms}`);
  }

  const originRaw = r.section(raw, 'origin', ['url', 'path']);
  const originPath = r.string(originRaw, 'path', 'origin.path', '').replace(/^\/+|\/+$/g, '');
  if (originPath !== '' && !originPath.split('/').every((s) => PATH_SEGMENT.test(s) && s !== '.' && s !== '..')) {
    r.fail('origin.path', originPath, 'expected path segments of [A-Za-z0-9._-] separated by /, no . or .. segments');
  }
  const origin = { url: r.baseUrl(originRaw, 'url', 'origin.url', '', true), path: originPath };

  const signaturesRaw = r.section(raw, 'signatures', ['url']);
  const signatures = { url: r.baseUrl(signaturesRaw, 'url', 'signatures.url', '', false) };
  const info_url = r.baseUrl(raw, 'info_url', 'info_url', d.info_url, false, true);
  const privacy_url = r.baseUrl(raw, 'privacy_url', 'privacy_url', d.privacy_url, false, true);

  const clientRaw = r.section(raw, 'client_ip', ['trusted_hops']);
  const client_ip = { trusted_hops: r.int(clientRaw, 'trusted_hops', 'client_ip.trusted_hops', 0, 0, 16) };

  const geoRaw = r.section(raw, 'geo', ['ranges', 'locations', 'refresh']);
  const geo = {
    ranges: r.string(geoRaw, 'ranges', 'geo.ranges', d.geo.ranges),
    locations: r.stringList(geoRaw, 'locations', 'geo.locations'),
    refresh: r.string(geoRaw, 'refresh', 'geo.refresh', ''),
  };
  const refreshMs = parseDuration(geo.refresh);
  if (refreshMs === undefined || (refreshMs > 0 && refreshMs < 60_000)) {
    r.fail('geo.refresh', geo.refresh, 'expected a duration of at least 1m such as 12h, 30m or 1h30m, or empty');
  }

  const routingRaw = r.section(raw, 'routing', ['others']);
  const routing = { others: r.oneOf(routingRaw, 'others', 'routing.others', d.routing.others, OTHERS) };

  const blobsRaw = r.section(raw, 'blobs', ['key', 'candidates', 'inventory', 'check']);
  const key = r.string(blobsRaw, 'key', 'blobs.key', d.blobs.key);
  if (!KEY_TEMPLATE.test(key) || key.indexOf('{digest}') !== key.lastIndexOf('{digest}') || /(^|\/)\.\.?(\/|\{|$)/.test(key)) {
    r.fail('blobs.key', key, 'expected a path starting with / containing {digest} once, no . or .. segments');
  }
  const checkRaw = isObject(blobsRaw.check) ? blobsRaw.check : {};
  if (blobsRaw.check !== undefined && !isObject(blobsRaw.check)) r.fail('blobs.check', blobsRaw.check, 'expected a mapping');
  r.unknownKeys(checkRaw, Object.keys(d.blobs.check), 'blobs.check.');
  const c = d.blobs.check;
  const blobs: Config['blobs'] = {
    key,
    candidates: r.int(blobsRaw, 'candidates', 'blobs.candidates', d.blobs.candidates, 1, 16),
    inventory: r.string(blobsRaw, 'inventory', 'blobs.inventory', ''),
    check: {
      timeout_ms: r.int(checkRaw, 'timeout_ms', 'blobs.check.timeout_ms', c.timeout_ms, 1, 60_000),
      ttl_s: r.int(checkRaw, 'ttl_s', 'blobs.check.ttl_s', c.ttl_s, 0, 7 * 86_400),
      negative_ttl_s: r.int(checkRaw, 'negative_ttl_s', 'blobs.check.negative_ttl_s', c.negative_ttl_s, 0, 86_400),
      max_entries: r.int(checkRaw, 'max_entries', 'blobs.check.max_entries', c.max_entries, 1, 10_000_000),
      max_inflight: r.int(checkRaw, 'max_inflight', 'blobs.check.max_inflight', c.max_inflight, 1, 100_000),
      failure_threshold: r.int(checkRaw, 'failure_threshold', 'blobs.check.failure_threshold', c.failure_threshold, 1, 1000),
      cooldown_ms: r.int(checkRaw, 'cooldown_ms', 'blobs.check.cooldown_ms', c.cooldown_ms, 0, MAX_MS),
    },
  };

  const providers: Record<string, 'origin'> = {};
  const providersRaw = raw.providers;
  if (providersRaw !== undefined && providersRaw !== null) {
    if (!isObject(providersRaw)) r.fail('providers', providersRaw, 'expected a mapping of provider to "origin"');
    else {
      for (const [name, rule] of Object.entries(providersRaw)) {
        if (!PROVIDER.test(name)) r.fail(`providers.${name}`, name, 'expected a provider name like aws, gcp, azure, oracle');
        else if (rule !== 'origin') r.fail(`providers.${name}`, rule, 'expected "origin"');
        else providers[name] = 'origin';
      }
    }
  }

  const buckets = readBuckets(r, raw.buckets);
  let default_bucket = r.string(raw, 'default_bucket', 'default_bucket', '').trim();
  if (default_bucket !== '' && !buckets.some((b) => b.name === default_bucket)) {
    if (/^https?:\/\//.test(default_bucket)) default_bucket = r.checkUrl(default_bucket, 'default_bucket') ?? '';
    else r.fail('default_bucket', default_bucket, `expected a bucket name (${buckets.map((b) => b.name).join(', ') || 'none defined'}) or a URL`);
  }

  const adminRaw = r.section(raw, 'admin', ['host', 'port']);
  const admin = {
    host: r.string(adminRaw, 'host', 'admin.host', d.admin.host),
    port: r.int(adminRaw, 'port', 'admin.port', d.admin.port, 0, 65535),
  };
  const logRaw = r.section(raw, 'log', ['level', 'client_ip']);
  const log = {
    level: r.oneOf(logRaw, 'level', 'log.level', d.log.level, LOG_LEVELS),
    client_ip: r.oneOf(logRaw, 'client_ip', 'log.client_ip', d.log.client_ip, IP_LOGGING),
  };
  const metricsRaw = r.section(raw, 'metrics', ['repos']);
  const metrics = { repos: r.bool(metricsRaw, 'repos', 'metrics.repos', false) };
  const limitsRaw = r.section(raw, 'limits', ['per_ip_rps', 'burst', 'max_clients']);
  const limits = {
    per_ip_rps: r.int(limitsRaw, 'per_ip_rps', 'limits.per_ip_rps', 0, 0, 1_000_000),
    burst: r.int(limitsRaw, 'burst', 'limits.burst', 0, 0, 1_000_000),
    max_clients: r.int(limitsRaw, 'max_clients', 'limits.max_clients', d.limits.max_clients, 1, 10_000_000),
  };
  if (limits.per_ip_rps > 0 && limits.burst === 0) limits.burst = limits.per_ip_rps;

  if (r.problems.length > 0) throw new ConfigError(r.problems, source);
  return {
    listen, origin, signatures, info_url, privacy_url, client_ip, geo, routing, blobs,
    providers, buckets, default_bucket, admin, log, metrics, limits,
  };
}

function readBuckets(r: Reader, value: unknown): BucketConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    r.fail('buckets', value, 'expected a list of buckets');
    return [];
  }
  const buckets: BucketConfig[] = [];
  const seen = new Set<string>();
  value.forEach((item: unknown, index) => {
    const at = `buckets[${index}]`;
    if (!isObject(item)) {
      r.fail(at, item, 'expected a mapping with name and url');
      return;
    }
    r.unknownKeys(item, ['name', 'url', 'provider', 'regions', 'networks', 'location'], `${at}.`);
    const name = r.string(item, 'name', `${at}.name`, '');
    if (!BUCKET_NAME.test(name)) r.fail(`${at}.name`, name, 'expected a name of [A-Za-z0-9._-], up to 63 characters');
    else if (seen.has(name)) r.fail(`${at}.name`, name, 'expected a unique bucket name');
    seen.add(name);
    const bucket: BucketConfig = {
      name,
      url: r.baseUrl(item, 'url', `${at}.url`, '', true),
      regions: r.stringList(item, 'regions', `${at}.regions`),
      networks: r.stringList(item, 'networks', `${at}.networks`),
    };
    const provider = r.string(item, 'provider', `${at}.provider`, '');
    if (provider !== '') {
      if (!PROVIDER.test(provider)) r.fail(`${at}.provider`, provider, 'expected a provider name like aws, gcp, azure, oracle');
      bucket.provider = provider;
    } else if (bucket.regions.length > 0) {
      r.fail(`${at}.regions`, bucket.regions, 'regions need a provider');
    }
    bucket.networks.forEach((network, n) => {
      if (parseCidr(network) === undefined) r.fail(`${at}.networks[${n}]`, network, 'expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32');
    });
    const location = item.location;
    if (location !== undefined && location !== null) {
      const lat = isObject(location) ? location.lat : undefined;
      const lon = isObject(location) ? location.lon : undefined;
      if (typeof lat !== 'number' || typeof lon !== 'number' || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
        r.fail(`${at}.location`, location, 'expected {lat: -90..90, lon: -180..180}');
      } else bucket.location = { lat, lon };
    }
    buckets.push(bucket);
  });
  return buckets;
}

/** Archeio's environment variables, honoured for drop-in use; they win over the file. */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: readonly string[]; numeric?: boolean }> = [
  { env: 'PORT', path: ['listen', 'port'], numeric: true },
  { env: 'UPSTREAM_REGISTRY_ENDPOINT', path: ['origin', 'url'] },
  { env: 'UPSTREAM_REGISTRY_PATH', path: ['origin', 'path'] },
  { env: 'SIGNATURE_UPSTREAM_ENDPOINT', path: ['signatures', 'url'] },
  { env: 'DEFAULT_AWS_BASE_URL', path: ['default_bucket'] },
  { env: 'TRUSTED_PROXY_HOPS', path: ['client_ip', 'trusted_hops'], numeric: true },
];

export function applyEnv(doc: unknown, env: NodeJS.ProcessEnv): unknown {
  const root: Raw = isObject(doc) ? structuredClone(doc) : {};
  for (const { env: name, path, numeric } of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let node = root;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      node[key] = isObject(child) ? child : {};
      node = node[key] as Raw;
    }
    node[path[path.length - 1] as string] = numeric && /^\d+$/.test(value) ? Number(value) : value;
  }
  return root;
}

export interface LoadedConfig {
  config: Config;
  /** Where it came from: a file path, or the embedded default. */
  source: string;
}

/** Reads, merges environment overrides, validates. Throws ConfigError naming every bad field. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const named = file ?? (env.REGISTRY_EDGE_CONFIG || undefined);
  const path = named ?? join(packageRoot(), EMBEDDED_CONFIG);
  const source = named ?? EMBEDDED_SOURCE;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read ${path}: ${(error as Error).message}`], source);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    const message = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error);
    throw new ConfigError([`not valid YAML: ${message}`], source);
  }
  return { config: validateConfig(applyEnv(doc, env), source), source };
}
