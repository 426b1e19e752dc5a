/**
 * A set of digests held as bytes: an open-addressing hash table over one Uint32Array, each slot
 * the digest's words and a tag word naming who holds it (1 = every bucket, 2.. = one bucket,
 * 0 = empty slot). A sha256 entry costs 36 bytes of slot, about 45 bytes a digest at the load
 * kept here, where a JavaScript Set of strings costs ~260. Lookups read the client's digest
 * text straight into a scratch word array and allocate nothing.
 */

/** Highest share of slots in use before the table doubles. */
const MAX_LOAD = 0.8;
const EMPTY = 0;
/** The tag of a digest present in every bucket. */
export const EVERY_BUCKET = 1;

/** Character code → its hex value (lower case; anything else reads as 0: callers pass validated hex). */
const NIBBLE = new Uint8Array(128);
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

/** Byte → its value as lower-case hex, or 0xff for any other byte. */
const HEX_BYTE = new Uint8Array(256).fill(0xff);
for (let c = 0; c < 16; c++) HEX_BYTE[c < 10 ? 48 + c : 87 + c] = c;

/** Lower-case hex bytes `bytes[from, from + 8 * words.length)` into `words`; false when a byte is not hex. */
export function hexWordsFromBytes(bytes: Uint8Array, from: number, words: Uint32Array): boolean {
  // Any non-hex byte sets high bits here; checked once at the end rather than per byte.
  let invalid = 0;
  let at = from;
  for (let w = 0; w < words.length; w++) {
    let value = 0;
    for (let i = 0; i < 8; i++) {
      const nibble = HEX_BYTE[bytes[at++] as number] as number;
      invalid |= nibble;
      value = (value << 4) | (nibble & 15);
    }
    words[w] = value >>> 0;
  }
  return (invalid & 0xf0) === 0;
}

export class DigestTable {
  /** Distinct (digest, tag) entries. */
  size = 0;
  private capacity: number;
  /** Per slot, the digest's hash (never 0) or 0 when empty: probes read 4 bytes, not 36. */
  private hashes: Uint32Array;
  /** Per slot, the digest's words then its tag. */
  private slots: Uint32Array;
  private readonly stride: number;

  /** `wordsPerDigest`: 8 for sha256, 16 for sha512. `expected`: entries to make room for now. */
  constructor(
    private readonly wordsPerDigest: number,
    expected = 0,
  ) {
    this.stride = wordsPerDigest + 1;
    this.capacity = Math.max(16, Math.ceil(expected / MAX_LOAD) + 1);
    this.hashes = new Uint32Array(this.capacity);
    this.slots = new Uint32Array(this.capacity * this.stride);
  }

  get bytes(): number {
    return this.hashes.byteLength + this.slots.byteLength;
  }

  /** Adds the digest in `words` with `tag`; a repeat is not counted twice. */
  add(words: Uint32Array, tag: number): void {
    if (this.size + 1 > this.capacity * MAX_LOAD) this.grow();
    const hash = mix(words);
    let slot = hash % this.capacity;
    for (;;) {
      const held = this.hashes[slot] as number;
      if (held === EMPTY) break;
      if (held === hash && this.holds(slot, words, tag, tag)) return;
      slot = slot + 1 === this.capacity ? 0 : slot + 1;
    }
    this.hashes[slot] = hash;
    this.slots.set(words, slot * this.stride);
    this.slots[slot * this.stride + this.wordsPerDigest] = tag;
    this.size++;
  }

  /**
   * Whether the digest in `words` is held with `tag` or `other`. A digest's entries share one
   * hash and so one probe run: both tags cost a single walk.
   */
  has(words: Uint32Array, tag: number, other: number): boolean {
    const hashes = this.hashes;
    const hash = mix(words);
    let slot = hash % this.capacity;
    for (;;) {
      const held = hashes[slot] as number;
      if (held === EMPTY) return false;
      if (held === hash && this.holds(slot, words, tag, other)) return true;
      slot = slot + 1 === this.capacity ? 0 : slot + 1;
    }
  }

  private holds(slot: number, words: Uint32Array, tag: number, other: number): boolean {
    const at = slot * this.stride;
    const held = this.slots[at + this.wordsPerDigest];
    if (held !== tag && held !== other) return false;
    for (let w = 0; w < words.length; w++) if (this.slots[at + w] !== words[w]) return false;
    return true;
  }

  private grow(): void {
    const oldSlots = this.slots;
    const oldHashes = this.hashes;
    const stride = this.stride;
    this.capacity *= 2;
    this.hashes = new Uint32Array(this.capacity);
    this.slots = new Uint32Array(this.capacity * stride);
    this.size = 0;
    const words = new Uint32Array(this.wordsPerDigest);
    for (let slot = 0; slot < oldHashes.length; slot++) {
      if (oldHashes[slot] === EMPTY) continue;
      const at = slot * stride;
      words.set(oldSlots.subarray(at, at + this.wordsPerDigest));
      this.add(words, oldSlots[at + this.wordsPerDigest] as number);
    }
  }
}

/**
 * A hash of every word, never 0 (0 marks an empty slot). Real digests are spread already, but
 * a file may list made-up ones (tests do: mostly zeros), and those must not pile into one run.
 */
function mix(words: Uint32Array): number {
  let hash = 0x811c9dc5;
  for (let w = 0; w < words.length; w++) hash = Math.imul(hash ^ (words[w] as number), 0x85ebca6b) ^ (hash >>> 13);
  return (hash ^ (hash >>> 16)) >>> 0 || 1;
}
