/**
 * A small MaxMind DB (format 2.x) reader.
 *
 * The `maxmind` package reads these files correctly, but a lookup through it costs about a
 * microsecond (string splitting, per-bit helper calls) and the serving path needs two lookups
 * plus a bucket choice within 2 µs. This reader walks the search tree straight from the
 * buffer with the address already parsed, and it can enumerate every network, which
 * `geo update` needs to compact the city databases. The tests check it against `maxmind`.
 *
 * Spec: MaxMind DB File Format Specification v2.0 (https://maxmind.github.io/MaxMind-DB/).
 */
import { readFile } from 'node:fs/promises';
import { parseIPv4, parseIPv6Into } from '../net/ip.js';

export type MmdbValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | MmdbValue[]
  | { [key: string]: MmdbValue };

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
}

const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
const METADATA_MAX_BYTES = 128 * 1024;
const DATA_SEPARATOR_BYTES = 16;

/** Reports a malformed database; the message names the offset so broken files can be inspected. */
export class MmdbFormatError extends Error {
  override name = 'MmdbFormatError';
}

/** Decodes one field of the data section format; `base` is where pointers count from. */
class FieldDecoder {
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
    switch (type) {
      case 2:
        return [buf.toString('utf8', cursor, cursor + size), cursor + size];
      case 3:
        if (size !== 8) throw new MmdbFormatError(`double of size ${size} at ${at}`);
        return [buf.readDoubleBE(cursor), cursor + 8];
      case 4:
        return [new Uint8Array(buf.subarray(cursor, cursor + size)), cursor + size];
      case 5:
      case 6:
        if (size > 4) throw new MmdbFormatError(`unsigned int of size ${size} at ${at}`);
        return [size === 0 ? 0 : buf.readUIntBE(cursor, size), cursor + size];
      case 7: {
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
      case 8:
        if (size > 4) throw new MmdbFormatError(`int32 of size ${size} at ${at}`);
        return [size === 0 ? 0 : (buf.readUIntBE(cursor, size) << ((4 - size) * 8)) >> ((4 - size) * 8), cursor + size];
      case 9:
      case 10: {
        let value = 0n;
        for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(buf[cursor + i] ?? 0);
        return [value, cursor + size];
      }
      case 11: {
        const items: MmdbValue[] = [];
        for (let i = 0; i < size; i++) {
          const [value, after] = this.decode(cursor);
          items.push(value);
          cursor = after;
        }
        return [items, cursor];
      }
      case 14:
        return [size !== 0, cursor];
      case 15:
        if (size !== 4) throw new MmdbFormatError(`float of size ${size} at ${at}`);
        return [buf.readFloatBE(cursor), cursor + 4];
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

function requireNumber(map: { [key: string]: MmdbValue }, key: string): number {
  const value = map[key];
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new MmdbFormatError(`metadata ${key} is missing or not a number`);
}

function parseMetadata(buf: Buffer): MmdbMetadata {
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
  const description: Record<string, string> = {};
  const rawDescription = raw['description'];
  if (rawDescription && typeof rawDescription === 'object' && !Array.isArray(rawDescription)) {
    for (const [language, text] of Object.entries(rawDescription)) {
      if (typeof text === 'string') description[language] = text;
    }
  }
  const languages = Array.isArray(raw['languages'])
    ? raw['languages'].filter((entry): entry is string => typeof entry === 'string')
    : [];
  const databaseType = raw['database_type'];
  return {
    nodeCount: requireNumber(raw, 'node_count'),
    recordSize,
    ipVersion,
    databaseType: typeof databaseType === 'string' ? databaseType : '',
    languages,
    binaryFormatMajorVersion: requireNumber(raw, 'binary_format_major_version'),
    binaryFormatMinorVersion: requireNumber(raw, 'binary_format_minor_version'),
    buildEpoch: new Date(requireNumber(raw, 'build_epoch') * 1000),
    description,
  };
}

/** One network of the tree, as enumerated by `MmdbReader.networks()`. */
export interface MmdbNetwork {
  /** 16 bytes in the IPv6 space (an ip_version 4 database is reported at ::/96). */
  bytes: Uint8Array;
  prefixLength: number;
  /** Absolute file offset of the network's data, for `decodeAt` (equal offsets = equal data). */
  dataOffset: number;
}

export class MmdbReader {
  readonly metadata: MmdbMetadata;
  private readonly buf: Buffer;
  private readonly nodeCount: number;
  private readonly treeBytes: number;
  private readonly dataStart: number;
  private readonly decoder: FieldDecoder;
  /** Node where IPv4 lookups start: the end of the ::/96 path in an IPv6 tree. */
  private readonly ipv4Start: number;
  private readonly ipv4StartDepth: number;
  private readonly scratch = new Uint8Array(16);

  constructor(buf: Buffer) {
    this.buf = buf;
    this.metadata = parseMetadata(buf);
    if (this.metadata.binaryFormatMajorVersion !== 2) {
      throw new MmdbFormatError(`binary format ${this.metadata.binaryFormatMajorVersion}.x is not supported`);
    }
    this.nodeCount = this.metadata.nodeCount;
    this.treeBytes = (this.metadata.recordSize / 4) * this.nodeCount;
    this.dataStart = this.treeBytes + DATA_SEPARATOR_BYTES;
    if (this.dataStart > buf.length) throw new MmdbFormatError('search tree is larger than the file');
    this.decoder = new FieldDecoder(buf, this.dataStart, buf.length);
    let node = 0;
    let depth = 0;
    if (this.metadata.ipVersion === 6) {
      for (; depth < 96 && node < this.nodeCount; depth++) node = this.record(node, 0);
    }
    this.ipv4Start = node;
    this.ipv4StartDepth = depth;
  }

  static async open(path: string): Promise<MmdbReader> {
    return new MmdbReader(await readFile(path));
  }

  /** Size of the file held in memory. */
  get byteLength(): number {
    return this.buf.length;
  }

  /** The record `side` (0 left, 1 right) of `node`. */
  private record(node: number, side: number): number {
    const buf = this.buf;
    switch (this.metadata.recordSize) {
      case 24: {
        const at = node * 6 + side * 3;
        return ((buf[at] ?? 0) << 16) | ((buf[at + 1] ?? 0) << 8) | (buf[at + 2] ?? 0);
      }
      case 28: {
        const at = node * 7;
        if (side === 0) {
          return ((((buf[at + 3] ?? 0) & 0xf0) << 20) | ((buf[at] ?? 0) << 16) | ((buf[at + 1] ?? 0) << 8) | (buf[at + 2] ?? 0)) >>> 0;
        }
        return ((((buf[at + 3] ?? 0) & 0x0f) << 24) | ((buf[at + 4] ?? 0) << 16) | ((buf[at + 5] ?? 0) << 8) | (buf[at + 6] ?? 0)) >>> 0;
      }
      default:
        return buf.readUInt32BE(node * 8 + side * 4);
    }
  }

  /** Turns a terminal record into an absolute data offset, or -1 for "no data". */
  private terminal(record: number): number {
    if (record === this.nodeCount) return -1;
    const offset = record - this.nodeCount + this.treeBytes;
    if (offset < this.dataStart || offset >= this.buf.length) {
      throw new MmdbFormatError(`search tree record ${record} points outside the data section`);
    }
    return offset;
  }

  /** Data offset for a 32-bit IPv4 address, or -1. */
  findIPv4(address: number): number {
    const nodeCount = this.nodeCount;
    let node = this.ipv4Start;
    for (let bit = 31; bit >= 0 && node < nodeCount; bit--) {
      node = this.record(node, (address >>> bit) & 1);
    }
    return node >= nodeCount ? this.terminal(node) : -1;
  }

  /** Data offset for a 16-byte IPv6 address, or -1 (always -1 in an ip_version 4 database). */
  findIPv6(bytes: Uint8Array): number {
    if (this.metadata.ipVersion === 4) return -1;
    const nodeCount = this.nodeCount;
    let node = 0;
    for (let bit = 0; bit < 128 && node < nodeCount; bit++) {
      node = this.record(node, ((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1);
    }
    return node >= nodeCount ? this.terminal(node) : -1;
  }

  /** Data offset for an address in text form, or -1 (also for text that is not an address). */
  find(ip: string): number {
    if (ip.includes(':')) {
      return parseIPv6Into(ip, this.scratch) ? this.findIPv6(this.scratch) : -1;
    }
    const v4 = parseIPv4(ip);
    return v4 < 0 ? -1 : this.findIPv4(v4);
  }

  /** The decoded value stored at an offset returned by `find*` or `networks()`. */
  decodeAt(offset: number): MmdbValue {
    return this.decoder.decode(offset)[0];
  }

  /** Convenience lookup: the decoded record for `ip`, or null. */
  get(ip: string): MmdbValue | null {
    const offset = this.find(ip);
    return offset < 0 ? null : this.decodeAt(offset);
  }

  /**
   * Every network that has data, in address order. Subtrees reached a second time are
   * skipped: that is how writers alias ::ffff:0:0/96 and 2002::/16 to the IPv4 subtree, and
   * reporting those again would triple every IPv4 network. The yielded `bytes` buffer is
   * reused: copy it if you keep it past the next iteration.
   */
  *networks(): Generator<MmdbNetwork> {
    const nodeCount = this.nodeCount;
    const seen = new Uint8Array(Math.ceil(nodeCount / 8));
    const bytes = new Uint8Array(16);
    const rootDepth = this.metadata.ipVersion === 4 ? 96 : 0;
    // Pending records as parallel stacks: the record value and (prefix length << 1 | side).
    // In a depth-first walk the current `bytes` holds the parent's prefix whenever a record
    // is popped, so only the record's own last bit needs writing and deeper bits clearing.
    const records: number[] = [];
    const places: number[] = [];
    const pushChildren = (node: number, depth: number): void => {
      records.push(this.record(node, 1), this.record(node, 0));
      places.push(((depth + 1) << 1) | 1, (depth + 1) << 1);
    };
    seen[0] = 1;
    pushChildren(0, rootDepth);
    while (records.length > 0) {
      const record = records.pop() ?? nodeCount;
      const place = places.pop() ?? 0;
      const length = place >> 1;
      setPrefixBit(bytes, length - 1, place & 1);
      if (record < nodeCount) {
        if ((seen[record >> 3] ?? 0) & (1 << (record & 7))) continue;
        seen[record >> 3] = (seen[record >> 3] ?? 0) | (1 << (record & 7));
        if (length >= 128) throw new MmdbFormatError(`search tree deeper than 128 bits at node ${record}`);
        pushChildren(record, length);
      } else if (record > nodeCount) {
        yield { bytes, prefixLength: length, dataOffset: this.terminal(record) };
      }
    }
  }
}

/** Sets bit `bit` of the prefix to `value` and clears every bit after it. */
function setPrefixBit(bytes: Uint8Array, bit: number, value: number): void {
  const byteIndex = bit >> 3;
  const keepMask = (0xff00 >> (bit & 7)) & 0xff;
  let byte = (bytes[byteIndex] ?? 0) & keepMask;
  if (value) byte |= 0x80 >> (bit & 7);
  bytes[byteIndex] = byte;
  for (let i = byteIndex + 1; i < 16; i++) bytes[i] = 0;
}
