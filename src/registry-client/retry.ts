/**
 * When to try an origin request again, and how long to wait first: pure functions, so the
 * schedule is tested by tables and the waiting lives at the edge.
 */

/** Statuses a registry (or the CDN in front of it) answers when trying later may work. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** Network failures that a fresh connection may not hit again. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH',
  'EHOSTUNREACH', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE', 'ENOTFOUND_TRANSIENT',
]);

export function isTransientError(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/** A failure the caller marks as worth another attempt (a timeout, a truncated body). */
export class TransientError extends Error {
  override name = 'TransientError';
}

/**
 * Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. Capped, so
 * a hostile or broken origin cannot park the sync for a day.
 */
export function parseRetryAfter(header: string | undefined, nowMs: number, capMs = 300_000): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, capMs);
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000 };

/**
 * "Full jitter" exponential backoff: a uniform wait in [0, min(max, base * 2^attempt)], so
 * many workers that failed together do not come back together. A server's Retry-After wins.
 * `random` is in [0, 1).
 */
export function retryDelayMs(attempt: number, random: number, retryAfterMs?: number, policy = DEFAULT_BACKOFF): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random * ceiling);
}
