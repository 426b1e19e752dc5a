/**
 * One authenticated, rate-limited, retrying conversation with a registry. A 401 is answered
 * as clients answer it: Basic credentials, or a bearer token fetched for the request's scope
 * (kept until it expires). 429 waits for `Retry-After`; 5xx and resets back off with jitter.
 */
import { basicHeader, parseChallenge, parseTokenAnswer, tokenRequestUrl, type Challenge, type Credentials } from './auth.js';
import { discard, header, readText, send, type HttpResponse } from './http.js';
import { RequestLimiter } from './limiter.js';
import { isRetryableStatus, isTransientError, parseRetryAfter, retryDelayMs } from './retry.js';

export interface SessionOptions {
  credentials?: Credentials;
  retries: number;
  timeoutMs: number;
  limiter: RequestLimiter;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each wait, so a caller can report retries. */
  onRetry?: (what: string, attempt: number, waitMs: number, reason: string) => void;
}

export interface ScopedRequest {
  method: 'GET' | 'HEAD';
  url: URL;
  scope: string;
  accept?: string;
}

const TOKEN_BODY_LIMIT = 1024 * 1024;

export class RegistryError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'RegistryError';
  }
}

export class RegistrySession {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: SessionOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Sends with retries and authentication; the caller owns (and must consume) the body. */
  async request(request: ScopedRequest): Promise<HttpResponse> {
    let response = await this.withRetries(request, false);
    if (response.status === 401) {
      discard(response.body);
      this.challenge = parseChallenge(header(response.headers, 'www-authenticate'));
      this.tokens.delete(request.scope);
      response = await this.withRetries(request, true);
    }
    return response;
  }

  private async withRetries(request: ScopedRequest, afterChallenge: boolean): Promise<HttpResponse> {
    const what = `${request.method} ${request.url.pathname}`;
    for (let attempt = 0; ; attempt++) {
      let waitMs: number;
      let reason: string;
      try {
        const headers = await this.headersFor(request, afterChallenge);
        await this.options.limiter.acquire();
        const response = await send({ method: request.method, url: request.url, headers, timeoutMs: this.options.timeoutMs });
        if (!isRetryableStatus(response.status) || attempt >= this.options.retries) return response;
        discard(response.body);
        waitMs = retryDelayMs(attempt, this.random(), parseRetryAfter(header(response.headers, 'retry-after'), Date.now()));
        reason = `status ${response.status}`;
      } catch (error) {
        if (!isTransientError(error) || attempt >= this.options.retries) throw error;
        waitMs = retryDelayMs(attempt, this.random());
        reason = (error as Error).message;
      }
      this.options.onRetry?.(what, attempt + 1, waitMs, reason);
      await this.sleep(waitMs);
    }
  }

  private async headersFor(request: ScopedRequest, afterChallenge: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { 'user-agent': 'registry-edge-sync' };
    if (request.accept !== undefined) headers.accept = request.accept;
    const authorization = await this.authorization(request.scope, afterChallenge);
    if (authorization !== undefined) headers.authorization = authorization;
    return headers;
  }

  private async authorization(scope: string, afterChallenge: boolean): Promise<string | undefined> {
    const challenge = this.challenge;
    if (challenge === undefined) return undefined;
    const { credentials } = this.options;
    if (challenge.scheme === 'basic') {
      if (credentials === undefined) throw new RegistryError('the origin asks for a user and password (Basic) and sync.auth gives none', 401);
      return basicHeader(credentials);
    }
    if (challenge.scheme !== 'bearer') {
      if (afterChallenge) throw new RegistryError(`the origin asks for ${challenge.scheme} authentication, which sync does not speak`, 401);
      return undefined;
    }
    return `Bearer ${await this.token(challenge, scope)}`;
  }

  /** One token request per scope at a time: parallel first requests share its answer. */
  private token(challenge: Challenge, scope: string): Promise<string> {
    const cached = this.tokens.get(scope);
    if (cached !== undefined && cached.expiresAt > Date.now()) return Promise.resolve(cached.token);
    let pending = this.pendingTokens.get(scope);
    if (pending === undefined) {
      pending = this.fetchToken(challenge, scope).finally(() => this.pendingTokens.delete(scope));
      this.pendingTokens.set(scope, pending);
    }
    return pending;
  }

  private async fetchToken(challenge: Challenge, scope: string): Promise<string> {
    const url = tokenRequestUrl(challenge, scope);
    if (url === undefined) throw new RegistryError('the origin asks for a bearer token but names no http(s) realm', 401);
    const headers: Record<string, string> = { 'user-agent': 'registry-edge-sync' };
    if (this.options.credentials !== undefined) headers.authorization = basicHeader(this.options.credentials);
    await this.options.limiter.acquire();
    const response = await send({ method: 'GET', url, headers, timeoutMs: this.options.timeoutMs });
    const body = await readText(response.body, TOKEN_BODY_LIMIT);
    if (response.status !== 200) {
      throw new RegistryError(`token endpoint ${url.origin}${url.pathname} answered ${response.status} for scope ${scope}`, response.status);
    }
    const answer = parseTokenAnswer(body.toString('utf8'));
    this.tokens.set(scope, { token: answer.token, expiresAt: Date.now() + answer.lifetimeMs });
    return answer.token;
  }
}
