/**
 * Parsers for the access logs the real servers write. The suite's assertions are read from
 * these records, never from registry-edge's own counters.
 */

export interface AccessRecord {
  method: string;
  /** Request target as received: path plus query string. */
  target: string;
  status: number;
  /** Response body bytes sent. */
  bytes: number;
}

// Apache combined format, as written by the distribution registry's access logger.
const COMBINED = /^\S+ \S+ \S+ \[[^\]]+\] "(\S+) (\S+) HTTP\/[\d.]+" (\d{3}) (\d+|-)/;

/** Access records from the registry's output; its other (logrus) lines are skipped. */
export function parseCombinedLog(lines: readonly string[]): AccessRecord[] {
  const records: AccessRecord[] = [];
  for (const line of lines) {
    const match = COMBINED.exec(line);
    if (!match) continue;
    const [, method = '', target = '', status = '0', bytes = '-'] = match;
    records.push({ method, target, status: Number(status), bytes: bytes === '-' ? 0 : Number(bytes) });
  }
  return records;
}

/** The `log_format` the suite gives nginx: one JSON object per request. */
export const NGINX_JSON_LOG_FORMAT =
  `'{"method":"$request_method","target":"$request_uri","status":$status,"bytes":$body_bytes_sent}'`;

export function parseNginxJsonLog(text: string): AccessRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AccessRecord);
}

/** Path part of a request target, percent-decoded (clients may encode the digest's colon). */
export function targetPath(record: AccessRecord): string {
  const path = record.target.split('?')[0] ?? '';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const BLOB_PATH = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/;

/** `{ repository, digest }` when the record is a registry API blob request. */
export function registryBlobRequest(record: AccessRecord): { repository: string; digest: string } | undefined {
  const match = BLOB_PATH.exec(targetPath(record));
  if (!match) return undefined;
  return { repository: match[1] ?? '', digest: match[2] ?? '' };
}

/** Digest named by a bucket object request under the `blobs.key` layout, if any. */
export function bucketObjectDigest(record: AccessRecord, keyPrefix: string): string | undefined {
  const path = targetPath(record);
  if (!path.startsWith(keyPrefix)) return undefined;
  const digest = path.slice(keyPrefix.length);
  return /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
}
