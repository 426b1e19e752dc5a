import { BoundedMemo, detached, MAP_ENTRY_BYTES, stringBytes } from '../cache-figures.js';
import { parseNetwork } from '../net/cidr.js';
import type { IpFamily } from '../net/ip.js';
import { NO_GROUP, PrefixTable, type PrefixEntry, type PrefixMatch } from '../net/prefix-table.js';
import type { Candidate } from './candidates.js';
import type { PlannedBucket } from './plan.js';

/**
 * The `networks` rules of every bucket compiled into one prefix table per runtime generation.
 * A client's network candidates are the buckets whose networks contain it, the longest
 * matching prefix first, then configuration order; each distinct answer is built once, here,
 * and shared by every client it applies to.
 */
export interface NetworkRouting {
  readonly table: PrefixTable;
  /** Per table group: its buckets as candidates, best first. */
  readonly candidates: readonly (readonly Candidate[])[];
  /**
   * Per table group: the last location list its candidates were merged with, and the merge.
   * Clients of one network (an office, a data centre) mostly share a location, so one entry
   * per group answers them without allocating, and the memory is bounded by the groups.
   */
  readonly lastLocation: (readonly Candidate[] | undefined)[];
  readonly lastMerged: (readonly Candidate[] | undefined)[];
  /** Client address → table group: the last step a repeat client skips. */
  readonly groupByAddress: BoundedMemo<number>;
}

const MAX_REMEMBERED_ADDRESSES = 4096;
/** Beyond the slot and key the memo charges itself: a small integer. */
const GROUP_BYTES = 8;
/** The longest key: an IPv6 address in full text. */
const ADDRESS_KEY_BYTES = stringBytes('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');

/** Orders the buckets covering one range: longest prefix of each first, then configuration order. */
export function orderByPrefix(cover: readonly PrefixMatch[]): number[] {
  // Most ranges are covered by one network: 10,000 of them are compiled per load.
  if (cover.length === 1) return [(cover[0] as PrefixMatch).owner];
  const longest = new Map<number, number>();
  for (const match of cover) longest.set(match.owner, Math.max(longest.get(match.owner) ?? -1, match.prefixLength));
  return [...longest.keys()].sort((a, b) => (longest.get(b) as number) - (longest.get(a) as number) || a - b);
}

/** Compiles every bucket's networks; each group's list is cut at `maxCandidates` (`blobs.candidates`). */
export function compileNetworks(buckets: readonly PlannedBucket[], maxCandidates: number): NetworkRouting {
  const entries: PrefixEntry[] = [];
  buckets.forEach((bucket, owner) => {
    for (const text of bucket.config.networks) {
      const cidr = parseNetwork(text);
      if (cidr !== undefined) entries.push({ cidr, owner });
    }
  });
  const table = new PrefixTable(entries);
  // One candidate object per bucket, shared by every group it is in.
  const asCandidate = buckets.map((bucket): Candidate => Object.freeze({ bucket, reason: 'network' }));
  const candidates = table.groups.map((cover) => Object.freeze(orderByPrefix(cover).slice(0, maxCandidates).map((owner) => asCandidate[owner] as Candidate)));
  return {
    table,
    candidates,
    lastLocation: candidates.map(() => undefined),
    lastMerged: candidates.map(() => undefined),
    groupByAddress: new BoundedMemo<number>(MAX_REMEMBERED_ADDRESSES, MAX_REMEMBERED_ADDRESSES * (MAP_ENTRY_BYTES + ADDRESS_KEY_BYTES + GROUP_BYTES), () => GROUP_BYTES),
  };
}

/** The table group of a client's address, remembered for repeat clients. */
export function networkGroup(routing: NetworkRouting, ip: string, family: IpFamily): number {
  const known = routing.groupByAddress.get(ip);
  if (known !== undefined) return known;
  const group = routing.table.lookup(ip, family);
  // The address may be cut from a long header: remember a copy of its own.
  routing.groupByAddress.set(detached(ip), group);
  return group;
}

export { NO_GROUP };
