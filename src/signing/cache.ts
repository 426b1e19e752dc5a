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
 * Estimated heap cost of one entry beyond its two strings: the Map slot and two string
 * headers. It only has to be the right order of magnitude for the byte bound to mean something.
 */
const ENTRY_OVERHEAD_BYTES = 80;

export interface SignedUrlCacheOptions {
  signer: BlobSigner;
  /** The bucket's unsigned object URL for a digest (the key template applied). */
  objectUrl: (digest: string) => string;
  /** Upper bound on the estimated bytes held. */
  maxBytes: number;
}

/**
 * Signed `Location`s of one bucket, keyed by digest. The warm path is a window check and one
 * Map lookup; a miss signs once for the whole window. All entries of a window expire together,
 * so rotating is dropping the Map. Past `maxBytes` the oldest entries of the window go first:
 * a hot digest pushed out costs one more signature, never a wrong answer.
 */
export class SignedUrlCache {
  private readonly windowMs: number;
  private entries = new Map<string, string>();
  private currentStart = 0;
  private currentEnd = 0;
  private heldBytes = 0;

  constructor(private readonly options: SignedUrlCacheOptions) {
    this.windowMs = signingWindowMs(options.signer.expiresS);
  }

  /** The signed GET URL of `digest` for the window holding `nowMs` (epoch ms). */
  get(digest: string, nowMs: number): string {
    if (nowMs >= this.currentEnd || nowMs < this.currentStart) this.rotate(nowMs);
    const cached = this.entries.get(digest);
    if (cached !== undefined) return cached;
    const url = this.options.signer.presignGet(this.options.objectUrl(digest), this.currentStart);
    this.remember(digest, url);
    return url;
  }

  /** How many signed URLs and estimated bytes are held now. */
  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  clear(): void {
    this.entries = new Map();
    this.heldBytes = 0;
  }

  private rotate(nowMs: number): void {
    this.currentStart = windowStart(nowMs, this.windowMs);
    this.currentEnd = this.currentStart + this.windowMs;
    this.clear();
  }

  private remember(digest: string, url: string): void {
    const cost = digest.length + url.length + ENTRY_OVERHEAD_BYTES;
    if (cost > this.options.maxBytes) return;
    this.heldBytes += cost;
    while (this.heldBytes > this.options.maxBytes) {
      const oldest = this.entries.entries().next().value as [string, string];
      this.entries.delete(oldest[0]);
      this.heldBytes -= oldest[0].length + oldest[1].length + ENTRY_OVERHEAD_BYTES;
    }
    this.entries.set(digest, url);
  }
}
