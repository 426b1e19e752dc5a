/**
 * A small MaxMind DB (format 2.0) writer. npm has readers but no writer, and registry-edge
 * needs two databases of its own: the cloud ranges and a compact city geolocation file.
 *
 * What it does, and why (each concern in its own file):
 * - tree.ts: one IPv6 tree, IPv4 at ::/96; longest prefix wins whatever the insertion order;
 *   two records for exactly the same network go through `resolveTie` (default: the first
 *   stays); adjacent networks with equal data merge into their parent (on by default: the
 *   answer for every address is unchanged, a reader reports the larger network); aliases
 *   (on by default) point ::ffff:0:0/96 (IPv4-mapped) and 2002::/16 (6to4) at the IPv4
 *   subtree, as MaxMind's own databases do, unless data was inserted inside or over them.
 * - data-section.ts: each distinct record once, repeated strings as pointers when shorter.
 * - metadata.ts: the metadata map with the types the spec requires.
 * - serialize.ts: record_size is the smallest of 24, 28 and 32 bits that can address the file.
 *
 * Spec: MaxMind DB File Format Specification v2.0 (https://maxmind.github.io/MaxMind-DB/).
 */
import { parseCidr } from '../../src/net/cidr.js';
import { canonicalKey, encodeRecords, type WriterValue } from './data-section.js';
import { encodeMetadata, type MetadataFields } from './metadata.js';
import { assembleFile, chooseRecordSize, serializeTree, type RecordSize } from './serialize.js';
import { MAX_DATA_IDS, SearchTree, type TreePolicy } from './tree.js';

export { TypedNumber, type WriterValue } from './data-section.js';

export interface MmdbWriterOptions extends MetadataFields {
  /** Alias ::ffff:0:0/96 and 2002::/16 to the IPv4 subtree (default true). */
  ipv4Aliases?: boolean;
  /** Merge sibling networks whose data is equal (default true). */
  mergeAdjacent?: boolean;
  /** Which record stays when two are inserted for exactly the same network. */
  resolveTie?: (existing: WriterValue, incoming: WriterValue) => 'existing' | 'incoming';
  /** Force a record size instead of the smallest that fits. */
  recordSize?: RecordSize;
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
  recordSize: RecordSize;
  dataSectionBytes: number;
  distinctRecords: number;
  fileBytes: number;
}

export class MmdbWriter {
  private readonly tree: SearchTree;
  private readonly values: WriterValue[] = [];
  private readonly idsByKey = new Map<string, number>();
  private built = false;
  private inserted = 0;

  constructor(private readonly options: MmdbWriterOptions) {
    this.tree = new SearchTree(this.policy());
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
    const network = cidr.includes('/') ? parseCidr(cidr) : undefined;
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
    this.tree.insert(bytes, prefixLength, dataId);
  }

  /** Serializes the database. The writer cannot be used afterwards. */
  build(): { file: Buffer; stats: BuildStats } {
    if (this.built) throw new Error('MmdbWriter.build() was already called');
    this.built = true;
    const tree = this.tree;
    tree.canonicalize(this.options.mergeAdjacent ?? true);
    if (this.options.ipv4Aliases ?? true) tree.aliasIPv4();
    const layout = tree.layout(this.values.length);
    const { data, offsets } = encodeRecords(this.values, layout.recordOrder);
    const recordSize = chooseRecordSize(layout.nodeCount, data.length, this.options.recordSize);
    const treeBytes = serializeTree(tree, layout, recordSize, offsets);
    const metadata = encodeMetadata(this.options, layout.nodeCount, recordSize);
    const file = assembleFile(treeBytes, data, metadata);
    // The tree is no longer needed; let it be collected before the caller writes the file.
    tree.release();
    return {
      file,
      stats: { nodeCount: layout.nodeCount, recordSize, dataSectionBytes: data.length, distinctRecords: layout.recordOrder.length, fileBytes: file.length },
    };
  }

  /** How the tree settles ties and lossy merges, in terms of the records behind the ids. */
  private policy(): TreePolicy {
    const { resolveTie, lossyMerge } = this.options;
    const values = this.values;
    return {
      preferIncoming: (existingId, incomingId) => {
        const existing = values[existingId];
        const incoming = values[incomingId];
        if (!resolveTie || existing === undefined || incoming === undefined) return false;
        return resolveTie(existing, incoming) === 'incoming';
      },
      ...(lossyMerge
        ? {
            lossy: {
              maxError: lossyMerge.maxError,
              distance: (leftId: number, rightId: number) => {
                const left = values[leftId];
                const right = values[rightId];
                return left === undefined || right === undefined ? Infinity : lossyMerge.distance(left, right);
              },
            },
          }
        : {}),
    };
  }
}
