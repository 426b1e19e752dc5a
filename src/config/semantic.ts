/**
 * Checks that relate fields to each other or to package data (geo/regions.json), run on
 * the schema's output. Each names the top-level fields it reads and runs when those parsed,
 * so a mistake elsewhere in the file does not hide these problems.
 */
import { show } from './errors.js';
import { KNOWN_PROVIDERS } from './schema.js';
import type { Config } from './types.js';

/** provider → the region names geo/regions.json places, or undefined for a provider it lacks. */
export type KnownRegions = (provider: string) => { has(region: string): boolean } | undefined;

interface SemanticCheck {
  reads: ReadonlyArray<keyof Config>;
  problems(config: Config, regions: KnownRegions): string[];
}

function timeoutsInOrder({ listen }: Config): string[] {
  if (listen.request_timeout_ms >= listen.headers_timeout_ms) return [];
  return [
    `listen.request_timeout_ms: must be at least listen.headers_timeout_ms (${listen.headers_timeout_ms}), got ${listen.request_timeout_ms}`,
  ];
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Two listeners on one port: the second one to start would fail with EADDRINUSE. */
function portsApart({ listen, admin }: Config): string[] {
  if (admin.port === 0 || admin.host === '' || admin.port !== listen.port) return [];
  if (listen.host !== admin.host && !isWildcard(listen.host) && !isWildcard(admin.host)) return [];
  return [`admin.port: must differ from listen.port (the public listener's), got ${admin.port}`];
}

function uniqueBucketNames({ buckets }: Config): string[] {
  const seen = new Set<string>();
  return buckets.flatMap((bucket, index) => {
    const duplicate = seen.has(bucket.name);
    seen.add(bucket.name);
    return duplicate ? [`buckets[${index}].name: expected a unique bucket name, got ${show(bucket.name)}`] : [];
  });
}

/** Buckets and origin replicas are both placed by provider, regions and location. */
interface Placed {
  provider?: string | undefined;
  regions: string[];
  location?: unknown;
}

function placedLists({ buckets, origin }: Config): Array<[field: string, items: readonly Placed[], noun: string]> {
  return [
    ['buckets', buckets, 'bucket'],
    ['origin.mirrors', origin.mirrors, 'replica'],
  ];
}

function regionsHaveProvider(config: Config): string[] {
  return placedLists(config).flatMap(([field, items]) =>
    items.flatMap((item, index) =>
      item.provider === undefined && item.regions.length > 0
        ? [`${field}[${index}].regions: regions need a provider (${KNOWN_PROVIDERS.join(', ')}), got ${show(item.regions)}`]
        : [],
    ),
  );
}

/**
 * A region geo/regions.json does not know has no location, so the bucket or replica could not
 * be ranked by distance, and is most often a typo; one with its own `location` needs none.
 */
function regionsKnown(config: Config, regions: KnownRegions): string[] {
  return placedLists(config).flatMap(([field, items, noun]) =>
    items.flatMap((item, index) => {
      if (item.provider === undefined || item.location !== undefined || item.regions.length === 0) return [];
      const known = regions(item.provider);
      return item.regions.flatMap((region, n) =>
        known?.has(region)
          ? []
          : [`${field}[${index}].regions[${n}]: expected a region geo/regions.json lists for ${item.provider} (or a location on the ${noun}), got ${show(region)}`],
      );
    }),
  );
}

/** A replica is chosen by distance: one with neither a location nor a region has no place to be chosen from (regionsHaveProvider and regionsKnown check the regions). */
function mirrorsPlaced({ origin }: Config): string[] {
  return origin.mirrors.flatMap((mirror, index) =>
    mirror.location === undefined && mirror.regions.length === 0
      ? [`origin.mirrors[${index}]: a replica needs coordinates: a location { lat, lon } or a provider and a region geo/regions.json lists, got ${show(mirror.url)}`]
      : [],
  );
}

function uniqueMirrorUrls({ origin }: Config): string[] {
  const seen = new Set<string>();
  return origin.mirrors.flatMap((mirror, index) => {
    const duplicate = seen.has(mirror.url);
    seen.add(mirror.url);
    return duplicate ? [`origin.mirrors[${index}].url: expected each replica once, got ${show(mirror.url)}`] : [];
  });
}

function defaultBucketKnown({ buckets, default_bucket }: Config): string[] {
  if (default_bucket === '' || /^https?:\/\//.test(default_bucket) || buckets.some((b) => b.name === default_bucket)) return [];
  const names = buckets.map((b) => b.name).join(', ') || 'none defined';
  return [`default_bucket: expected a bucket name (${names}) or a URL, got ${show(default_bucket)}`];
}

const CHECKS: readonly SemanticCheck[] = [
  { reads: ['listen'], problems: timeoutsInOrder },
  { reads: ['listen', 'admin'], problems: portsApart },
  { reads: ['buckets'], problems: uniqueBucketNames },
  { reads: ['buckets', 'origin'], problems: regionsHaveProvider },
  { reads: ['buckets', 'origin'], problems: regionsKnown },
  { reads: ['origin'], problems: mirrorsPlaced },
  { reads: ['origin'], problems: uniqueMirrorUrls },
  { reads: ['buckets', 'default_bucket'], problems: defaultBucketKnown },
];

/**
 * Every semantic problem of `config`, skipping checks that read a field in `unparsed` (the
 * schema refused it, so its value is not what the types say). `'*'` in it skips them all.
 */
export function semanticProblems(config: Config, unparsed: ReadonlySet<string>, regions: KnownRegions): string[] {
  if (unparsed.has('*')) return [];
  return CHECKS.filter((check) => !check.reads.some((field) => unparsed.has(field))).flatMap((check) =>
    check.problems(config, regions),
  );
}
