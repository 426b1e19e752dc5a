import type { Readable } from 'node:stream';

/**
 * Where a bucket's objects are written. Every `put` receives a body guarded by its digest:
 * an implementation must make the object visible at `key` only when the body ends without
 * an error (temporary name and rename, checksum-verified PUT, or an upload committed at the
 * end), so a failed or mismatched copy leaves the key as it was.
 */
export interface BlobStore {
  /** For messages: `dir /srv/blobs`, `s3://bucket`, ... */
  readonly description: string;
  /** Object sizes by key under `prefix`, in few requests; undefined when listing is not possible. */
  list(prefix: string): Promise<Map<string, number> | undefined>;
  /** The object's size, or undefined when there is no object at `key`. */
  stat(key: string): Promise<number | undefined>;
  put(key: string, body: Readable, blob: { digest: string; size: number }): Promise<void>;
  /** The object's bytes (for `verify --deep`). */
  read(key: string): Promise<Readable>;
  /** Housekeeping before a run that writes, such as temporary files a killed run left behind. */
  prepare?(prefix: string): Promise<void>;
  /** Makes what `put` wrote durable, before the inventory says it is there. */
  finish?(): Promise<void>;
}

/** The object key of a digest under the `blobs.key` template, without the URL's leading slash. */
export function objectKey(template: string, digest: string): string {
  return template.replace('{digest}', digest).replace(/^\/+/, '');
}

/** The fixed part of every key (before `{digest}`), for listing. */
export function keyPrefix(template: string): string {
  return (template.split('{digest}')[0] ?? '').replace(/^\/+/, '');
}

/** The store's credentials or settings are wrong in a way no retry fixes. */
export class StoreConfigError extends Error {
  override name = 'StoreConfigError';
}
