/**
 * A set of digests held as bytes: records appended to one Uint32Array, each the digest's words
 * and a tag word naming who holds it (1 = every bucket, 2.. = one bucket), and an
 * open-addressing index of (hash, record) pairs over another. A sha256 entry costs 36 bytes of
 * record and about 10 of index at the load kept here, where a JavaScript Set of strings costs
 * ~260; adding one touches one random cache line (its index slot), not two. Lookups read the
 * client's digest text straight into a scratch word array and allocate nothing.
 */

/** Highest share of slots in use before the table doubles. */
const MAX_LOAD = 0.8;
const EMPTY = 0;
/** The tag of a digest present in every bucket. */
export const EVERY_BUCKET = 1;

/** Character code → its hex value (lower case; anything else reads as 0). */
export const NIBBLE = new Uint8Array(128);
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c;
for (let c = 0; c < 6; c++) NIBBLE[97 + c] = 10 + c;

/** Hex text `text[from, from + 8 * words.length)` into `words`, big-endian words. */
export function hexWordsFromText(text: string, from: number, words: Uint32Array): void {
  let at = from;
  for (let w = 0; w < words.length; w++) {
    const high =
      ((NIBBLE[text.charCodeAt(at) & 127] as number) << 12) |
      ((NIBBLE[text.charCodeAt(at + 1) & 127] as number) << 8) |
      ((NIBBLE[text.charCodeAt(at + 2) & 127] as number) << 4) |
      (NIBBLE[text.charCodeAt(at + 3) & 127] as number);
    const low =
      ((NIBBLE[text.charCodeAt(at + 4) & 127] as number) << 12) |
      ((NIBBLE[text.charCodeAt(at + 5) & 127] as number) << 8) |
      ((NIBBLE[text.charCodeAt(at + 6) & 127] as number) << 4) |
      (NIBBLE[text.charCodeAt(at + 7) & 127] as number);
    words[w] = high * 65536 + low;
    at += 8;
  }
}

/** Two bytes (first one high) → the byte their lower-case hex spells, or -1 when either is not lower-case hex. */
const HEX_PAIR = new Int16Array(65536).fill(-1);
for (let high = 0; high < 16; high++) {
  for (let low = 0; low < 16; low++) HEX_PAIR[(hexCode(high) << 8) | hexCode(low)] = (high << 4) | low;
}

function hexCode(nibble: number): number {
  return nibble < 10 ? 48 + nibble : 87 + nibble;
}

/** A view of the bytes last read, kept while the caller reads one buffer: made again only when it changes. */
let viewed: Uint8Array | undefined;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * Lower-case hex bytes `bytes[from, from + 8 * words.length)` into `words`; false when a byte
 * is not hex. Four characters at a time: a 32-bit read and two lookups in a table of pairs,
 * a quarter of the work of a lookup per character (a million digests load at start-up).
 */
export function hexWordsFromBytes(bytes: Uint8Array, from: number, words: Uint32Array): boolean {
  if (viewed !== bytes) {
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    viewed = bytes;
  }
  // Any pair that is not hex is -1 and makes this negative; checked once at the end.
  let invalid = 0;
  let at = from;
  for (let w = 0; w < words.length; w++) {
    const first = view.getUint32(at);
    const second = view.getUint32(at + 4);
    const a = HEX_PAIR[first >>> 16] as number;
    const b = HEX_PAIR[first & 0xffff] as number;
    const c = HEX_PAIR[second >>> 16] as number;
    const d = HEX_PAIR[second & 0xffff] as number;
    invalid |= a | b | c | d;
    words[w] = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    at += 8;
  }
  return invalid >= 0;
}

export class DigestTable {
  /** Distinct (digest, tag) entries. */
  size = 0;
  private capacity: number;
  /** Per slot, the entry's hash (never 0; 0 marks an empty slot) and its record's index: a probe reads 8 bytes, not 36. */
  private slots: Uint32Array;
  /** Per entry, in the order added: the digest's words then its tag. Appending never jumps around memory. */
  private records: Uint32Array;
  private readonly stride: number;

  /** `wordsPerDigest`: 8 for sha256, 16 for sha512. `expected`: entries to make room for now. */
  constructor(
    private readonly wordsPerDigest: number,
    expected = 0,
  ) {
    this.stride = wordsPerDigest + 1;
    this.capacity = Math.max(16, Math.ceil(expected / MAX_LOAD) + 1);
    this.slots = new Uint32Array(this.capacity * 2);
    this.records = new Uint32Array(Math.max(16, expected) * this.stride);
  }

  get bytes(): number {
    return this.slots.byteLength + this.records.byteLength;
  }

  /** Adds the digest in `words` with `tag`; a repeat is not counted twice. */
  add(words: Uint32Array, tag: number): void {
    if (this.size + 1 > this.capacity * MAX_LOAD) this.growSlots();
    const hash = mix(words, 0, this.wordsPerDigest);
    const slot = this.find(hash, words, tag, tag);
    if (slot < 0) return;
    const record = this.size;
    let at = record * this.stride;
    if (at + this.stride > this.records.length) this.growRecords();
    const records = this.records;
    for (let w = 0; w < this.wordsPerDigest; w++) records[at++] = words[w] as number;
    records[at] = tag;
    this.slots[slot * 2] = hash;
    this.slots[slot * 2 + 1] = record;
    this.size++;
  }

  /**
   * Whether the digest in `words` is held with `tag` or `other`. A digest's entries share one
   * hash and so one probe run: both tags cost a single walk.
   */
  has(words: Uint32Array, tag: number, other: number): boolean {
    return this.find(mix(words, 0, this.wordsPerDigest), words, tag, other) < 0;
  }

  /** -1 when an entry of `words` with `tag` or `other` is held, else the empty slot its probe run ends at. */
  private find(hash: number, words: Uint32Array, tag: number, other: number): number {
    const slots = this.slots;
    let slot = hash % this.capacity;
    for (;;) {
      const held = slots[slot * 2] as number;
      if (held === EMPTY) return slot;
      if (held === hash && this.holds(slots[slot * 2 + 1] as number, words, tag, other)) return -1;
      slot = slot + 1 === this.capacity ? 0 : slot + 1;
    }
  }

  private holds(record: number, words: Uint32Array, tag: number, other: number): boolean {
    const at = record * this.stride;
    const records = this.records;
    const held = records[at + this.wordsPerDigest];
    if (held !== tag && held !== other) return false;
    for (let w = 0; w < this.wordsPerDigest; w++) if (records[at + w] !== words[w]) return false;
    return true;
  }

  private growRecords(): void {
    const grown = new Uint32Array(this.records.length * 2);
    grown.set(this.records);
    this.records = grown;
  }

  /** Doubles the slots and places every record again; the records stay where they are. */
  private growSlots(): void {
    this.capacity *= 2;
    const slots = new Uint32Array(this.capacity * 2);
    for (let record = 0; record < this.size; record++) {
      const hash = mix(this.records, record * this.stride, this.wordsPerDigest);
      let slot = hash % this.capacity;
      while (slots[slot * 2] !== EMPTY) slot = slot + 1 === this.capacity ? 0 : slot + 1;
      slots[slot * 2] = hash;
      slots[slot * 2 + 1] = record;
    }
    this.slots = slots;
  }
}

/**
 * A hash of every word, never 0 (0 marks an empty slot). Real digests are spread already, but
 * a file may list made-up ones (tests do: mostly zeros), and those must not pile into one run.
 */
function mix(words: Uint32Array, from: number, count: number): number {
  let hash = 0x811c9dc5;
  for (let w = from; w < from + count; w++) hash = Math.imul(hash ^ (words[w] as number), 0x85ebca6b) ^ (hash >>> 13);
  return (hash ^ (hash >>> 16)) >>> 0 || 1;
}
