/**
 * The configuration `registry-edge sync` reads, as valibot schema fragments for the main
 * config schema: `SyncSectionSchema` is the top-level `sync:` section and `StoreSchema` the
 * optional `store:` section of a bucket. Unknown fields are errors (strict objects), every
 * default lives here and the types are inferred from the schemas.
 */
import * as v from 'valibot';

const MAX_INT = 2_147_483_647;

function boundedInt(min: number, max: number, fallback: number) {
  return v.optional(v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max)), fallback);
}

function validRegex(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}

/** A repository name as the distribution spec writes it (path components, lower case). */
export const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

const RepositoryNameSchema = v.pipe(v.string(), v.regex(REPOSITORY_NAME, 'expected a repository name such as library/app'));

export const PlatformSchema = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/, 'expected os/architecture[/variant] such as linux/amd64'),
);

/** Origin credentials: a user and a password file, or a Docker `config.json` (`auths`). */
export const SyncAuthSchema = v.strictObject({
  username: v.optional(v.string(), ''),
  password_file: v.optional(v.string(), ''),
  docker_config: v.optional(v.string(), ''),
});

export const SyncSectionSchema = v.strictObject({
  /** Repositories below `origin.path`, or "*" for every one the origin's catalog lists. */
  repositories: v.optional(v.union([v.literal('*'), v.array(RepositoryNameSchema)]), []),
  /** A regular expression over tag names; empty = every tag. */
  tags: v.optional(v.pipe(v.string(), v.check(validRegex, 'expected a regular expression')), ''),
  platforms: v.optional(v.union([v.literal('all'), v.pipe(v.array(PlatformSchema), v.minLength(1))]), 'all'),
  /** Also copy cosign `.sig`/`.att`/`.sbom` tags and what the referrers API lists. */
  referrers: v.optional(v.boolean(), false),
  /** Blobs in flight at once. */
  concurrency: boundedInt(1, 256, 8),
  /** Requests per second to the origin; 0 = unbounded. */
  origin_rps: boundedInt(0, 100_000, 20),
  /** Attempts after the first for a request or a blob copy that failed transiently. */
  retries: boundedInt(0, 20, 5),
  /** A request whose socket is idle this long fails (and is retried). */
  timeout_ms: boundedInt(100, MAX_INT, 30_000),
  auth: v.optional(SyncAuthSchema, {}),
});

const NonEmpty = v.pipe(v.string(), v.nonEmpty('must not be empty'));
const HttpUrl = v.pipe(v.string(), v.regex(/^https?:\/\/[^\s/]+(?:\/\S*)?$/, 'expected an http:// or https:// URL'));

export const DirStoreSchema = v.strictObject({
  type: v.literal('dir'),
  /** Folder the bucket key is appended to; a web server serves it as the bucket. */
  path: NonEmpty,
});

export const S3StoreSchema = v.strictObject({
  type: v.literal('s3'),
  bucket: NonEmpty,
  region: v.optional(NonEmpty, 'us-east-1'),
  /** An S3-compatible endpoint; empty = AWS for `region`. */
  endpoint: v.optional(v.union([v.literal(''), HttpUrl]), ''),
  path_style: v.optional(v.boolean(), false),
  /** Named files (Secret mounts); empty = the standard AWS variables and credential chain. */
  access_key_id_file: v.optional(v.string(), ''),
  secret_access_key_file: v.optional(v.string(), ''),
  session_token_file: v.optional(v.string(), ''),
  /** Blobs larger than this go up in parts (each part checksummed), the rest in one PUT. */
  multipart_threshold_mib: boundedInt(5, 5 * 1024, 64),
  part_size_mib: boundedInt(5, 5 * 1024, 16),
});

export const GcsStoreSchema = v.strictObject({
  type: v.literal('gcs'),
  bucket: NonEmpty,
  /** Empty = Google's endpoint; set for an emulator or a private endpoint. */
  endpoint: v.optional(v.union([v.literal(''), HttpUrl]), ''),
  /** A service-account JSON key; empty = GOOGLE_APPLICATION_CREDENTIALS or the metadata server. */
  credentials_file: v.optional(v.string(), ''),
  project: v.optional(v.string(), ''),
  resumable_threshold_mib: boundedInt(1, 5 * 1024, 16),
});

export const AzureStoreSchema = v.strictObject({
  type: v.literal('azure'),
  account: NonEmpty,
  container: NonEmpty,
  /** Empty = https://<account>.blob.core.windows.net. */
  endpoint: v.optional(v.union([v.literal(''), HttpUrl]), ''),
  /** A file holding the account key; empty = AZURE_STORAGE_KEY. */
  account_key_file: v.optional(v.string(), ''),
  block_size_mib: boundedInt(1, 4000, 8),
});

export const StoreSchema = v.variant('type', [DirStoreSchema, S3StoreSchema, GcsStoreSchema, AzureStoreSchema]);

export type SyncSection = v.InferOutput<typeof SyncSectionSchema>;
export type SyncAuth = v.InferOutput<typeof SyncAuthSchema>;
export type StoreConfig = v.InferOutput<typeof StoreSchema>;
export type DirStoreConfig = v.InferOutput<typeof DirStoreSchema>;
export type S3StoreConfig = v.InferOutput<typeof S3StoreSchema>;
export type GcsStoreConfig = v.InferOutput<typeof GcsStoreSchema>;
export type AzureStoreConfig = v.InferOutput<typeof AzureStoreSchema>;

/** The sync section's effective defaults, for a config that has none. */
export const SYNC_DEFAULTS: SyncSection = v.parse(SyncSectionSchema, {});

/** A bucket as sync sees it: the front door's name and URL, and where to write its objects. */
export interface SyncBucket {
  name: string;
  url: string;
  store?: StoreConfig;
}

/** What sync needs from the effective configuration. */
export interface SyncSettings {
  origin: { url: string; path: string };
  blobs: { key: string; inventory: string };
  buckets: SyncBucket[];
  sync: SyncSection;
}
