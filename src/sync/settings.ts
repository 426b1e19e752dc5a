/**
 * What sync and verify need from the one loaded configuration, as plain values, so that the
 * copying code does not depend on the rest of the front door's settings.
 */
import type { Config } from '../config/types.js';
import type { StoreConfig, SyncSection } from '../config/sync.js';

export type { AzureStoreConfig, DirStoreConfig, GcsStoreConfig, S3StoreConfig, StoreConfig, SyncAuth, SyncSection } from '../config/sync.js';
export { SYNC_DEFAULTS } from '../config/sync.js';

/** A bucket as sync sees it: the front door's name and URL, and where to write its objects. */
export interface SyncBucket {
  name: string;
  url: string;
  store?: StoreConfig;
}

export interface SyncSettings {
  origin: { url: string; path: string };
  blobs: { key: string; inventory: string };
  buckets: SyncBucket[];
  sync: SyncSection;
}

/** The effective configuration's sync view (paths already absolute, URLs already trimmed). */
export function syncSettings(config: Config): SyncSettings {
  return {
    origin: { url: config.origin.url, path: config.origin.path },
    blobs: { key: config.blobs.key, inventory: config.blobs.inventory },
    // A bucket without a name is known by its URL, as in the front door's logs.
    buckets: config.buckets.map((bucket) => ({
      name: bucket.name === '' ? bucket.url : bucket.name,
      url: bucket.url,
      ...(bucket.store === undefined ? {} : { store: bucket.store }),
    })),
    sync: config.sync,
  };
}
