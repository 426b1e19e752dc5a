/**
 * Which of many networks contain an address, answered in O(log n) with no allocation: every
 * network of every bucket is compiled once per runtime generation into sorted, non-overlapping
 * ranges, each naming the group of networks that covers it. CIDRs never partly overlap (two
 * are nested or disjoint), so one sweep over them sorted by start then length gives at most
 * 2n + 1 ranges, and a lookup is one binary search over typed arrays.
 *
 * Why ranges and not a trie: a binary search over 20,000 range starts is ~15 steps over one
 * contiguous typed array, where a bit trie walks up to 32 (IPv4) or 128 (IPv6) nodes; a
 * path-compressed trie narrows that but costs a node object per prefix and pointer chasing.
 * The bench (`bench/scale.js`) measures this lookup flat in the number of networks.
 *
 * IPv4 clients are looked up in a 32-bit table; an IPv6 network holding all of
 * `::ffff:0:0/96` (such as `::/0`) contains every IPv4 client, as in NetworkSet, and sits
 * in that table as a network over all of it, ranked by its 128-bit length.
 */
import type { Cidr } from './cidr.js';
import { isMappedIPv4, parseIPv4, parseIPv6Into, type IpFamily } from './ip.js';

/** One network of one owner (a bucket, by its index) covering a range. */
export interface PrefixMatch {
  readonly owner: number;
  /** In the 128-bit space: an IPv4 /24 is 120, so IPv4 and IPv6 lengths compare. */
  readonly prefixLength: number;
}

export interface PrefixEntry {
  readonly cidr: Cidr;
  readonly owner: number;
}

/** No network contains the address. */
export const NO_GROUP = -1;

interface Span {
  start: bigint;
  end: bigint;
  match: PrefixMatch;
}

const V4_SPACE = 1n << 32n;
const V6_SPACE = 1n << 128n;

function bigOf(bytes: Uint8Array, from: number): bigint {
  let value = 0n;
  for (let i = from; i < 16; i++) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

/** Whether an IPv6 network contains every IPv4-mapped address. */
function holdsMappedSpace(cidr: Cidr): boolean {
  if (cidr.prefixLength > 96) return false;
  const start = bigOf(cidr.bytes, 0);
  const size = 1n << BigInt(128 - cidr.prefixLength);
  const mapped = 0xffffn << 32n;
  return mapped >= start && mapped < start + size;
}

function spansOf(entries: readonly PrefixEntry[], family: IpFamily): Span[] {
  const spans: Span[] = [];
  for (const { cidr, owner } of entries) {
    const match: PrefixMatch = Object.freeze({ owner, prefixLength: cidr.prefixLength });
    if (family === 'ipv4' && cidr.family === 'ipv4') {
      const start = bigOf(cidr.bytes, 12);
      spans.push({ start, end: start + (1n << BigInt(32 - cidr.prefix)), match });
    } else if (family === 'ipv4' && holdsMappedSpace(cidr)) {
      spans.push({ start: 0n, end: V4_SPACE, match });
    } else if (family === 'ipv6' && cidr.family === 'ipv6') {
      const start = bigOf(cidr.bytes, 0);
      spans.push({ start, end: start + (1n << BigInt(128 - cidr.prefix)), match });
    }
  }
  // Outer networks first at a shared start, so the sweep nests them; ties keep entry order.
  return spans.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.match.prefixLength - b.match.prefixLength));
}

/** Range starts and, for each range, the networks covering it (outermost first). */
function sweep(spans: readonly Span[], space: bigint): { starts: bigint[]; covers: PrefixMatch[][] } {
  const starts: bigint[] = [];
  const covers: PrefixMatch[][] = [];
  const open: Span[] = [];
  const mark = (at: bigint): void => {
    const cover = open.map((span) => span.match);
    if (starts.length > 0 && starts[starts.length - 1] === at) covers[covers.length - 1] = cover;
    else if (at < space) {
      starts.push(at);
      covers.push(cover);
    }
  };
  mark(0n);
  let next = 0;
  while (next < spans.length || open.length > 0) {
    const innerEnd = open.length > 0 ? (open[open.length - 1] as Span).end : space;
    const span = spans[next];
    if (span !== undefined && span.start < innerEnd) {
      open.push(span);
      next++;
      mark(span.start);
    } else {
      while (open.length > 0 && (open[open.length - 1] as Span).end === innerEnd) open.pop();
      mark(innerEnd);
    }
  }
  return { starts, covers };
}

/** Ranges of one address family: starts as 32-bit words (one for IPv4, four for IPv6). */
interface FamilyTable {
  readonly words: Uint32Array;
  readonly groupOf: Int32Array;
  readonly count: number;
}

function compile(spans: readonly Span[], space: bigint, wordsPerStart: number, groups: PrefixMatch[][], keys: Map<string, number>): FamilyTable {
  const { starts, covers } = sweep(spans, space);
  const words = new Uint32Array(starts.length * wordsPerStart);
  const groupOf = new Int32Array(starts.length);
  let count = 0;
  for (let i = 0; i < starts.length; i++) {
    const cover = covers[i] as PrefixMatch[];
    const key = cover.map((m) => `${m.owner}/${m.prefixLength}`).join(',');
    let group = cover.length === 0 ? NO_GROUP : keys.get(key);
    if (group === undefined) {
      group = groups.length;
      groups.push(cover);
      keys.set(key, group);
    }
    // Neighbouring ranges covered alike are one range.
    if (count > 0 && groupOf[count - 1] === group) continue;
    const start = starts[i] as bigint;
    for (let w = 0; w < wordsPerStart; w++) words[count * wordsPerStart + w] = Number((start >> BigInt(32 * (wordsPerStart - 1 - w))) & 0xffffffffn);
    groupOf[count++] = group;
  }
  return { words, groupOf, count };
}

export class PrefixTable {
  /** For each group, every network covering its ranges, outermost first. */
  readonly groups: readonly (readonly PrefixMatch[])[];
  /** Networks compiled in. */
  readonly size: number;
  private readonly v4: FamilyTable;
  private readonly v6: FamilyTable;
  private readonly address = new Uint8Array(16);
  private readonly view = new DataView(this.address.buffer);

  constructor(entries: readonly PrefixEntry[]) {
    const groups: PrefixMatch[][] = [];
    const keys = new Map<string, number>();
    this.v4 = compile(spansOf(entries, 'ipv4'), V4_SPACE, 1, groups, keys);
    this.v6 = compile(spansOf(entries, 'ipv6'), V6_SPACE, 4, groups, keys);
    this.groups = groups;
    this.size = entries.length;
  }

  /** Bytes the compiled ranges hold (the groups' small arrays aside). */
  get bytes(): number {
    return this.v4.words.byteLength + this.v4.groupOf.byteLength + this.v6.words.byteLength + this.v6.groupOf.byteLength;
  }

  /** The group of networks containing a valid address of `family`, or NO_GROUP. */
  lookup(address: string, family: IpFamily): number {
    if (this.size === 0) return NO_GROUP;
    if (family === 'ipv4') return this.lookupIPv4(parseIPv4(address));
    if (!parseIPv6Into(address, this.address)) return NO_GROUP;
    // A mapped address that skipped normalisation still means its IPv4 address.
    if (isMappedIPv4(this.address)) return this.lookupIPv4(this.view.getUint32(12));
    return this.lookupIPv6();
  }

  private lookupIPv4(value: number): number {
    if (value < 0) return NO_GROUP;
    const { words, groupOf } = this.v4;
    // The last range starting at or before the address.
    let low = 0;
    let high = this.v4.count - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if ((words[middle] as number) <= value) low = middle;
      else high = middle - 1;
    }
    return groupOf[low] as number;
  }

  private lookupIPv6(): number {
    const { words, groupOf } = this.v6;
    const view = this.view;
    let low = 0;
    let high = this.v6.count - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      let at = 0;
      let cmp = 0;
      while (cmp === 0 && at < 4) {
        const ours = view.getUint32(at * 4);
        const theirs = words[middle * 4 + at] as number;
        cmp = ours === theirs ? 0 : ours > theirs ? 1 : -1;
        at++;
      }
      if (cmp >= 0) low = middle;
      else high = middle - 1;
    }
    return groupOf[low] as number;
  }
}
