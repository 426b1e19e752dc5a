/**
 * The pipeline's verifying MaxMind DB (format 2.x) reader: `geo update` reads every database it
 * writes back through it before the file may replace one a server is using, and enumerates the
 * city databases' networks with it to compact them (the `maxmind` package cannot list networks).
 * The server itself looks addresses up through `maxmind` (src/geo/locator.ts). The tests check
 * this reader against `maxmind` and libmaxminddb.
 *
 * Spec: MaxMind DB File Format Specification v2.0 (https://maxmind.github.io/MaxMind-DB/).
 */
import { readFile } from 'node:fs/promises';
import { FieldDecoder, MmdbFormatError, parseMetadata, type MmdbMetadata, type MmdbValue } from '../../src/geo/mmdb-format.js';
import { parseIPv4, parseIPv6Into } from '../../src/net/ip.js';

const DATA_SEPARATOR_BYTES = 16;

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
    if (this.metadata.ipVersion === 6) {
      for (let depth = 0; depth < 96 && node < this.nodeCount; depth++) node = this.record(node, 0);
    }
    this.ipv4Start = node;
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
