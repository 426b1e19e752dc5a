import type { BlobSigner } from './types.js';
import { hmacSignature, methodSigner, V4QuerySigner, type V4Dialect } from './v4.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present with temporary credentials (STS, IRSA, SSO). */
  sessionToken?: string;
}

export interface S3SignerOptions {
  region: string;
  expiresS: number;
  credentials: S3Credentials;
}

/**
 * SigV4 query presigning for S3 and S3-compatible stores. Path-style and virtual-hosted URLs
 * need nothing special: the host and path are signed as the URL spells them. The
 * `X-Amz-Content-Sha256=UNSIGNED-PAYLOAD` parameter is what the AWS SDK v3 emits too, so every
 * URL here is one the SDK would also hand out.
 */
export function s3Signer(options: S3SignerOptions): BlobSigner {
  const dialect: V4Dialect = {
    algorithm: 'AWS4-HMAC-SHA256',
    prefix: 'X-Amz-',
    region: options.region,
    service: 's3',
    terminator: 'aws4_request',
    afterAlgorithm: '&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD',
    signatureLast: false,
  };
  const { accessKeyId, secretAccessKey, sessionToken } = options.credentials;
  const v4 = new V4QuerySigner(dialect, accessKeyId, sessionToken, options.expiresS, hmacSignature('AWS4', secretAccessKey, dialect));
  return methodSigner('s3', options.expiresS, v4);
}
