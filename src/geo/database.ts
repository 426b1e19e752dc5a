/** One MMDB file opened for the locator: records decoded once and shared, as the request path reads them. */
import { readFile } from 'node:fs/promises';
import { Reader } from 'maxmind';
import { LRUCache } from 'lru-cache';
import { parseMetadata, type MmdbValue } from './mmdb-format.js';
import type { ClientLocation } from './types.js';

interface CloudRecord {
  provider?: string;
  region?: string;
}

export type Record_ = Record<string, MmdbValue>;

/**
 * An MMDB opened with `maxmind`. Decoded records are cached by data offset in an lru-cache
 * (records repeat heavily: ~11k networks share a few hundred {provider, region} values), and
 * each decoded record is mapped once to what the request path needs (WeakMap by record).
 */
export class Database<T extends object> {
  private readonly mapped = new WeakMap<object, T>();

  constructor(
    readonly reader: Reader<Record_>,
    readonly path: string,
    readonly byteLength: number,
    private readonly extract: (record: Record_) => T,
    /** See GeoLocator.rangesPublishedAt. */
    readonly publishedAt: Date,
  ) {}

  get ipVersion(): number {
    return this.reader.metadata.ipVersion;
  }

  get buildEpoch(): Date {
    return this.reader.metadata.buildEpoch;
  }

  lookup(ip: string): T | undefined {
    const record = this.reader.get(ip);
    if (record === null) return undefined;
    let value = this.mapped.get(record);
    if (value === undefined) {
      value = Object.freeze(this.extract(record));
      this.mapped.set(record, value);
    }
    return value;
  }
}

export async function openDatabase<T extends object>(path: string, cacheEntries: number, extract: (record: Record_) => T): Promise<Database<T>> {
  const buffer = await readFile(path);
  const reader = new Reader<Record_>(buffer, { cache: new LRUCache<string | number, Record_>({ max: cacheEntries }) });
  // maxmind drops metadata keys it does not know; the feeds' publication time is one of ours.
  const publishedAt = parseMetadata(buffer).feedsPublishedAt ?? reader.metadata.buildEpoch;
  return new Database(reader, path, buffer.byteLength, extract, publishedAt);
}

export function extractCloud(value: Record_): ClientLocation {
  const record: CloudRecord = {};
  const provider = value['provider'];
  const region = value['region'];
  if (typeof provider === 'string' && provider !== '') record.provider = provider;
  if (typeof region === 'string' && region !== '') record.region = region;
  return record;
}

