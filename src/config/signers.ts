/**
 * The signers of a configuration's private buckets. Built by the loader, so a key file that
 * cannot be read or an identity that cannot sign is a configuration error (exit 78 at start,
 * the old generation kept on reload), and every reload reads the credential files again.
 */
import { loadSigner, SigningConfigError, type BlobSigner } from '../signing/index.js';
import { ConfigError } from './errors.js';
import type { Config } from './types.js';

/** Bucket name → signer, for the buckets with a `signing:` block. */
export type BucketSigners = ReadonlyMap<string, BlobSigner>;

export const NO_SIGNERS: BucketSigners = new Map();

export function loadSigners(config: Config, source: string, env: NodeJS.ProcessEnv = process.env): BucketSigners {
  const signers = new Map<string, BlobSigner>();
  const problems: string[] = [];
  config.buckets.forEach((bucket, index) => {
    if (bucket.signing === undefined) return;
    try {
      signers.set(bucket.name, loadSigner(bucket.signing, { field: `buckets[${index}].signing`, bucketUrl: bucket.url, secrets: { env } }));
    } catch (error) {
      if (!(error instanceof SigningConfigError)) throw error;
      problems.push(error.message);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems, source);
  return signers.size === 0 ? NO_SIGNERS : signers;
}
