import * as v from 'valibot';

/**
 * The per-bucket `signing:` block. Secrets never sit in the config file: they come from files
 * (Kubernetes Secret mounts) or the provider's usual environment variables, and are read by
 * `loadSigner` at load and on every reload. Identifiers that are not secret (region, key pair
 * id, account) are written inline.
 */

export const DEFAULT_EXPIRES_S = 600;
/** Below a minute, ordinary clock skew between replicas and the provider refuses URLs. */
export const MIN_EXPIRES_S = 60;
/** Seven days: the longest S3 (SigV4) and GCS (V4) accept, and our cap for the others. */
export const MAX_EXPIRES_S = 604_800;

const filePath = v.pipe(v.string('expected a file path'), v.trim(), v.nonEmpty('expected a file path'));

const expiresS = v.optional(
  v.pipe(
    v.number('expected a number of seconds'),
    v.integer('expected whole seconds'),
    v.minValue(MIN_EXPIRES_S, `expected at least ${MIN_EXPIRES_S} seconds`),
    v.maxValue(MAX_EXPIRES_S, `expected at most ${MAX_EXPIRES_S} seconds (7 days, the longest S3 and GCS accept)`),
  ),
  DEFAULT_EXPIRES_S,
);

export const s3SigningSchema = v.strictObject({
  type: v.literal('s3'),
  region: v.pipe(v.string('expected a region such as us-east-1'), v.regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a region such as us-east-1')),
  expires_s: expiresS,
  /** Without these three, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. */
  access_key_id_file: v.optional(filePath),
  secret_access_key_file: v.optional(filePath),
  session_token_file: v.optional(filePath),
});

export const cloudFrontSigningSchema = v.strictObject({
  type: v.literal('cloudfront'),
  key_pair_id: v.pipe(v.string('expected a public key id such as K2JCJMDEHXQW5F'), v.regex(/^[A-Z0-9]+$/, 'expected a public key id such as K2JCJMDEHXQW5F')),
  /** PEM RSA private key of that public key. */
  key_file: filePath,
  hash: v.optional(v.picklist(['sha1', 'sha256'], 'expected sha1 or sha256'), 'sha1'),
  expires_s: expiresS,
});

export const gcsSigningSchema = v.strictObject({
  type: v.literal('gcs'),
  /** Service-account JSON key (GOOG4-RSA-SHA256); default GOOGLE_APPLICATION_CREDENTIALS. */
  key_file: v.optional(filePath),
  /** HMAC key (GOOG4-HMAC-SHA256) instead of a service account: both files or neither. */
  hmac_access_id_file: v.optional(filePath),
  hmac_secret_file: v.optional(filePath),
  expires_s: expiresS,
});

export const azureSigningSchema = v.strictObject({
  type: v.literal('azure'),
  account: v.pipe(v.string('expected a storage account name'), v.regex(/^[a-z0-9]{3,24}$/, 'expected a storage account name (3-24 lower-case letters and digits)')),
  /** Base64 account key; default AZURE_STORAGE_KEY. */
  key_file: v.optional(filePath),
  /** Lets the SAS work over plain HTTP (Azurite, tests); Azure itself should stay HTTPS only. */
  allow_http: v.optional(v.boolean('expected true or false'), false),
  expires_s: expiresS,
});

export const signingSchema = v.variant(
  'type',
  [s3SigningSchema, cloudFrontSigningSchema, gcsSigningSchema, azureSigningSchema],
  'expected type: s3, cloudfront, gcs or azure',
);

export type SigningConfig = v.InferOutput<typeof signingSchema>;
export type S3SigningConfig = v.InferOutput<typeof s3SigningSchema>;
export type CloudFrontSigningConfig = v.InferOutput<typeof cloudFrontSigningSchema>;
export type GcsSigningConfig = v.InferOutput<typeof gcsSigningSchema>;
export type AzureSigningConfig = v.InferOutput<typeof azureSigningSchema>;
