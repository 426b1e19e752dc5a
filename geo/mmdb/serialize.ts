/**
 * Turns a laid-out search tree into the bytes of a MaxMind DB file: the tree, 16 zero bytes,
 * the data section, then the metadata. record_size is the smallest of 24, 28 and 32 bits that
 * can address the file.
 */
import type { SearchTree, TreeLayout } from './tree.js';

export type RecordSize = 24 | 28 | 32;

const DATA_SEPARATOR = Buffer.alloc(16);

/** The smallest record size whose records can point anywhere in the data section. */
export function chooseRecordSize(nodeCount: number, dataBytes: number, forced?: RecordSize): RecordSize {
  const largestRecord = nodeCount + 16 + dataBytes;
  const recordSize = forced ?? (largestRecord < 2 ** 24 ? 24 : largestRecord < 2 ** 28 ? 28 : 32);
  if (largestRecord >= 2 ** recordSize) throw new RangeError(`record size ${recordSize} cannot address this database`);
  return recordSize;
}

/** Writes two records of `recordSize` bits at `at`, as the spec packs them. */
function writeNode(tree: Buffer, at: number, recordSize: RecordSize, left: number, right: number): void {
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

/** The search tree section; `dataOffsets[id]` is where record `id` starts in the data section. */
export function serializeTree(tree: SearchTree, layout: TreeLayout, recordSize: RecordSize, dataOffsets: Int32Array): Buffer {
  const { nodeCount, numberOf, order } = layout;
  const recordValue = (slotValue: number): number => {
    if (slotValue === 0) return nodeCount;
    if (slotValue > 0) return numberOf[slotValue] ?? nodeCount;
    return nodeCount + 16 + (dataOffsets[-slotValue - 1] ?? 0);
  };
  const nodeBytes = recordSize / 4;
  const out = Buffer.alloc(nodeCount * nodeBytes);
  for (let number = 0; number < nodeCount; number++) {
    const node = order[number] ?? 0;
    writeNode(out, number * nodeBytes, recordSize, recordValue(tree.slot(node * 2)), recordValue(tree.slot(node * 2 + 1)));
  }
  return out;
}

/** The whole file. */
export function assembleFile(tree: Buffer, data: Buffer, metadata: Buffer): Buffer {
  return Buffer.concat([tree, DATA_SEPARATOR, data, metadata]);
}
