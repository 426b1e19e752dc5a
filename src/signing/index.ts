/** Private buckets: signers, their config, the warm-path cache and log redaction. */
export type { BlobSigner, SignedRequest, SigningType } from './types.js';
export {
  signingSchema,
  DEFAULT_EXPIRES_S,
  MIN_EXPIRES_S,
  MAX_EXPIRES_S,
  type SigningConfig,
  type S3SigningConfig,
  type CloudFrontSigningConfig,
  type GcsSigningConfig,
  type AzureSigningConfig,
} from './schema.js';
export { loadSigner, parseSigning, type SignerContext } from './load.js';
export type { SecretSource } from './credentials.js';
export { SigningConfigError } from './errors.js';
export { SIGNED_URL_MAX_BYTES, SIGNED_URL_MAX_ENTRIES, SignedUrlCache, signingWindowMs, windowStart, type SignedUrlCacheOptions } from './cache.js';
export { redactSecrets, SECRET_QUERY_PARAMS, REDACTED } from './redact.js';
export { s3Signer, type S3Credentials, type S3SignerOptions } from './s3.js';
export { cloudFrontSigner, type CloudFrontSignerOptions } from './cloudfront.js';
export { gcsSigner, type GcsSignerOptions, type GcsServiceAccount, type GcsHmacKey } from './gcs.js';
export { azureSigner, AZURE_SAS_VERSION, type AzureSignerOptions } from './azure.js';
