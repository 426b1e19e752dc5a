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

function hexNibble(code: number): number {
  // '0'-'9' → 0-9, 'a'-'f' → 10-15; callers pass validated lower-case hex.
  return code <= 57 ? code - 48 : code - 87;
}

/** Hex text `text[from, from + 8 * words.length)` into `words`, big-endian words. */
export function hexWordsFromText(text: string, from: number, words: Uint32Array): void {
  for (let w = 0; w < words.length; w++) {
    let value = 0;
    const at = from + w * 8;
    for (let i = 0; i < 8; i++) value = (value << 4) | hexNibble(text.charCodeAt(at + i));
    words[w] = value >>> 0;
  }
}

/** Lower-case hex bytes `bytes[from, from + 8 * words.length)` into `words`; false when a byte is not hex. */
export function hexWordsFromBytes(bytes: Uint8Array, from: number, words: Uint32Array): boolean {
  for (let w = 0; w < words.length; w++) {
    let value = 0;
    const at = from + w * 8;
    for (let i = 0; i < 8; i++) {
      const code = bytes[at + i] as number;
      if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false;
      value = (value << 4) | hexNibble(code);
    }
    words[w] = value >>> 0;
  }
  return true;
}

export class DigestTable {
  /** Distinct (digest, tag) entries. */
  size = 0;
  private capacity: number;
  private slots: Uint32Array;
  private readonly stride: number;

  /** `wordsPerDigest`: 8 for sha256, 16 for sha512. `expected`: entries to make room for now. */
  constructor(
    private readonly wordsPerDigest: number,
    expected = 0,
  ) {
    this.stride = wordsPerDigest + 1;
    this.capacity = Math.max(16, Math.ceil(expected / MAX_LOAD) + 1);
    this.slots = new Uint32Array(this.capacity * this.stride);
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /** Adds the digest in `words` with `tag`; a repeat is not counted twice. */
  add(words: Uint32Array, tag: number): void {
    if (this.size + 1 > this.capacity * MAX_LOAD) this.grow();
    const slot = this.find(words, tag);
    const at = slot * this.stride;
    if (this.slots[at + this.wordsPerDigest] !== EMPTY) return;
    this.slots.set(words, at);
    this.slots[at + this.wordsPerDigest] = tag;
    this.size++;
  }

  has(words: Uint32Array, tag: number): boolean {
    return this.slots[this.find(words, tag) * this.stride + this.wordsPerDigest] !== EMPTY;
  }

  /** The slot holding (words, tag), else the empty slot where it would go. */
  private find(words: Uint32Array, tag: number): number {
    const slots = this.slots;
    const stride = this.stride;
    const tagAt = this.wordsPerDigest;
    let slot = mix(words, tag) % this.capacity;
    for (;;) {
      const at = slot * stride;
      const held = slots[at + tagAt] as number;
      if (held === EMPTY) return slot;
      if (held === tag && sameWords(slots, at, words)) return slot;
      slot = slot + 1 === this.capacity ? 0 : slot + 1;
    }
  }

  private grow(): void {
    const old = this.slots;
    const stride = this.stride;
    this.capacity *= 2;
    this.slots = new Uint32Array(this.capacity * stride);
    this.size = 0;
    const words = new Uint32Array(this.wordsPerDigest);
    for (let at = 0; at < old.length; at += stride) {
      const tag = old[at + this.wordsPerDigest] as number;
      if (tag === EMPTY) continue;
      words.set(old.subarray(at, at + this.wordsPerDigest));
      this.add(words, tag);
    }
  }
}

/**
 * A hash of every word and the tag. Real digests are spread already, but a file may list
 * made-up ones (tests do: mostly zeros), and those must not pile into one probe run.
 */
function mix(words: Uint32Array, tag: number): number {
  let hash = Math.imul(tag, 0x9e3779b1);
  for (let w = 0; w < words.length; w++) hash = Math.imul(hash ^ (words[w] as number), 0x85ebca6b) ^ (hash >>> 13);
  return (hash ^ (hash >>> 16)) >>> 0;
}

function sameWords(slots: Uint32Array, at: number, words: Uint32Array): boolean {
  for (let w = 0; w < words.length; w++) if (slots[at + w] !== words[w]) return false;
  return true;
}
