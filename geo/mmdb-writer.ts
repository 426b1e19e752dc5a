/**
 * A small MaxMind DB (format 2.0) writer. npm has readers but no writer, and registry-edge
 * needs two databases of its own: the cloud ranges and a compact city geolocation file.
 *
 * What it does, and why:
 * - One IPv6 tree (ip_version 6). IPv4 networks live at ::/96 ("IPv4-compatible"), which
 *   is where every MaxMind reader starts an IPv4 lookup (it follows 96 zero bits).
 * - Longest prefix wins no matter the insertion order: inserting 10.0.0.0/8 after
 *   10.1.0.0/16 fills only the parts of the /8 that no longer prefix claimed. Two records
 *   for exactly the same network go through `resolveTie` (default: the first one stays).
 * - Aliases (on by default): ::ffff:0:0/96 (IPv4-mapped) and 2002::/16 (6to4) point at
 *   the IPv4 subtree, as MaxMind's own databases do, so `::ffff:1.2.3.4` and
 *   `2002:102:304::` find the record of 1.2.3.4. An alias is skipped when data was
 *   inserted inside or over its range, so inserted data always wins.
 * - Adjacent networks with equal data are merged into their parent (on by default): the
 *   answer for every address is unchanged and the tree gets smaller, but a reader reports
 *   the merged, larger network.
 * - The data section is deduplicated: each distinct record is written once, and a string
 *   seen before (map keys, "aws", ...) is written as a pointer when that is shorter.
 * - record_size is the smallest of 24, 28 and 32 bits that can address the file.
 *
 * Spec: MaxMind DB File Format Specification v2.0 (https://maxmind.github.io/MaxMind-DB/).
 */
import { parseCidr } from '../src/net/cidr.js';

/** A number that must be stored as a specific MMDB type (metadata requires exact types). */
export class TypedNumber {
  constructor(
    readonly type: 'uint16' | 'uint32' | 'uint64' | 'uint128' | 'int32' | 'double' | 'float',
    readonly value: number | bigint,
  ) {}
}

/**
 * A value for the data section. Plain numbers are stored as uint32 when they are integers in
 * [0, 2^32), int32 when negative integers in range, and double otherwise; wrap a number in
 * `TypedNumber` to choose.
 */
export type WriterValue =
  | string
  | number
  | boolean
  | bigint
  | TypedNumber
  | Uint8Array
  | WriterValue[]
  | { [key: string]: WriterValue };

export interface MmdbWriterOptions {
  /** Structure name stored in metadata `database_type`. */
  databaseType: string;
  /** Metadata `description`, language code to text. */
  description?: Record<string, string>;
  /** Metadata `languages`. */
  languages?: string[];
  /** Metadata `build_epoch`; default now. */
  buildEpoch?: Date;
  /** Alias ::ffff:0:0/96 and 2002::/16 to the IPv4 subtree (default true). */
  ipv4Aliases?: boolean;
  /** Merge sibling networks whose data is equal (default true). */
  mergeAdjacent?: boolean;
  /** Which record stays when two are inserted for exactly the same network. */
  resolveTie?: (existing: WriterValue, incoming: WriterValue) => 'existing' | 'incoming';
  /** Force a record size instead of the smallest that fits. */
  recordSize?: 24 | 28 | 32;
  /**
   * Lossy merging for approximate data such as geolocation: two sibling networks with
   * different records become one network carrying one of the two records when every
   * address would then read a record at most `maxError` away (per `distance`, which must be
   * a metric; return Infinity for records that must never merge). The bound holds for
   * every address however many merges pile up, because each merged network carries the
   * worst error it already absorbed. Networks with no data never merge with ones that have
   * data, so unknown addresses stay unknown.
   */
  lossyMerge?: { distance: (a: WriterValue, b: WriterValue) => number; maxError: number };
}

export interface BuildStats {
  nodeCount: number;
  recordSize: 24 | 28 | 32;
  dataSectionBytes: number;
  distinctRecords: number;
  fileBytes: number;
}

const EMPTY = 0;
const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
/** 2^31 / 256: leaf slots pack (dataId, prefix length) into a negative int32. */
const MAX_DATA_IDS = 8_388_607;

/** Growable byte buffer for the data section. */
class ByteSink {
  private buf = Buffer.allocUnsafe(1 << 16);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buf[this.length++] = value & 0xff;
  }

  /** Big-endian unsigned integer in exactly `count` bytes. */
  uint(value: number, count: number): void {
    this.reserve(count);
    for (let i = count - 1; i >= 0; i--) {
      this.buf[this.length + i] = value & 0xff;
      value = Math.floor(value / 256);
    }
    this.length += count;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Minimal big-endian bytes of a non-negative integer (empty for zero). */
function unsignedBytes(value: bigint): Uint8Array {
  const out: number[] = [];
  while (value > 0n) {
    out.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  return Uint8Array.from(out);
}

/**
 * Encodes values in the data-section format. With `dedupeStrings`, a string already written
 * by this encoder becomes a pointer when that is shorter than repeating it.
 */
class FieldEncoder {
  readonly sink = new ByteSink();
  private readonly stringOffsets = new Map<string, number>();

  constructor(private readonly dedupeStrings: boolean) {}

  /** Control byte(s) for `type` with payload `size` (bytes, or entries for maps and arrays). */
  private header(type: number, size: number): void {
    const sink = this.sink;
    let sizeBits: number;
    let extraBytes = 0;
    let extraValue = 0;
    if (size < 29) sizeBits = size;
    else if (size < 285) [sizeBits, extraBytes, extraValue] = [29, 1, size - 29];
    else if (size < 65821) [sizeBits, extraBytes, extraValue] = [30, 2, size - 285];
    else if (size < 16843036) [sizeBits, extraBytes, extraValue] = [31, 3, size - 65821];
    else throw new RangeError(`MMDB field of ${size} is too large`);
    if (type <= 7) {
      sink.byte((type << 5) | sizeBits);
    } else {
      sink.byte(sizeBits);
      sink.byte(type - 7);
    }
    if (extraBytes > 0) sink.uint(extraValue, extraBytes);
  }

  private pointer(target: number): void {
    const sink = this.sink;
    if (target < 2048) {
      sink.byte(0x20 | (target >> 8));
      sink.byte(target & 0xff);
    } else if (target < 526336) {
      const value = target - 2048;
      sink.byte(0x28 | (value >> 16));
      sink.uint(value & 0xffff, 2);
    } else if (target < 134744064) {
      const value = target - 526336;
      sink.byte(0x30 | Math.floor(value / 16777216));
      sink.uint(value % 16777216, 3);
    } else {
      sink.byte(0x38);
      sink.uint(target, 4);
    }
  }

  private string(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    if (this.dedupeStrings) {
      const earlier = this.stringOffsets.get(text);
      // A pointer costs 2 to 5 bytes; only use it when it saves space.
      if (earlier !== undefined && bytes.length + 1 > (earlier < 2048 ? 2 : earlier < 526336 ? 3 : 4)) {
        this.pointer(earlier);
        return;
      }
      if (earlier === undefined) this.stringOffsets.set(text, this.sink.length);
    }
    this.header(2, bytes.length);
    this.sink.bytes(bytes);
  }

  private typed(number: TypedNumber): void {
    const { type, value } = number;
    if (type === 'double') {
      const bytes = Buffer.allocUnsafe(8);
      bytes.writeDoubleBE(Number(value));
      this.header(3, 8);
      this.sink.bytes(bytes);
      return;
    }
    if (type === 'float') {
      const bytes = Buffer.allocUnsafe(4);
      bytes.writeFloatBE(Number(value));
      this.header(15, 4);
      this.sink.bytes(bytes);
      return;
    }
    if (type === 'int32') {
      const signed = Number(value);
      if (!Number.isInteger(signed) || signed < -2147483648 || signed > 2147483647) {
        throw new RangeError(`${signed} does not fit int32`);
      }
      const bytes = signed < 0 ? unsignedBytes(BigInt(signed >>> 0)) : unsignedBytes(BigInt(signed));
      this.header(8, bytes.length);
      this.sink.bytes(bytes);
      return;
    }
    const typeCodes = { uint16: [5, 16], uint32: [6, 32], uint64: [9, 64], uint128: [10, 128] } as const;
    const [code, bits] = typeCodes[type];
    const big = BigInt(value);
    if (big < 0n || big >= 1n << BigInt(bits)) throw new RangeError(`${big} does not fit ${type}`);
    const bytes = unsignedBytes(big);
    this.header(code, bytes.length);
    this.sink.bytes(bytes);
  }

  write(value: WriterValue): void {
    if (typeof value === 'string') return this.string(value);
    if (typeof value === 'number') {
      if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) return this.typed(new TypedNumber('uint32', value));
      if (Number.isInteger(value) && value < 0 && value >= -(2 ** 31)) return this.typed(new TypedNumber('int32', value));
      return this.typed(new TypedNumber('double', value));
    }
    if (typeof value === 'bigint') return this.typed(new TypedNumber(value < 1n << 64n ? 'uint64' : 'uint128', value));
    if (typeof value === 'boolean') return this.header(14, value ? 1 : 0);
    if (value instanceof TypedNumber) return this.typed(value);
    if (value instanceof Uint8Array) {
      this.header(4, value.length);
      this.sink.bytes(value);
      return;
    }
    if (Array.isArray(value)) {
      this.header(11, value.length);
      for (const item of value) this.write(item);
      return;
    }
    const entries = Object.entries(value);
    this.header(7, entries.length);
    for (const [key, item] of entries) {
      this.string(key);
      this.write(item);
    }
  }
}

/** Stable text form of a value, used to deduplicate records. */
function canonicalKey(value: WriterValue): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return `${item}n`;
    if (item instanceof TypedNumber) return { $t: item.type, v: String(item.value) };
    if (item instanceof Uint8Array) return { $b: Buffer.from(item).toString('hex') };
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      return Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return item;
  });
}

export class MmdbWriter {
  private readonly options: MmdbWriterOptions;
  /**
   * The trie: node n has slots 2n (bit 0) and 2n+1 (bit 1). A slot is EMPTY, a node index
   * (> 0; node 0 is the root and never a child), or a leaf: -(dataId * 256 + prefixLength) - 1,
   * the prefix length being what lets a later, shorter insert tell it must not overwrite.
   */
  private slots = new Int32Array(1 << 12);
  private nodes = 1;
  private readonly values: WriterValue[] = [];
  private readonly idsByKey = new Map<string, number>();
  /** Node at the end of the ::/96 path, cached so IPv4 inserts skip 96 steps. */
  private ipv4Root = -1;
  private built = false;
  private inserted = 0;

  constructor(options: MmdbWriterOptions) {
    this.options = options;
  }

  /** How many insert calls were made. */
  get insertCount(): number {
    return this.inserted;
  }

  /** Registers a record and returns its id; equal records get the same id. */
  dataId(value: WriterValue): number {
    const key = canonicalKey(value);
    const known = this.idsByKey.get(key);
    if (known !== undefined) return known;
    if (this.values.length >= MAX_DATA_IDS) throw new RangeError('too many distinct records');
    this.values.push(value);
    this.idsByKey.set(key, this.values.length - 1);
    return this.values.length - 1;
  }

  /** Inserts a CIDR given as text (IPv4 or IPv6). Throws on text that is not a CIDR. */
  insertCidr(cidr: string, value: WriterValue): void {
    const network = parseCidr(cidr);
    if (!network) throw new Error(`not a CIDR block: ${JSON.stringify(cidr)}`);
    this.insert(network.bytes, network.prefixLength, value);
  }

  /** Inserts a network of the 128-bit space (IPv4 at ::/96; bits past the prefix are ignored). */
  insert(bytes: Uint8Array, prefixLength: number, value: WriterValue): void {
    this.insertId(bytes, prefixLength, this.dataId(value));
  }

  /** Same as `insert` with a record id from `dataId` (avoids re-keying hot paths). */
  insertId(bytes: Uint8Array, prefixLength: number, dataId: number): void {
    if (this.built) throw new Error('MmdbWriter.build() was already called');
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 128) {
      throw new RangeError(`prefix length ${prefixLength} is outside 0..128`);
    }
    if (dataId < 0 || dataId >= this.values.length) throw new RangeError(`unknown data id ${dataId}`);
    this.inserted++;
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

  /** Puts `leaf` (for a network of `prefixLength`) into `slot`, respecting longer prefixes. */
  private place(slot: number, leaf: number, prefixLength: number): void {
    const current = this.slots[slot] ?? EMPTY;
    if (current === EMPTY) {
      this.slots[slot] = leaf;
    } else if (current < 0) {
      const existingLength = (-current - 1) & 0xff;
      if (existingLength < prefixLength) {
        this.slots[slot] = leaf;
      } else if (existingLength === prefixLength && this.preferIncoming(current, leaf)) {
        this.slots[slot] = leaf;
      }
    } else {
      this.fill(current, leaf, prefixLength);
    }
  }

  private preferIncoming(existingLeaf: number, incomingLeaf: number): boolean {
    const existingId = Math.floor((-existingLeaf - 1) / 256);
    const incomingId = Math.floor((-incomingLeaf - 1) / 256);
    if (existingId === incomingId || !this.options.resolveTie) return false;
    const existing = this.values[existingId];
    const incoming = this.values[incomingId];
    if (existing === undefined || incoming === undefined) return false;
    return this.options.resolveTie(existing, incoming) === 'incoming';
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
        else if (value === EMPTY || ((-value - 1) & 0xff) < prefixLength) this.slots[slot] = leaf;
        else if (((-value - 1) & 0xff) === prefixLength && this.preferIncoming(value, leaf)) this.slots[slot] = leaf;
      }
    }
  }

  /** Error already absorbed by the terminal slot `canonicalize` returned last (lossy merging). */
  private lastError = 0;

  /**
   * Rewrites the subtree below `node` in place so that leaf slots hold -(dataId + 1) and
   * mergeable nodes disappear; returns the slot value that should replace `node`.
   */
  private canonicalize(node: number, merge: boolean): number {
    const slots = this.slots;
    const lossy = this.options.lossyMerge;
    let leftError = 0;
    for (let side = 0; side < 2; side++) {
      const slot = node * 2 + side;
      const value = slots[slot] ?? EMPTY;
      this.lastError = 0;
      if (value > 0) slots[slot] = this.canonicalize(value, merge);
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
    if (!lossy || left === EMPTY || right === EMPTY) return node;
    const leftValue = this.values[-left - 1];
    const rightValue = this.values[-right - 1];
    if (leftValue === undefined || rightValue === undefined) return node;
    const gap = lossy.distance(leftValue, rightValue);
    const keepLeft = Math.max(leftError, gap + rightError);
    const keepRight = Math.max(rightError, gap + leftError);
    if (Math.min(keepLeft, keepRight) > lossy.maxError) return node;
    this.lastError = Math.min(keepLeft, keepRight);
    return keepLeft <= keepRight ? left : right;
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

  /** Serializes the database. The writer cannot be used afterwards. */
  build(): { file: Buffer; stats: BuildStats } {
    if (this.built) throw new Error('MmdbWriter.build() was already called');
    this.built = true;
    const merge = this.options.mergeAdjacent ?? true;
    this.canonicalize(0, merge);

    if ((this.options.ipv4Aliases ?? true) && this.ipv4Root >= 0) {
      // Where the IPv4 subtree ended up after merging: the slot at the end of ::/96.
      let node = 0;
      let target: number = EMPTY;
      for (let depth = 0; depth < 96; depth++) {
        target = this.slots[node * 2] ?? EMPTY;
        if (target <= 0) break;
        node = target;
      }
      if (target !== EMPTY) {
        const mapped = [...Array<number>(80).fill(0), ...Array<number>(16).fill(1)];
        const sixToFour = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        for (const bits of [mapped, sixToFour]) {
          const slot = this.aliasSlot(bits);
          if (slot !== undefined) this.slots[slot] = target;
        }
      }
    }

    // Number the nodes depth-first (root = 0) and order the records by first use.
    const numberOf = new Int32Array(this.nodes).fill(-1);
    const order = new Int32Array(this.nodes);
    let nodeCount = 0;
    const recordOrder: number[] = [];
    const recordSeen = new Uint8Array(this.values.length);
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
        const value = this.slots[node * 2 + side] ?? EMPTY;
        if (value < 0) {
          const id = -value - 1;
          if (!recordSeen[id]) {
            recordSeen[id] = 1;
            recordOrder.push(id);
          }
        }
      }
    }

    const encoder = new FieldEncoder(true);
    const dataOffset = new Int32Array(this.values.length).fill(-1);
    for (const id of recordOrder) {
      dataOffset[id] = encoder.sink.length;
      const value = this.values[id];
      if (value !== undefined) encoder.write(value);
    }
    const data = encoder.sink.result();

    const largestRecord = nodeCount + 16 + data.length;
    const recordSize = this.options.recordSize ?? (largestRecord < 2 ** 24 ? 24 : largestRecord < 2 ** 28 ? 28 : 32);
    if (largestRecord >= 2 ** recordSize) throw new RangeError(`record size ${recordSize} cannot address this database`);

    const recordValue = (slotValue: number): number => {
      if (slotValue === EMPTY) return nodeCount;
      if (slotValue > 0) return numberOf[slotValue] ?? nodeCount;
      return nodeCount + 16 + (dataOffset[-slotValue - 1] ?? 0);
    };
    const nodeBytes = recordSize / 4;
    const tree = Buffer.alloc(nodeCount * nodeBytes);
    for (let number = 0; number < nodeCount; number++) {
      const node = order[number] ?? 0;
      const left = recordValue(this.slots[node * 2] ?? EMPTY);
      const right = recordValue(this.slots[node * 2 + 1] ?? EMPTY);
      const at = number * nodeBytes;
      if (recordSize === 24) {
        tree.writeUIntBE(left, at, 3);
        tree.writeUIntBE(right, at + 3, 3);
      } else if (recordSize === 28) {
        tree.writeUIntBE(left & 0xffffff, at, 3);
        tree[at + 3] = ((left >>> 24) << 4) | (right >>> 24);
        tree.writeUIntBE(right & 0xffffff, at + 4, 3);
      } else {
        tree.writeUInt32BE(left, at);
        tree.writeUInt32BE(right, at + 4);
      }
    }

    const metadata = new FieldEncoder(false);
    metadata.write({
      binary_format_major_version: new TypedNumber('uint16', 2),
      binary_format_minor_version: new TypedNumber('uint16', 0),
      build_epoch: new TypedNumber('uint64', BigInt(Math.floor((this.options.buildEpoch ?? new Date()).getTime() / 1000))),
      database_type: this.options.databaseType,
      description: this.options.description ?? {},
      ip_version: new TypedNumber('uint16', 6),
      languages: this.options.languages ?? [],
      node_count: new TypedNumber('uint32', nodeCount),
      record_size: new TypedNumber('uint16', recordSize),
    });
    const file = Buffer.concat([tree, Buffer.alloc(16), data, METADATA_MARKER, metadata.sink.result()]);
    // The trie is no longer needed; let it be collected before the caller writes the file.
    this.slots = new Int32Array(0);
    return {
      file,
      stats: { nodeCount, recordSize, dataSectionBytes: data.length, distinctRecords: recordOrder.length, fileBytes: file.length },
    };
  }
}

function bitAt(bytes: Uint8Array, bit: number): number {
  return ((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1;
}

function isIPv4Compatible(bytes: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) if (bytes[i] !== 0) return false;
  return true;
}
