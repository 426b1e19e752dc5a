import { DigestTable, EVERY_BUCKET, hexWordsFromBytes, hexWordsFromText } from './digest-table.js';

/** `sha256:` and 64 hex digits; `sha512:` and 128. */
const SHA256_TEXT = 71;
const SHA512_TEXT = 135;
const ALGORITHM = 'sha256:'.length;
/** "256" and "512" as character codes. */
const SHA256_BITS = Uint8Array.of(50, 53, 54);
const SHA512_BITS = Uint8Array.of(53, 49, 50);
/** The separator inventoryKey puts between a bucket name and a digest. */
const SEPARATOR = '\u0000';

/**
 * The digests an inventory lists, by who holds them: every bucket (`*`, a bare list, a text
 * file) or one named bucket. Held as bytes in one table per digest algorithm; a lookup reads
 * the digest text into scratch words and allocates nothing.
 */
export class Inventory {
  private readonly sha256: DigestTable;
  private sha512: DigestTable | undefined;
  /** Bucket name → tag; `*` is every bucket. */
  private readonly tags = new Map<string, number>([['*', EVERY_BUCKET]]);
  private readonly words256 = new Uint32Array(8);
  private readonly words512 = new Uint32Array(16);

  /** `expected`: sha256 entries to make room for at once (a reload then never rehashes). */
  constructor(expected = 0) {
    this.sha256 = new DigestTable(8, expected);
  }

  /** Distinct (bucket or every bucket, digest) entries. */
  get size(): number {
    return this.sha256.size + (this.sha512?.size ?? 0);
  }

  /** Bytes the tables hold. */
  get bytes(): number {
    return this.sha256.bytes + (this.sha512?.bytes ?? 0);
  }

  /** The tag of entries held by `bucket` (`*`: every bucket). */
  tagFor(bucket: string): number {
    let tag = this.tags.get(bucket);
    if (tag === undefined) {
      tag = this.tags.size + 1;
      this.tags.set(bucket, tag);
    }
    return tag;
  }

  /**
   * Adds the digest written as ASCII in `bytes[from, to)`; false when it is not one (so the
   * caller can fall back to the parser that says why).
   */
  addBytes(bytes: Uint8Array, from: number, to: number, tag: number): boolean {
    const length = to - from;
    if (length !== SHA256_TEXT && length !== SHA512_TEXT) return false;
    // "sha256:" or "sha512:", told apart by the length.
    const sha256 = length === SHA256_TEXT;
    if (bytes[from] !== 115 || bytes[from + 1] !== 104 || bytes[from + 2] !== 97 || bytes[from + 6] !== 58) return false;
    const bits = sha256 ? SHA256_BITS : SHA512_BITS;
    if (bytes[from + 3] !== bits[0] || bytes[from + 4] !== bits[1] || bytes[from + 5] !== bits[2]) return false;
    const words = sha256 ? this.words256 : this.words512;
    if (!hexWordsFromBytes(bytes, from + ALGORITHM, words)) return false;
    this.tableFor(sha256).add(words, tag);
    return true;
  }

  /** Adds a valid digest given as text. */
  addText(digest: string, tag: number): void {
    const sha256 = digest.length === SHA256_TEXT;
    const words = sha256 ? this.words256 : this.words512;
    hexWordsFromText(digest, ALGORITHM, words);
    this.tableFor(sha256).add(words, tag);
  }

  /** Whether a valid digest is listed for every bucket or for `bucketName`. */
  has(bucketName: string, digest: string): boolean {
    let table: DigestTable | undefined;
    let words: Uint32Array;
    if (digest.length === SHA256_TEXT) {
      table = this.sha256;
      words = this.words256;
    } else if (digest.length === SHA512_TEXT) {
      table = this.sha512;
      words = this.words512;
    } else {
      return false;
    }
    if (table === undefined || table.size === 0) return false;
    hexWordsFromText(digest, ALGORITHM, words);
    return table.has(words, EVERY_BUCKET, this.tags.get(bucketName) ?? EVERY_BUCKET);
  }

  private tableFor(sha256: boolean): DigestTable {
    if (sha256) return this.sha256;
    this.sha512 ??= new DigestTable(16);
    return this.sha512;
  }
}

/** An inventory of valid entries: bare digests (every bucket) and `inventoryKey(bucket, digest)`. */
export function inventoryOf(entries: Iterable<string>): Inventory {
  const inventory = new Inventory();
  for (const entry of entries) {
    const at = entry.indexOf(SEPARATOR);
    if (at < 0) inventory.addText(entry, EVERY_BUCKET);
    else inventory.addText(entry.slice(at + 1), inventory.tagFor(entry.slice(0, at)));
  }
  return inventory;
}
