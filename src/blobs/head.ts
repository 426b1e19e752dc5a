import http from 'node:http';
import https from 'node:https';
import type { HeadOutcome } from './types.js';

export interface HeadResult {
  outcome: HeadOutcome;
  /** HTTP status when the bucket answered at all. */
  status?: number;
  /** Error code or message for `error` outcomes (`timeout after N ms` for timeouts). */
  error?: string;
}

/** Why a HEAD gave no present/absent answer, in a few words: `ECONNREFUSED`, `timeout after 5000 ms`, `status 503`. */
export function failureCause(result: HeadResult): string {
  return result.error ?? (result.status === undefined ? result.outcome : `status ${result.status}`);
}

/**
 * What a HEAD status means for presence. 403 counts as absent because S3 and GCS answer 403
 * for a missing object when the reader may not list the bucket. A redirect is never presence:
 * S3 answers 301 for a bucket addressed in the wrong region, which is a configuration error.
 */
export function classifyStatus(status: number): HeadOutcome {
  if (status >= 200 && status < 300) return 'present';
  if (status === 404 || status === 403) return 'absent';
  if (status >= 300 && status < 400) return 'redirect';
  if (status >= 400 && status < 500) return 'status_4xx';
  if (status >= 500 && status < 600) return 'status_5xx';
  return 'status_other';
}

/**
 * Errors worth one retry on a fresh connection: a pooled keep-alive socket the bucket closed
 * while it sat idle fails like this before any response byte arrives.
 */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export interface HeadClientOptions {
  /** Bounds connect + response headers, including time queued for a pooled socket. */
  timeoutMs: number;
  /** Upper bound on sockets per bucket host. */
  maxSockets: number;
  headers?: Record<string, string>;
}

/** Sends HEAD requests over keep-alive pools; never follows redirects, never reads bodies. */
export class HeadClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly running = new Set<() => void>();
  private readonly headers: Record<string, string>;

  constructor(private readonly options: HeadClientOptions) {
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets,
      maxFreeSockets: Math.min(options.maxSockets, 64),
      // Reusing the most recent socket keeps the pool small and lets idle ones expire.
      scheduling: 'lifo' as const,
      // Idle pooled sockets are dropped before typical bucket idle limits (S3: ~20 s).
      timeout: 15_000,
    };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
    this.headers = { ...options.headers };
  }

  /** Resolves with the outcome; never rejects. */
  head(url: string, signedHeaders?: Readonly<Record<string, string>>): Promise<HeadResult> {
    const headers = signedHeaders === undefined ? this.headers : { ...this.headers, ...signedHeaders };
    const target = headTarget(url);
    if (typeof target === 'string') return Promise.resolve({ outcome: 'error', error: target });
    return new Promise<HeadResult>((resolve) => {
      const secure = target.protocol === 'https:';
      const transport = secure ? https : http;
      const agent = secure ? this.httpsAgent : this.httpAgent;

      let request: http.ClientRequest | undefined;
      let settled = false;
      const finish = (result: HeadResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.running.delete(abort);
        resolve(result);
      };
      const abort = (): void => {
        finish({ outcome: 'error', error: 'closed' });
        request?.destroy();
      };
      const timer = setTimeout(() => {
        finish({ outcome: 'timeout', error: `timeout after ${this.options.timeoutMs} ms` });
        request?.destroy();
      }, this.options.timeoutMs);
      this.running.add(abort);

      const send = (firstAttempt: boolean): void => {
        const req = transport.request(target, { method: 'HEAD', agent, headers });
        request = req;
        req.on('response', (res) => {
          res.on('error', ignore);
          const status = res.statusCode ?? 0;
          const outcome = classifyStatus(status);
          if (settled) {
            res.destroy();
            return;
          }
          // Only plain answers give the socket back to the pool; anything odd may carry
          // a body or a broken framing that would poison the next request on it.
          if (outcome === 'present' || outcome === 'absent') res.resume();
          else res.destroy();
          finish({ outcome, status });
        });
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (settled) return;
          const code = err.code ?? err.message;
          if (firstAttempt && req.reusedSocket && STALE_SOCKET_CODES.has(code)) {
            send(false);
            return;
          }
          finish({ outcome: 'error', error: code });
        });
        req.end();
      };
      send(true);
    });
  }

  close(): void {
    for (const abort of [...this.running]) abort();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function ignore(): void {}

/** The URL to send a HEAD to, or why there is none. */
function headTarget(url: string): URL | string {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return 'invalid URL';
  }
  return target.protocol === 'https:' || target.protocol === 'http:' ? target : `unsupported protocol ${target.protocol}`;
}
