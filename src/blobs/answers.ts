import { LRUCache } from 'lru-cache';
import { detached, MAP_ENTRY_BYTES, stringBytes, type CacheFigures } from '../cache-figures.js';

/**
 * Cached HEAD answers, keyed by digest first. A request's digest is looked up as is, so the
 * hot path builds no composite key string (hashing a fresh 80-character concatenation cost
 * more than the lookup itself); the few buckets that answered for one digest hang off it
 * as a short list compared by bucket name.
 */
interface Answer {
  readonly bucket: string;
  presence: 'present' | 'absent';
  /** On the checker's clock; the entry is ignored from this instant on. */
  expiresAt: number;
  next: Answer | undefined;
}

/** One answer object: four fields and a header. */
const ANSWER_BYTES = 56;
/**
 * lru-cache's own per-entry bookkeeping, plus its Map entry: without `max` its six slots (key,
 * value, two links, size, free list) are plain arrays of 8-byte elements, which grow by half
 * when full.
 */
const LRU_ENTRY_BYTES = 6 * 8 * 1.5 + MAP_ENTRY_BYTES;
/** A sha256 digest with one bucket's answer: the budget each of `maxDigests` entries gets. */
export const DIGEST_ENTRY_BYTES = LRU_ENTRY_BYTES + stringBytes('sha256:'.padEnd(71, '0')) + ANSWER_BYTES;

function entryBytes(first: Answer, digest: string): number {
  let bytes = LRU_ENTRY_BYTES + stringBytes(digest);
  for (let answer: Answer | undefined = first; answer !== undefined; answer = answer.next) bytes += ANSWER_BYTES;
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
  private readonly byDigest: LRUCache<string, Answer>;

  constructor(readonly maxDigests: number) {
    this.byDigest = new LRUCache<string, Answer>({ maxSize: maxDigests * DIGEST_ENTRY_BYTES, sizeCalculation: entryBytes });
  }

  get(bucket: string, digest: string, now: number): 'present' | 'absent' | undefined {
    let previous: Answer | undefined;
    let answer = this.byDigest.get(digest);
    while (answer !== undefined) {
      if (answer.bucket === bucket) {
        if (answer.expiresAt > now) return answer.presence;
        this.unlink(digest, previous, answer);
        return undefined;
      }
      previous = answer;
      answer = answer.next;
    }
    return undefined;
  }

  set(bucket: string, digest: string, presence: 'present' | 'absent', expiresAt: number): void {
    const first = this.byDigest.get(digest);
    for (let answer = first; answer !== undefined; answer = answer.next) {
      if (answer.bucket === bucket) {
        answer.presence = presence;
        answer.expiresAt = expiresAt;
        return;
      }
    }
    // The digest was cut from the request target: a copy keeps the target itself collectable.
    this.byDigest.set(detached(digest), { bucket, presence, expiresAt, next: first });
  }

  /** Digests with at least one answer. */
  get size(): number {
    return this.byDigest.size;
  }

  figures(): CacheFigures {
    return { entries: this.byDigest.size, bytes: this.byDigest.calculatedSize, maxEntries: this.maxDigests, maxBytes: this.maxDigests * DIGEST_ENTRY_BYTES };
  }

  clear(): void {
    this.byDigest.clear();
  }

  private unlink(digest: string, previous: Answer | undefined, answer: Answer): void {
    if (previous !== undefined) previous.next = answer.next;
    else if (answer.next !== undefined) this.byDigest.set(detached(digest), answer.next);
    else this.byDigest.delete(digest);
  }
}
