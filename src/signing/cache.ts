import { BoundedMemo, detached, stringBytes, type CacheFigures } from '../cache-figures.js';
import type { BlobSigner } from './types.js';

/**
 * Signing windows: every replica signs a URL at the start of the window it is in, so all of
 * them hand out the same URL for the same blob until the window ends. A window is half the
 * lifetime (whole seconds), so a URL is never handed out with less than half of it left.
 */
export function signingWindowMs(expiresS: number): number {
  return Math.max(1, Math.floor(expiresS / 2)) * 1000;
}

/** Start (epoch ms) of the window holding `nowMs`. */
export function windowStart(nowMs: number, windowMs: number): number {
  return nowMs - (nowMs % windowMs);
}

/**
 * Bounds on the signed URLs one private bucket keeps per window. An entry is charged as the
 * other request-path memos charge theirs (cache-figures.ts): its Map slot and both strings at
 * two bytes a character. A sha256 entry with a 700-character S3 URL is then about 1.6 KiB, so
 * 20,000 of them fit in 32 MiB; longer URLs (an STS session token adds a kilobyte) hit the
 * byte bound first and fewer fit.
 */
export const SIGNED_URL_MAX_ENTRIES = 20_000;
export const SIGNED_URL_MAX_BYTES = 32 * 1024 * 1024;

export interface SignedUrlCacheOptions {
  signer: BlobSigner;
  /** The bucket's unsigned object URL for a digest (the key template applied). */
  objectUrl: (digest: string) => string;
  maxEntries?: number;
  maxBytes?: number;
}

/**
 * Signed `Location`s of one bucket, keyed by digest. The warm path is a window check and one
 * Map lookup; a miss signs once for the whole window. All entries of a window expire together,
 * so rotating is starting over. Past either bound the memo starts over too: a hot digest
 * dropped costs one more signature, never a wrong answer.
 */
export class SignedUrlCache {
  private readonly windowMs: number;
  private readonly memo: BoundedMemo<string>;
  private currentStart = 0;
  private currentEnd = 0;

  constructor(private readonly options: SignedUrlCacheOptions) {
    this.windowMs = signingWindowMs(options.signer.expiresS);
    this.memo = new BoundedMemo(options.maxEntries ?? SIGNED_URL_MAX_ENTRIES, options.maxBytes ?? SIGNED_URL_MAX_BYTES, stringBytes);
  }

  /** The signed GET URL of `digest` for the window holding `nowMs` (epoch ms). */
  get(digest: string, nowMs: number): string {
    if (nowMs >= this.currentEnd || nowMs < this.currentStart) this.rotate(nowMs);
    const cached = this.memo.get(digest);
    if (cached !== undefined) return cached;
    // The digest is cut from the request target, and a URL built by concatenation is a rope
    // of its pieces (that digest among them): flat copies keep what is charged what is held.
    // Both are ASCII (the digest grammar; signers build on URL-parsed, percent-encoded parts).
    const key = detached(digest);
    const url = detached(this.options.signer.presignGet(this.options.objectUrl(key), this.currentStart));
    this.memo.set(key, url);
    return url;
  }

  /** Entries and estimated bytes held now, and both bounds. */
  figures(): CacheFigures {
    return this.memo.figures();
  }

  clear(): void {
    this.memo.clear();
  }

  private rotate(nowMs: number): void {
    this.currentStart = windowStart(nowMs, this.windowMs);
    this.currentEnd = this.currentStart + this.windowMs;
    this.memo.clear();
  }
}
