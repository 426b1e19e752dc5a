/**
 * The binary search tree of a MaxMind DB file while it is being built: one IPv6 tree
 * (ip_version 6) with IPv4 networks at ::/96 ("IPv4-compatible"), where every MaxMind reader
 * starts an IPv4 lookup.
 *
 * - Longest prefix wins whatever the insertion order: inserting 10.0.0.0/8 after 10.1.0.0/16
 *   fills only the parts of the /8 that no longer prefix claimed.
 * - `canonicalize` merges sibling networks with equal records (and, with a lossy policy,
 *   close records) into their parent; `aliasIPv4` points ::ffff:0:0/96 and 2002::/16 at the
 *   IPv4 subtree; `layout` numbers the nodes as they are written to the file.
 */

const EMPTY = 0;
/** 2^31 / 256: leaf slots pack (dataId, prefix length) into a negative int32. */
export const MAX_DATA_IDS = 8_388_607;

/** What the tree asks about records; it only knows their ids. */
export interface TreePolicy {
  /** Two records for exactly the same network: whether the incoming one replaces the other. */
  preferIncoming(existingId: number, incomingId: number): boolean;
  /** Lossy merging: distance between two records (a metric; Infinity = never merge), with its bound. */
  lossy?: { distance: (leftId: number, rightId: number) => number; maxError: number };
}

/** The tree's nodes in file order (depth-first, root first) and the records in order of first use. */
export interface TreeLayout {
  nodeCount: number;
  /** Node index → its number in the file. */
  numberOf: Int32Array;
  /** Number in the file → node index. */
  order: Int32Array;
  recordOrder: number[];
}

export class SearchTree {
  /**
   * Node n has slots 2n (bit 0) and 2n+1 (bit 1). A slot is EMPTY, a node index (> 0; node 0
   * is the root and never a child), or a leaf: -(dataId * 256 + prefixLength) - 1 while
   * inserting (the prefix length is what lets a later, shorter insert tell it must not
   * overwrite), -(dataId + 1) after `canonicalize`.
   */
  private slots = new Int32Array(1 << 12);
  private nodes = 1;
  /** Node at the end of the ::/96 path, cached so IPv4 inserts skip 96 steps. */
  private ipv4Root = -1;
  /** Error already absorbed by the terminal slot `canonicalNode` returned last (lossy merging). */
  private lastError = 0;

  constructor(private readonly policy: TreePolicy) {}

  /** Inserts a network of the 128-bit space (bits past the prefix are ignored). */
  insert(bytes: Uint8Array, prefixLength: number, dataId: number): void {
    const leaf = -(dataId * 256 + prefixLength) - 1;
    if (prefixLength === 0) {
      this.fill(0, leaf, 0);
      return;
    }
    let node = 0;
    let depth = 0;
    if (prefixLength > 96 && isIPv4Compatible(bytes)) {
      node = this.ensureIPv4Root();
      depth = 96;
    }
    for (; depth < prefixLength - 1; depth++) node = this.descend(node * 2 + bitAt(bytes, depth));
    this.place(node * 2 + bitAt(bytes, prefixLength - 1), leaf, prefixLength);
  }

  /** The value of a slot (see `slots`). */
  slot(index: number): number {
    return this.slots[index] ?? EMPTY;
  }

  /** Lets the slots be collected once the file is written. */
  release(): void {
    this.slots = new Int32Array(0);
  }

  private ensureIPv4Root(): number {
    if (this.ipv4Root >= 0) return this.ipv4Root;
    let node = 0;
    for (let depth = 0; depth < 96; depth++) node = this.descend(node * 2);
    this.ipv4Root = node;
    return node;
  }

  /**
   * The node a slot leads to, created when the slot is empty or holds a shorter network's
   * leaf: the new node starts with that leaf in both halves, so it keeps covering the half
   * the longer network does not take.
   */
  private descend(slot: number): number {
    const current = this.slots[slot] ?? EMPTY;
    if (current > 0) return current;
    const child = this.newNode(current, current);
    this.slots[slot] = child;
    return child;
  }

  private newNode(left: number, right: number): number {
    if ((this.nodes + 1) * 2 > this.slots.length) {
      if (this.slots.length >= 2 ** 30) throw new RangeError('search tree too large');
      // Grow by half rather than doubling: city databases need tens of millions of slots.
      const bigger = new Int32Array(Math.ceil(this.slots.length * 1.5));
      bigger.set(this.slots);
      this.slots = bigger;
    }
    const node = this.nodes++;
    this.slots[node * 2] = left;
    this.slots[node * 2 + 1] = right;
    return node;
  }

  /** Whether `leaf` (of `prefixLength`) goes where `current` is: longer prefixes stay. */
  private replaces(current: number, leaf: number, prefixLength: number): boolean {
    if (current === EMPTY) return true;
    const existingLength = (-current - 1) & 0xff;
    if (existingLength !== prefixLength) return existingLength < prefixLength;
    const existingId = Math.floor((-current - 1) / 256);
    const incomingId = Math.floor((-leaf - 1) / 256);
    return existingId !== incomingId && this.policy.preferIncoming(existingId, incomingId);
  }

  /** Puts `leaf` (for a network of `prefixLength`) into `slot`, respecting longer prefixes. */
  private place(slot: number, leaf: number, prefixLength: number): void {
    const current = this.slots[slot] ?? EMPTY;
    if (current > 0) this.fill(current, leaf, prefixLength);
    else if (this.replaces(current, leaf, prefixLength)) this.slots[slot] = leaf;
  }

  /** A shorter network arrived over an existing subtree: fill what nothing longer claimed. */
  private fill(node: number, leaf: number, prefixLength: number): void {
    const pending = [node];
    while (pending.length > 0) {
      const current = pending.pop() ?? 0;
      for (let side = 0; side < 2; side++) {
        const slot = current * 2 + side;
        const value = this.slots[slot] ?? EMPTY;
        if (value > 0) pending.push(value);
        else if (this.replaces(value, leaf, prefixLength)) this.slots[slot] = leaf;
      }
    }
  }

  /** Rewrites leaves to -(dataId + 1) and, with `merge`, removes mergeable nodes. */
  canonicalize(merge: boolean): void {
    this.canonicalNode(0, merge);
  }

  /** Canonicalizes the subtree below `node`; returns the slot value that should replace `node`. */
  private canonicalNode(node: number, merge: boolean): number {
    const slots = this.slots;
    let leftError = 0;
    for (let side = 0; side < 2; side++) {
      const slot = node * 2 + side;
      const value = slots[slot] ?? EMPTY;
      this.lastError = 0;
      if (value > 0) slots[slot] = this.canonicalNode(value, merge);
      else if (value < 0) slots[slot] = -Math.floor((-value - 1) / 256) - 1;
      if (side === 0) leftError = this.lastError;
    }
    const rightError = this.lastError;
    const left = slots[node * 2] ?? EMPTY;
    const right = slots[node * 2 + 1] ?? EMPTY;
    this.lastError = 0;
    if (!merge || node === 0 || left > 0 || right > 0) return node;
    if (left === right) {
      this.lastError = Math.max(leftError, rightError);
      return left;
    }
    const lossy = this.policy.lossy;
    if (!lossy || left === EMPTY || right === EMPTY) return node;
    const gap = lossy.distance(-left - 1, -right - 1);
    const keepLeft = Math.max(leftError, gap + rightError);
    const keepRight = Math.max(rightError, gap + leftError);
    if (Math.min(keepLeft, keepRight) > lossy.maxError) return node;
    this.lastError = Math.min(keepLeft, keepRight);
    return keepLeft <= keepRight ? left : right;
  }

  /**
   * After `canonicalize`: ::ffff:0:0/96 (IPv4-mapped) and 2002::/16 (6to4) lead to the IPv4
   * subtree, as in MaxMind's own databases, unless data was inserted inside or over them.
   */
  aliasIPv4(): void {
    if (this.ipv4Root < 0) return;
    // Where the IPv4 subtree ended up after merging: the slot at the end of ::/96.
    let node = 0;
    let target: number = EMPTY;
    for (let depth = 0; depth < 96; depth++) {
      target = this.slots[node * 2] ?? EMPTY;
      if (target <= 0) break;
      node = target;
    }
    if (target === EMPTY) return;
    const mapped = [...Array<number>(80).fill(0), ...Array<number>(16).fill(1)];
    const sixToFour = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    for (const bits of [mapped, sixToFour]) {
      const slot = this.aliasSlot(bits);
      if (slot !== undefined) this.slots[slot] = target;
    }
  }

  /** Follows `bits` from the root over canonical slots, creating nodes; undefined if a leaf is in the way. */
  private aliasSlot(bits: number[]): number | undefined {
    let node = 0;
    for (let i = 0; i < bits.length - 1; i++) {
      const slot = node * 2 + (bits[i] ?? 0);
      const value = this.slots[slot] ?? EMPTY;
      if (value < 0) return undefined;
      if (value === EMPTY) {
        const child = this.newNode(EMPTY, EMPTY);
        this.slots[slot] = child;
        node = child;
      } else {
        node = value;
      }
    }
    const slot = node * 2 + (bits[bits.length - 1] ?? 0);
    return (this.slots[slot] ?? EMPTY) === EMPTY ? slot : undefined;
  }

  /** After `canonicalize`: numbers the nodes depth-first (root = 0) and orders the records by first use. */
  layout(recordCount: number): TreeLayout {
    const numberOf = new Int32Array(this.nodes).fill(-1);
    const order = new Int32Array(this.nodes);
    let nodeCount = 0;
    const recordOrder: number[] = [];
    const recordSeen = new Uint8Array(recordCount);
    const stack = [0];
    while (stack.length > 0) {
      const node = stack.pop() ?? 0;
      if ((numberOf[node] ?? -1) >= 0) continue;
      numberOf[node] = nodeCount;
      order[nodeCount++] = node;
      for (let side = 1; side >= 0; side--) {
        const value = this.slots[node * 2 + side] ?? EMPTY;
        if (value > 0) stack.push(value);
      }
      for (let side = 0; side < 2; side++) {
        const id = -(this.slots[node * 2 + side] ?? EMPTY) - 1;
        if (id >= 0 && !recordSeen[id]) {
          recordSeen[id] = 1;
          recordOrder.push(id);
        }
      }
    }
    return { nodeCount, numberOf, order, recordOrder };
  }
}

function bitAt(bytes: Uint8Array, bit: number): number {
  return ((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1;
}

function isIPv4Compatible(bytes: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) if (bytes[i] !== 0) return false;
  return true;
}
