/**
 * What the rest of registry-edge sees of a private bucket: a signer that turns a plain object
 * URL into one the bucket accepts. Signers are pure: the same inputs and time give the same
 * URL on every replica, which is what lets a CDN keyed on the full URL keep its hits.
 */

export type SigningType = 's3' | 'cloudfront' | 'gcs' | 'azure';

/** A request the existence checker can send as is. */
export interface SignedRequest {
  readonly url: string;
  /** Extra request headers the signature covers; no current provider needs any. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface BlobSigner {
  readonly type: SigningType;
  /** Lifetime of every URL this signer issues, in seconds. */
  readonly expiresS: number;
  /**
   * A URL for `GET` of the object, valid from `signedAtMs` (epoch ms, rounded down to the
   * second) for `expiresS` seconds. `url` is an object URL without query or fragment.
   */
  presignGet(url: string | URL, signedAtMs: number): string;
  /** The same for `HEAD`: S3 and GCS sign the method, CloudFront and Azure do not. */
  signedHead(url: string | URL, signedAtMs: number): SignedRequest;
}
