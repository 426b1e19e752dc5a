/**
 * The MaxMind DB format as far as both sides of registry-edge share it: the database types and
 * metadata keys the geo pipeline (top-level `geo/`) writes, the data-section decoder and the
 * metadata parser. The run time looks records up through the `maxmind` package, which drops
 * metadata keys it does not know; the locator reads `FEEDS_PUBLISHED_KEY` with this parser.
 * The pipeline's verifying reader (`geo/mmdb/reader.ts`) walks the tree with the same decoder.
 *
 * Spec: MaxMind DB File Format Specification v2.0 (https://maxmind.github.io/MaxMind-DB/).
 */

export type MmdbValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | MmdbValue[]
  | { [key: string]: MmdbValue };

/** `database_type` of the compiled cloud ranges: records `{provider, region?}`. */
export const CLOUD_RANGES_TYPE = 'registry-edge-cloud-ranges';
/** `database_type` of the compact city file: records `{country_code?, latitude?, longitude?}`. */
export const COMPACT_LOCATIONS_TYPE = 'registry-edge-locations';
/**
 * Metadata key (uint64, seconds since the epoch): when the oldest feed the ranges were compiled
 * from was published, by the feed's own stamp. Absent when no feed carries a time.
 */
export const FEEDS_PUBLISHED_KEY = 'registry_edge_feeds_published';

export const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
const METADATA_MAX_BYTES = 128 * 1024;

export interface MmdbMetadata {
  nodeCount: number;
  recordSize: 24 | 28 | 32;
  ipVersion: 4 | 6;
  databaseType: string;
  languages: string[];
  binaryFormatMajorVersion: number;
  binaryFormatMinorVersion: number;
  buildEpoch: Date;
  description: Record<string, string>;
  /** `FEEDS_PUBLISHED_KEY`, when the file has it. */
  feedsPublishedAt?: Date;
}

/** Reports a malformed database; the message names the offset so broken files can be inspected. */
export class MmdbFormatError extends Error {
  override name = 'MmdbFormatError';
}

/** Decodes fields of the data section format; `base` is where pointers count from. */
export class FieldDecoder {
  constructor(
    private readonly buf: Buffer,
    private readonly base: number,
    private readonly limit: number,
  ) {}

  /** Decodes the field at absolute offset `at`, returning the value and the offset after it. */
  decode(at: number): [MmdbValue, number] {
    const buf = this.buf;
    if (at >= this.limit) throw new MmdbFormatError(`data field at ${at} is past the end of the section`);
    const control = buf[at] ?? 0;
    let type = control >> 5;
    let cursor = at + 1;
    if (type === 1) {
      const target = this.pointerTarget(control, cursor);
      const [value] = this.decode(target[0]);
      return [value, target[1]];
    }
    if (type === 0) {
      type = (buf[cursor] ?? 0) + 7;
      cursor++;
      if (type < 8) throw new MmdbFormatError(`invalid extended type at ${at}`);
    }
    let size = control & 0x1f;
    if (size === 29) {
      size = 29 + (buf[cursor] ?? 0);
      cursor += 1;
    } else if (size === 30) {
      size = 285 + buf.readUInt16BE(cursor);
      cursor += 2;
    } else if (size === 31) {
      size = 65821 + buf.readUIntBE(cursor, 3);
      cursor += 3;
    }
    return type === 7 || type === 11 ? this.container(type, size, cursor) : this.scalar(type, size, cursor, at);
  }

  /** A map (7) or an array (11) of `size` entries starting at `cursor`. */
  private container(type: number, size: number, cursor: number): [MmdbValue, number] {
    if (type === 11) {
      const items: MmdbValue[] = [];
      for (let i = 0; i < size; i++) {
        const [value, after] = this.decode(cursor);
        items.push(value);
        cursor = after;
      }
      return [items, cursor];
    }
    const map: { [key: string]: MmdbValue } = {};
    for (let i = 0; i < size; i++) {
      const [key, afterKey] = this.decode(cursor);
      if (typeof key !== 'string') throw new MmdbFormatError(`map key at ${cursor} is not a string`);
      const [value, afterValue] = this.decode(afterKey);
      map[key] = value;
      cursor = afterValue;
    }
    return [map, cursor];
  }

  /** Every type that is not a container; `at` is the field's own offset, for messages. */
  private scalar(type: number, size: number, cursor: number, at: number): [MmdbValue, number] {
    const buf = this.buf;
    const end = cursor + size;
    switch (type) {
      case 2:
        return [buf.toString('utf8', cursor, end), end];
      case 3:
        if (size !== 8) throw new MmdbFormatError(`double of size ${size} at ${at}`);
        return [buf.readDoubleBE(cursor), end];
      case 4:
        return [new Uint8Array(buf.subarray(cursor, end)), end];
      case 5:
      case 6:
        if (size > 4) throw new MmdbFormatError(`unsigned int of size ${size} at ${at}`);
        return [size === 0 ? 0 : buf.readUIntBE(cursor, size), end];
      case 8:
        if (size > 4) throw new MmdbFormatError(`int32 of size ${size} at ${at}`);
        return [size === 0 ? 0 : (buf.readUIntBE(cursor, size) << ((4 - size) * 8)) >> ((4 - size) * 8), end];
      case 9:
      case 10: {
        let value = 0n;
        for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(buf[cursor + i] ?? 0);
        return [value, end];
      }
      case 14:
        return [size !== 0, cursor];
      case 15:
        if (size !== 4) throw new MmdbFormatError(`float of size ${size} at ${at}`);
        return [buf.readFloatBE(cursor), end];
      default:
        throw new MmdbFormatError(`unsupported data type ${type} at ${at}`);
    }
  }

  /** Absolute offset a pointer refers to, and the offset just after the pointer itself. */
  private pointerTarget(control: number, cursor: number): [number, number] {
    const buf = this.buf;
    const sizeBits = (control >> 3) & 0x3;
    const high = control & 0x7;
    let value: number;
    if (sizeBits === 0) {
      value = high * 256 + (buf[cursor] ?? 0);
      cursor += 1;
    } else if (sizeBits === 1) {
      value = high * 65536 + buf.readUInt16BE(cursor) + 2048;
      cursor += 2;
    } else if (sizeBits === 2) {
      value = high * 16777216 + buf.readUIntBE(cursor, 3) + 526336;
      cursor += 3;
    } else {
      value = buf.readUInt32BE(cursor);
      cursor += 4;
    }
    return [this.base + value, cursor];
  }
}

function findMetadataStart(buf: Buffer): number {
  const searchFrom = Math.max(0, buf.length - METADATA_MAX_BYTES);
  const at = buf.lastIndexOf(METADATA_MARKER);
  if (at < searchFrom || at < 0) throw new MmdbFormatError('no MaxMind DB metadata marker in the last 128 KiB');
  return at + METADATA_MARKER.length;
}

type MmdbMap = { [key: string]: MmdbValue };

function requireNumber(map: MmdbMap, key: string): number {
  const value = map[key];
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new MmdbFormatError(`metadata ${key} is missing or not a number`);
}

function stringMap(value: MmdbValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    for (const [key, text] of Object.entries(value)) if (typeof text === 'string') out[key] = text;
  }
  return out;
}

/** Reads and checks the metadata map at the end of a database file. */
export function parseMetadata(buf: Buffer): MmdbMetadata {
  const start = findMetadataStart(buf);
  const [raw] = new FieldDecoder(buf, start, buf.length).decode(start);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new MmdbFormatError('metadata is not a map');
  }
  const recordSize = requireNumber(raw, 'record_size');
  if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) {
    throw new MmdbFormatError(`record_size ${recordSize} is not supported (24, 28 or 32)`);
  }
  const ipVersion = requireNumber(raw, 'ip_version');
  if (ipVersion !== 4 && ipVersion !== 6) throw new MmdbFormatError(`ip_version ${ipVersion} is not 4 or 6`);
  const languages = Array.isArray(raw['languages'])
    ? raw['languages'].filter((entry): entry is string => typeof entry === 'string')
    : [];
  const databaseType = raw['database_type'];
  const published = raw[FEEDS_PUBLISHED_KEY];
  return {
    nodeCount: requireNumber(raw, 'node_count'),
    recordSize,
    ipVersion,
    databaseType: typeof databaseType === 'string' ? databaseType : '',
    languages,
    binaryFormatMajorVersion: requireNumber(raw, 'binary_format_major_version'),
    binaryFormatMinorVersion: requireNumber(raw, 'binary_format_minor_version'),
    buildEpoch: new Date(requireNumber(raw, 'build_epoch') * 1000),
    description: stringMap(raw['description']),
    ...(typeof published === 'bigint' || typeof published === 'number' ? { feedsPublishedAt: new Date(Number(published) * 1000) } : {}),
  };
}
