import type { BucketConfig } from '../config/types.js';
import { redactSecrets, type BlobSigner } from '../signing/index.js';
import type { HeadResult } from './head.js';
import type { Logger } from './types.js';

/** One existence HEAD as sent: the URL (signed for a private bucket) and any signed headers. */
export interface HeadTarget {
  url: string;
  headers: Readonly<Record<string, string>> | undefined;
  signed: boolean;
}

export const SIGNATURE_REFUSED = 'signature refused (403): the credentials, region, clock or policy are wrong';

/**
 * Builds the HEAD for (bucket, digest) and reads its answer. A private bucket's HEAD is signed
 * with the same credentials as its redirects; a 403 to a signed HEAD means the bucket refused
 * the signature, not that the blob is missing, so it becomes its own outcome (never cached as
 * absent) and is logged once per bucket and generation.
 */
export class HeadTargets {
  private readonly warned = new Set<string>();

  constructor(
    private readonly keyParts: readonly string[],
    private readonly signers: ReadonlyMap<string, BlobSigner>,
    private readonly wallClock: () => number,
    private readonly logger: Logger | undefined,
  ) {}

  target(bucket: BucketConfig, digest: string): HeadTarget {
    const url = bucket.url + this.keyParts.join(digest);
    const signer = this.signers.get(bucket.name);
    if (signer === undefined) return { url, headers: undefined, signed: false };
    const request = signer.signedHead(url, this.wallClock());
    return { url: request.url, headers: request.headers, signed: true };
  }

  /** The HEAD's result as the checker counts it. */
  classify(bucket: BucketConfig, target: HeadTarget, result: HeadResult): HeadResult {
    if (!target.signed || result.status !== 403) return result;
    if (!this.warned.has(bucket.name)) {
      this.warned.add(bucket.name);
      this.logger?.warn(
        { bucket: bucket.name, url: redactSecrets(target.url), status: 403, reason: SIGNATURE_REFUSED },
        'private bucket refused a signed existence check; its blobs go to the origin until it accepts one',
      );
    }
    return { outcome: 'signature_refused', status: 403, error: SIGNATURE_REFUSED };
  }
}
