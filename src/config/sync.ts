/**
 * The parts of the configuration `registry-edge sync` reads: the top-level `sync:` section and
 * the optional `store:` section of a bucket (where sync writes the objects the bucket's URL
 * serves). Built from the same field kinds as the rest of the schema, so problems read the
 * same and file paths resolve against the configuration file's folder like every other path.
 */
import * as v from 'valibot';
import { checked, expected, flag, int, mapping, optionalFile, optionalUrl } from './fields.js';

const MAX_MS = 2_147_483_647;

/** A repository name as the distribution spec writes it (path components, lower case). */
export const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

function regexProblem(text: string): string | undefined {
  try {
    new RegExp(text);
    return undefined;
  } catch {
    return 'expected a regular expression';
  }
}

const repositoryName = checked((name) => (REPOSITORY_NAME.test(name) ? undefined : 'expected a repository name such as library/app'));
const platform = checked((name) => (PLATFORM.test(name) ? undefined : 'expected os/architecture[/variant] such as linux/amd64'));
const nonEmpty = v.pipe(v.string(expected('a string')), v.nonEmpty(expected('a non-empty string')));

/** The `sync:` section; file fields resolve against `folder`. */
export function syncSectionSchema(folder: string) {
  return mapping({
    /** Repositories below `origin.path`, or "*" for every one the origin's catalog lists. */
    repositories: v.nullish(v.union([v.literal('*'), v.array(repositoryName)], expected('"*" or a list of repository names')), []),
    /** A regular expression over tag names; empty = every tag. */
    tags: v.nullish(checked(regexProblem), ''),
    platforms: v.nullish(
      v.union([v.literal('all'), v.pipe(v.array(platform), v.minLength(1))], expected('"all" or a non-empty list such as [linux/amd64]')),
      'all',
    ),
    /** Also copy cosign `.sig`/`.att`/`.sbom` tags and what the referrers API lists. */
    referrers: flag(false),
    /** Blobs in flight at once. */
    concurrency: int(1, 256, 8),
    /** Requests per second to the origin; 0 = unbounded. */
    origin_rps: int(0, 100_000, 20),
    /** Attempts after the first for a request or a blob copy that failed transiently. */
    retries: int(0, 20, 5),
    /** A request whose socket is idle this long fails (and is retried). */
    timeout_ms: int(100, MAX_MS, 30_000),
    /** Origin credentials: a user and a password file, or a Docker `config.json` (`auths`). */
    auth: v.nullish(
      mapping({ username: v.nullish(v.string(expected('a string')), ''), password_file: optionalFile(folder), docker_config: optionalFile(folder) }),
      { username: '', password_file: '', docker_config: '' },
    ),
  });
}

/** A store variant: exactly these fields, an unknown one named (typos must not pass). */
function store<const E extends v.ObjectEntries>(entries: E) {
  const allowed = Object.keys(entries).join(', ');
  return v.strictObject(entries, (issue) => (issue.expected === 'never' ? `unknown field (allowed: ${allowed})` : 'required'));
}

export function dirStoreSchema(folder: string) {
  return store({
    type: v.literal('dir'),
    /** Folder the bucket key is appended to; a web server serves it as the bucket. */
    path: v.pipe(optionalFile(folder), v.nonEmpty('required (a folder)')),
  });
}

export function s3StoreSchema(folder: string) {
  return store({
    type: v.literal('s3'),
    bucket: nonEmpty,
    region: v.nullish(nonEmpty, 'us-east-1'),
    /** An S3-compatible endpoint; empty = AWS for `region`. */
    endpoint: optionalUrl(),
    path_style: flag(false),
    /** Named files (Secret mounts); empty = the standard AWS variables and credential chain. */
    access_key_id_file: optionalFile(folder),
    secret_access_key_file: optionalFile(folder),
    session_token_file: optionalFile(folder),
    /** Blobs larger than this go up in parts (each part checksummed), the rest in one PUT. */
    multipart_threshold_mib: int(5, 5 * 1024, 64),
    part_size_mib: int(5, 5 * 1024, 16),
  });
}

export function gcsStoreSchema(folder: string) {
  return store({
    type: v.literal('gcs'),
    bucket: nonEmpty,
    /** Empty = Google's endpoint; set for an emulator or a private endpoint. */
    endpoint: optionalUrl(),
    /** A service-account JSON key; empty = GOOGLE_APPLICATION_CREDENTIALS or the metadata server. */
    credentials_file: optionalFile(folder),
    project: v.nullish(v.string(expected('a string')), ''),
    resumable_threshold_mib: int(1, 5 * 1024, 16),
  });
}

export function azureStoreSchema(folder: string) {
  return store({
    type: v.literal('azure'),
    account: nonEmpty,
    container: nonEmpty,
    /** Empty = https://<account>.blob.core.windows.net. */
    endpoint: optionalUrl(),
    /** A file holding the account key; empty = AZURE_STORAGE_KEY. */
    account_key_file: optionalFile(folder),
    block_size_mib: int(1, 4000, 8),
  });
}

/** A bucket's `store:`: where sync writes what the bucket's URL serves. */
export function storeSchema(folder: string) {
  return v.variant(
    'type',
    [dirStoreSchema(folder), s3StoreSchema(folder), gcsStoreSchema(folder), azureStoreSchema(folder)],
    expected('a store of type dir, s3, gcs or azure'),
  );
}

export type SyncSection = v.InferOutput<ReturnType<typeof syncSectionSchema>>;
export type SyncAuth = SyncSection['auth'];
export type StoreConfig = v.InferOutput<ReturnType<typeof storeSchema>>;
export type DirStoreConfig = v.InferOutput<ReturnType<typeof dirStoreSchema>>;
export type S3StoreConfig = v.InferOutput<ReturnType<typeof s3StoreSchema>>;
export type GcsStoreConfig = v.InferOutput<ReturnType<typeof gcsStoreSchema>>;
export type AzureStoreConfig = v.InferOutput<ReturnType<typeof azureStoreSchema>>;

/** The sync section's effective values when a configuration has none. */
export const SYNC_DEFAULTS: SyncSection = v.parse(syncSectionSchema('/'), {});
