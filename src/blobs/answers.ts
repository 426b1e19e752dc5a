import { LRUCache } from 'lru-cache';

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

export class AnswerCache {
  private readonly byDigest: LRUCache<string, Answer>;

  /** `maxDigests` bounds memory: each digest holds at most one answer per bucket. */
  constructor(maxDigests: number) {
    this.byDigest = new LRUCache<string, Answer>({ max: maxDigests });
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
    this.byDigest.set(digest, { bucket, presence, expiresAt, next: first });
  }

  /** Digests with at least one answer. */
  get size(): number {
    return this.byDigest.size;
  }

  clear(): void {
    this.byDigest.clear();
  }

  private unlink(digest: string, previous: Answer | undefined, answer: Answer): void {
    if (previous !== undefined) previous.next = answer.next;
    else if (answer.next !== undefined) this.byDigest.set(digest, answer.next);
    else this.byDigest.delete(digest);
  }
}
