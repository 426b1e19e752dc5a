/**
 * Query parameters that carry a signature, a credential or a token. Lower case; matched
 * without regard to case because S3 accepts either spelling. `Key-Pair-Id` is kept: it names a
 * public key CloudFront publishes in the distribution and is what an operator needs to tell
 * keys apart, while `Signature` and `Policy` are what would let a reader replay the URL.
 * `X-Amz-Credential` and `X-Goog-Credential` go because they name the account or key.
 */
export const SECRET_QUERY_PARAMS: readonly string[] = [
  'x-amz-signature', 'x-amz-credential', 'x-amz-security-token',
  'x-goog-signature', 'x-goog-credential',
  'signature', 'policy',
  'sig',
  // Older signing schemes a bucket URL may still carry: SigV2 and GCS V2.
  'awsaccesskeyid', 'googleaccessid',
];

export const REDACTED = 'REDACTED';

const SECRET_PARAM = new RegExp(`([?&;](?:${SECRET_QUERY_PARAMS.map((p) => p.replace(/-/g, '\\-')).join('|')})=)[^&#\\s"'<>]*`, 'gi');

/**
 * Replaces the value of every secret query parameter in `text` with `REDACTED`. Works on a
 * URL or on any text holding URLs (an error message, a log line), leaves scheme, host, path
 * and every other parameter byte for byte as they were.
 */
export function redactSecrets(text: string): string {
  if (!text.includes('=')) return text;
  return text.replace(SECRET_PARAM, `$1${REDACTED}`);
}
