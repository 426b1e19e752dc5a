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
import type { NetworkBytes } from './cidr.js';
import { isMappedIPv4, parseIPv4, parseIPv6Into, type IpFamily } from './ip.js';

/** One network of one owner (a bucket, by its index) covering a range. */
export interface PrefixMatch {
  readonly owner: number;
  /** In the 128-bit space: an IPv4 /24 is 120, so IPv4 and IPv6 lengths compare. */
  readonly prefixLength: number;
}

export interface PrefixEntry {
  readonly cidr: NetworkBytes;
  readonly owner: number;
}

/** No network contains the address. */
export const NO_GROUP = -1;
const NO_CHAIN = -1;

/** Big-endian 32-bit word `w` (0..3) of 16 bytes. */
function wordAt(bytes: Uint8Array, w: number): number {
  return (((bytes[w * 4] as number) << 24) | ((bytes[w * 4 + 1] as number) << 16) | ((bytes[w * 4 + 2] as number) << 8) | (bytes[w * 4 + 3] as number)) >>> 0;
}

/** The host bits of word `w` (0..3) of a network `prefixLength` long in 128 bits. */
function hostWord(prefixLength: number, w: number): number {
  const bits = Math.min(32, Math.max(0, prefixLength - w * 32));
  return bits === 32 ? 0 : 0xffffffff >>> bits;
}

/** Whether an IPv6 network contains every IPv4-mapped address (`::ffff:0:0/96`). */
function holdsMappedSpace(cidr: NetworkBytes): boolean {
  if (cidr.prefixLength > 96) return false;
  const mapped = [0, 0, 0xffff];
  return mapped.every((word, w) => ((word & ~hostWord(cidr.prefixLength, w)) >>> 0) === wordAt(cidr.bytes, w));
}

/**
 * The networks of one address family as ranges of `width` 32-bit words: span `i` runs from
 * `starts[i * width ...]` to `lasts[i * width ...]`, both included (an exclusive end of the
 * last range would need a 129th bit).
 */
interface Spans {
  readonly width: number;
  readonly starts: number[];
  readonly lasts: number[];
  readonly matches: PrefixMatch[];
}

function spansOf(entries: readonly PrefixEntry[], matches: readonly PrefixMatch[], family: IpFamily): Spans {
  const width = family === 'ipv4' ? 1 : 4;
  const spans: Spans = { width, starts: [], lasts: [], matches: [] };
  entries.forEach(({ cidr }, i) => {
    if (family === 'ipv4' && cidr.family === 'ipv4') {
      const start = wordAt(cidr.bytes, 3);
      spans.starts.push(start);
      spans.lasts.push((start | hostWord(cidr.prefixLength, 3)) >>> 0);
    } else if (family === 'ipv4' && holdsMappedSpace(cidr)) {
      spans.starts.push(0);
      spans.lasts.push(0xffffffff);
    } else if (family === 'ipv6' && cidr.family === 'ipv6') {
      for (let w = 0; w < 4; w++) spans.starts.push(wordAt(cidr.bytes, w));
      for (let w = 0; w < 4; w++) spans.lasts.push((wordAt(cidr.bytes, w) | hostWord(cidr.prefixLength, w)) >>> 0);
    } else return;
    spans.matches.push(matches[i] as PrefixMatch);
  });
  return spans;
}

/** -1, 0 or 1 as `a[ai ...]` is below, equal to or above `b[bi ...]`, over `width` words. */
function compareWords(a: readonly number[], ai: number, b: readonly number[], bi: number, width: number): number {
  for (let w = 0; w < width; w++) {
    const x = a[ai + w] as number;
    const y = b[bi + w] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Span indices by start, outer networks first at a shared start (so the sweep nests them), then entry order. */
function sortedSpans({ width, starts, matches }: Spans): number[] {
  const order = matches.map((_, i) => i);
  return order.sort((a, b) => compareWords(starts, a * width, starts, b * width, width) || (matches[a] as PrefixMatch).prefixLength - (matches[b] as PrefixMatch).prefixLength || a - b);
}

/**
 * The chains of nested networks: a chain is a network inside its parent chain, interned so
 * that two ranges covered by the same owners and lengths, outermost first, share one chain
 * (and so one group) without building a key per range.
 */
class Chains {
  readonly parent: number[] = [];
  readonly match: PrefixMatch[] = [];
  private readonly ids = new Map<string, number>();

  of(parent: number, match: PrefixMatch): number {
    const key = `${parent},${match.owner},${match.prefixLength}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.parent.length;
      this.parent.push(parent);
      this.match.push(match);
      this.ids.set(key, id);
    }
    return id;
  }

  /** Every network of a chain, outermost first. */
  cover(chain: number): PrefixMatch[] {
    const cover: PrefixMatch[] = [];
    for (let at = chain; at !== NO_CHAIN; at = this.parent[at] as number) cover.push(this.match[at] as PrefixMatch);
    return cover.reverse();
  }
}

/** Range starts (`width` words each) and, per range, the chain covering it (NO_CHAIN: none). */
interface Ranges {
  readonly starts: number[];
  readonly chains: number[];
}

/** Sweeps the sorted spans into non-overlapping ranges. */
function sweep(spans: Spans, chains: Chains): Ranges {
  const { width, starts, lasts, matches } = spans;
  const ranges: Ranges = { starts: [], chains: [] };
  const position = new Array<number>(width).fill(0);
  const mark = (chain: number): void => {
    const count = ranges.chains.length;
    if (count > 0 && compareWords(ranges.starts, (count - 1) * width, position, 0, width) === 0) ranges.chains[count - 1] = chain;
    else {
      ranges.starts.push(...position);
      ranges.chains.push(chain);
    }
  };
  mark(NO_CHAIN);
  const order = sortedSpans(spans);
  const open: number[] = [];
  const openChains: number[] = [];
  const spaceLast = new Array<number>(width).fill(0xffffffff);
  for (let next = 0; next < order.length || open.length > 0; ) {
    const inner = open.length > 0 ? (open[open.length - 1] as number) : -1;
    const innerLasts = inner < 0 ? spaceLast : lasts;
    const innerAt = inner < 0 ? 0 : inner * width;
    const span = order[next];
    if (span !== undefined && compareWords(starts, span * width, innerLasts, innerAt, width) <= 0) {
      open.push(span);
      openChains.push(chains.of(openChains[openChains.length - 1] ?? NO_CHAIN, matches[span] as PrefixMatch));
      for (let w = 0; w < width; w++) position[w] = starts[span * width + w] as number;
      mark(openChains[openChains.length - 1] as number);
      next++;
      continue;
    }
    for (let w = 0; w < width; w++) position[w] = innerLasts[innerAt + w] as number;
    while (open.length > 0 && compareWords(lasts, (open[open.length - 1] as number) * width, position, 0, width) === 0) {
      open.pop();
      openChains.pop();
    }
    // The next range starts after the inner network's last address, unless that ends the space.
    if (increment(position)) mark(openChains[openChains.length - 1] ?? NO_CHAIN);
  }
  return ranges;
}

/** Adds one to a number held as big-endian words; false when it wraps past the top. */
function increment(words: number[]): boolean {
  for (let w = words.length - 1; w >= 0; w--) {
    const value = ((words[w] as number) + 1) >>> 0;
    words[w] = value;
    if (value !== 0) return true;
  }
  return false;
}

/** Ranges of one address family: starts as 32-bit words (one for IPv4, four for IPv6). */
interface FamilyTable {
  readonly words: Uint32Array;
  readonly groupOf: Int32Array;
  readonly count: number;
}

/** The ranges as typed arrays, each naming its group; a chain becomes a group when a range first uses it. */
function compile(spans: Spans, chains: Chains, groups: PrefixMatch[][], groupOfChain: Map<number, number>): FamilyTable {
  const { width } = spans;
  const ranges = sweep(spans, chains);
  const words = new Uint32Array(ranges.chains.length * width);
  const groupOf = new Int32Array(ranges.chains.length);
  let count = 0;
  ranges.chains.forEach((chain, i) => {
    let group = chain === NO_CHAIN ? NO_GROUP : groupOfChain.get(chain);
    if (group === undefined) {
      group = groups.length;
      groups.push(chains.cover(chain));
      groupOfChain.set(chain, group);
    }
    // Neighbouring ranges covered alike are one range.
    if (count > 0 && groupOf[count - 1] === group) return;
    for (let w = 0; w < width; w++) words[count * width + w] = ranges.starts[i * width + w] as number;
    groupOf[count++] = group;
  });
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
    const chains = new Chains();
    const groupOfChain = new Map<number, number>();
    // One match per entry, shared by both families (an IPv6 network over the mapped space is in both).
    const matches = entries.map(({ cidr, owner }): PrefixMatch => Object.freeze({ owner, prefixLength: cidr.prefixLength }));
    this.v4 = compile(spansOf(entries, matches, 'ipv4'), chains, groups, groupOfChain);
    this.v6 = compile(spansOf(entries, matches, 'ipv6'), chains, groups, groupOfChain);
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
