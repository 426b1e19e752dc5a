import { LRUCache } from 'lru-cache';
import { detached, MAP_ENTRY_BYTES, stringBytes, type CacheFigures } from '../cache-figures.js';
import { NIBBLE } from './digest-table.js';

/**
 * Cached HEAD answers, found by a number read from the digest's last seven hex digits rather
 * than by the digest text: V8 hashes a fresh 71-character string (every request's digest is one)
 * character by character, which cost more than the rest of the lookup. The answers under one
 * number form a short list, each naming its bucket and digest, compared in full, so two digests
 * that share those digits (by chance, or made so by a client) never read each other's answer.
 */
interface Answer {
  readonly bucket: string;
  readonly digest: string;
  presence: 'present' | 'absent';
  /** On the checker's clock; the entry is ignored from this instant on. */
  expiresAt: number;
  next: Answer | undefined;
}

/** One answer object: five fields and a header. */
const ANSWER_BYTES = 64;
/**
 * lru-cache's own per-entry bookkeeping, plus its Map entry: without `max` its six slots (key,
 * value, two links, size, free list) are plain arrays of 8-byte elements, which grow by half
 * when full.
 */
const LRU_ENTRY_BYTES = 6 * 8 * 1.5 + MAP_ENTRY_BYTES;
/** A sha256 digest with one bucket's answer: the budget each of `maxDigests` entries gets. */
export const DIGEST_ENTRY_BYTES = LRU_ENTRY_BYTES + stringBytes('sha256:'.padEnd(71, '0')) + ANSWER_BYTES;
/**
 * Answers kept under one number. Real digests share seven hex digits about once in 2^28; a
 * client can make many that do, and this keeps what it costs to walk their list bounded.
 */
export const MAX_ANSWERS_PER_KEY = 32;

/**
 * The lookup number of a digest: its last seven characters read as hex, 28 bits (a small
 * integer to V8, hashed at no cost). Any other character reads as 0: the number only narrows the search.
 */
export function digestKey(digest: string): number {
  let key = 0;
  for (let at = digest.length - 7; at < digest.length; at++) key = (key << 4) | (NIBBLE[digest.charCodeAt(at) & 127] as number);
  return key;
}

/** Each answer, and each digest text once for the answers that follow each other with it. */
function entryBytes(first: Answer): number {
  let bytes = LRU_ENTRY_BYTES;
  let text: string | undefined;
  for (let answer: Answer | undefined = first; answer !== undefined; answer = answer.next) {
    bytes += ANSWER_BYTES;
    if (answer.digest !== text) bytes += stringBytes((text = answer.digest));
  }
  return bytes;
}

export class AnswerCache {
  /**
   * Bounded in bytes only: given `max`, lru-cache allocates its slots for all `maxDigests`
   * entries at its first store (3.5 MB of peak RSS at the default 100,000, issue 20), however
   * few blobs are ever asked for; without it they grow with the entries.
   * Every digest is sha256 or sha512 (the grammar admits no other), so each entry costs at
   * least DIGEST_ENTRY_BYTES and the byte bound holds the count to `maxDigests` as well.
   */
  private readonly byKey: LRUCache<number, Answer>;
  /**
   * What the last `holds` found: the digest asked for, its list, and the digest text the cache
   * keeps for it. A blob request asks `holds` (from the classifier), then `get` with the very
   * same string: `get` then compares by identity, where comparing a slice of the request target
   * character by character would cost what the number saved. Any change to the cache forgets it.
   */
  private recentDigest: string | undefined;
  private recentFirst: Answer | undefined;
  private recentStored: string | undefined;

  constructor(readonly maxDigests: number) {
    this.byKey = new LRUCache<number, Answer>({ maxSize: maxDigests * DIGEST_ENTRY_BYTES, sizeCalculation: entryBytes });
  }

  get(bucket: string, digest: string, now: number): 'present' | 'absent' | undefined {
    const recent = digest === this.recentDigest;
    // The kept text is the same object in every answer for its digest: compared by identity.
    const text = recent ? this.recentStored : digest;
    let previous: Answer | undefined;
    let answer = recent ? this.recentFirst : this.byKey.get(digestKey(digest));
    while (answer !== undefined) {
      if (answer.bucket === bucket && answer.digest === text) {
        if (answer.expiresAt > now) return answer.presence;
        this.unlink(digestKey(digest), previous, answer);
        return undefined;
      }
      previous = answer;
      answer = answer.next;
    }
    return undefined;
  }

  /** Whether any bucket's answer for this digest is held, fresh or not: it only ever holds digests the classifier admitted. */
  holds(digest: string): boolean {
    const first = this.byKey.get(digestKey(digest));
    for (let answer = first; answer !== undefined; answer = answer.next) {
      if (answer.digest === digest) {
        this.recentDigest = digest;
        this.recentFirst = first;
        this.recentStored = answer.digest;
        return true;
      }
    }
    this.forgetRecent();
    return false;
  }

  set(bucket: string, digest: string, presence: 'present' | 'absent', expiresAt: number): void {
    const key = digestKey(digest);
    const first = this.byKey.get(key);
    let text: string | undefined;
    let count = 0;
    let last: Answer | undefined;
    for (let answer = first; answer !== undefined; answer = answer.next) {
      if (answer.digest === digest) {
        if (answer.bucket === bucket) {
          answer.presence = presence;
          answer.expiresAt = expiresAt;
          return;
        }
        text = answer.digest;
      }
      count++;
      last = answer;
    }
    this.forgetRecent();
    // A full list drops its oldest answer, the one at its end.
    if (count >= MAX_ANSWERS_PER_KEY) this.dropAfter(first, last);
    // The digest was cut from the request target: a copy keeps the target itself collectable.
    this.byKey.set(key, { bucket, digest: text ?? detached(digest), presence, expiresAt, next: first });
  }

  /** Digests with at least one answer (two sharing a key count once; about one in 2^28 pairs does). */
  get size(): number {
    return this.byKey.size;
  }

  figures(): CacheFigures {
    return { entries: this.byKey.size, bytes: this.byKey.calculatedSize, maxEntries: this.maxDigests, maxBytes: this.maxDigests * DIGEST_ENTRY_BYTES };
  }

  clear(): void {
    this.forgetRecent();
    this.byKey.clear();
  }

  private forgetRecent(): void {
    this.recentDigest = undefined;
    this.recentFirst = undefined;
    this.recentStored = undefined;
  }

  /** Cuts `last` off the list that starts at `first`. */
  private dropAfter(first: Answer | undefined, last: Answer | undefined): void {
    for (let answer = first; answer !== undefined; answer = answer.next) {
      if (answer.next === last) {
        answer.next = undefined;
        return;
      }
    }
  }

  private unlink(key: number, previous: Answer | undefined, answer: Answer): void {
    this.forgetRecent();
    if (previous !== undefined) previous.next = answer.next;
    else if (answer.next !== undefined) this.byKey.set(key, answer.next);
    else this.byKey.delete(key);
  }
}
