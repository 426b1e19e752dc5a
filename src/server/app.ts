import { redactSecrets } from '../signing/index.js';
import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { ALLOWED_METHODS, ociErrorBody, type Answer, type AnswerKind, type ErrorAnswer } from '../routing/decide.js';
import { decideRequest, type ClientAddress } from '../routing/request.js';
import { resolveClientIp, type ClientIpResult } from '../net/client-ip.js';
import type { IpFamily } from '../net/ip.js';
import { forwardedFor } from '../net/forwarded.js';
import type { ClientLocation } from '../geo/types.js';
import { lineTargetOf, type LineTarget, type Logger } from '../log.js';
import { loggedIp, pullFields, requestIdOf, wantsEvent } from './pull-event.js';
import { requestLine } from './request-line.js';
import { requestStarted } from '../ops/memory-release.js';
import type { Runtime, RuntimeHolder } from './runtime.js';

/** What happened to one request, for logs and metrics. */
export interface RequestRecord {
  method: string;
  kind: AnswerKind | 'rate_limited';
  status: number;
  /** `origin`, `signatures`, `info`, `privacy`, a bucket name, or `none`. */
  target: string;
  /** Repository name, when the route has one (metrics export it only when asked to). */
  repo: string | undefined;
  client: ClientLocation | undefined;
  /** Why a blob went to the origin instead of a bucket. */
  reason: string | undefined;
  ip: string | undefined;
  family: IpFamily | undefined;
  durationMs: number;
  /** The host of the origin (primary or replica) a redirect to an origin chose. */
  origin: string | undefined;
}

export interface AppHooks {
  onRequest?(record: RequestRecord, rt: Runtime): void;
}

type Env = { Bindings: HttpBindings };

const API_VERSION = { 'Docker-Distribution-Api-Version': 'registry/2.0' } as const;
const JSON_TYPE = 'application/json; charset=utf-8';

/*
 * Responses are built as plain `new Response(body, {status, headers: {...}})`: @hono/node-server
 * hands such a header object straight to node's writeHead without ever creating a Headers object
 * (hono's `c.body` with two or more headers builds one, which showed up in profiles). The
 * request id rides in that same object: a header set on node's response beforehand makes
 * writeHead merge every header into its own map, one setHeader call each.
 */
function errorResponse(answer: ErrorAnswer, requestId: string): Response {
  if (answer.code === undefined) {
    return new Response(`${answer.message}\n`, { status: answer.status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Request-Id': requestId } });
  }
  const body = ociErrorBody(answer.code, answer.message);
  if (answer.kind === 'method_not_allowed') {
    return new Response(body, { status: answer.status, headers: { 'Content-Type': JSON_TYPE, ...API_VERSION, Allow: ALLOWED_METHODS, 'X-Request-Id': requestId } });
  }
  return new Response(body, { status: answer.status, headers: { 'Content-Type': JSON_TYPE, ...API_VERSION, 'X-Request-Id': requestId } });
}

function response(answer: Answer, requestId: string): Response {
  switch (answer.type) {
    case 'redirect':
      return new Response(null, { status: 307, headers: { Location: answer.location, 'Content-Length': '0', 'X-Request-Id': requestId } });
    case 'ping':
      return new Response(null, { status: 200, headers: { 'Docker-Distribution-Api-Version': 'registry/2.0', 'Content-Length': '0', 'X-Request-Id': requestId } });
    case 'error':
      return errorResponse(answer, requestId);
  }
}

/** One request in flight: what the decision may ask, and what the log line and the metrics need once it is answered. */
class Exchange implements ClientAddress {
  ip: ClientIpResult | undefined = undefined;
  readonly started = performance.now();
  /** The caller's X-Request-Id, or one made for it; echoed on the response. */
  readonly requestId: string;

  constructor(
    readonly rt: Runtime,
    readonly incoming: IncomingMessage,
    readonly method: string,
  ) {
    this.requestId = requestIdOf(incoming.rawHeaders);
  }

  /**
   * Resolved at most once per request, for the decision, the rate limit or the log line. With
   * trusted hops the address is read from X-Forwarded-For alone, so the socket's peer (a getter
   * that asks the kernel's cached name through a megamorphic load) is read only without them.
   */
  clientIp(): ClientIpResult {
    if (this.ip === undefined) {
      this.ip = this.rt.config.client_ip.trusted_hops > 0
        ? this.rt.forwarded.resolve(forwardedFor(this.incoming.rawHeaders))
        : resolveClientIp(this.incoming.socket.remoteAddress, undefined, 0);
    }
    return this.ip;
  }
}

/**
 * The public listener's application: one catch-all handler, because the decision comes from
 * our own classifier over the raw request target, not from a router that would decode and
 * normalise the path first.
 */
export function createApp(holder: RuntimeHolder, logger: Logger, hooks: AppHooks = {}): Hono<Env> {
  // The classifier reads the raw target itself, so hono's router only needs to reach the one
  // catch-all handler: a constant path spares it parsing every URL (1.4% of a redirect's CPU).
  const app = new Hono<Env>({ getPath: () => '/' });

  const logs = new GenerationLog();
  const record = (x: Exchange, kind: RequestRecord['kind'], status: number, target: string, repo?: string, client?: ClientLocation, reason?: string, origin?: string): void => {
    const durationMs = performance.now() - x.started;
    const log = logs.of(x.rt);
    const logged = status >= 500 ? log.errors : log.infos;
    const event = logged && wantsEvent(kind, x.rt.config.log.events);
    const ip = x.ip === undefined && !(logged && (event || x.rt.config.log.client_ip !== 'none')) ? undefined : x.clientIp();
    const known = ip?.ok ? ip : undefined;
    const entry: RequestRecord = { method: x.method, kind, status, target, repo, client, reason, ip: known?.ip, family: known?.family, durationMs, origin };
    hooks.onRequest?.(entry, x.rt);
    if (logged) writeRequestLine(x, entry, event, log.lines);
  };

  const answer = (x: Exchange, settled: Answer): Response => {
    if (settled.type === 'redirect') record(x, settled.kind, 307, settled.target, settled.repo, settled.client, settled.reason, settled.origin);
    else if (settled.type === 'error') record(x, settled.kind, settled.status, 'none', settled.repo);
    else record(x, settled.kind, 200, 'none');
    return response(settled, x.requestId);
  };

  app.all('*', (c): Response | Promise<Response> => {
    requestStarted();
    const incoming = c.env.incoming;
    const x = new Exchange(holder.current, incoming, incoming.method ?? 'GET');
    try {
      const wait = rateLimitWait(x);
      if (wait > 0) {
        record(x, 'rate_limited', 429, 'none');
        return tooManyRequests(wait, x.requestId);
      }
      const decided = decideRequest(x.rt, x.method, incoming.url ?? '/', x);
      // Only a cache miss pays for a closure; every other answer is synchronous.
      if (decided instanceof Promise) {
        // The generation stays open until this answer is out, and closes once no answer is owed.
        x.rt.hold();
        return decided.then((settled) => answer(x, settled), (error: unknown) => failed(c.env.outgoing, x, error)).finally(() => x.rt.unhold());
      }
      return answer(x, decided);
    } catch (error) {
      return failed(c.env.outgoing, x, error);
    }
  });

  app.onError((error, c) => {
    logger.error({ err: error, url: redactSecrets(c.env.incoming.url ?? '') }, 'request failed');
    return new Response(ociErrorBody('UNSUPPORTED', 'internal error'), { status: 500, headers: { 'Content-Type': JSON_TYPE } });
  });

  return app;
}

/** Seconds this client must wait under the generation's rate limit; 0 when it may go on (or no limit is set). */
function rateLimitWait(x: Exchange): number {
  const limiter = x.rt.limiter;
  if (limiter === undefined) return 0;
  const ip = x.clientIp();
  return ip.ok ? limiter.wait(ip.ip) : 0;
}

function tooManyRequests(waitSeconds: number, requestId: string): Response {
  return new Response(ociErrorBody('TOOMANYREQUESTS', 'too many requests from this address; retry later'), {
    status: 429,
    headers: { 'Content-Type': JSON_TYPE, 'Retry-After': String(Math.max(1, Math.ceil(waitSeconds))), ...API_VERSION, 'X-Request-Id': requestId },
  });
}

/** A request that threw still echoes its id: set on node's response, where onError's answer picks it up. */
function failed(outgoing: ServerResponse, x: Exchange, error: unknown): never {
  if (!outgoing.headersSent) outgoing.setHeader('X-Request-Id', x.requestId);
  throw error;
}

/**
 * What the request path asks of a generation's logger, read once per generation: its level is
 * set when the generation is built and never changes, and asking pino per request (a level
 * lookup by name, a comparison call, the stream behind a symbol) cost more than the answer.
 */
class GenerationLog {
  private rt: Runtime | undefined;
  infos = false;
  errors = false;
  /** Read with the level: nothing is written before the first `of`. */
  lines: LineTarget = { write: () => false };

  of(rt: Runtime): this {
    if (rt !== this.rt) {
      this.rt = rt;
      this.infos = rt.logger.isLevelEnabled('info');
      this.errors = rt.logger.isLevelEnabled('error');
      this.lines = lineTargetOf(rt.logger);
    }
    return this;
  }
}

/** The request line (with its pull event when one is wanted), straight to the log's sink. */
function writeRequestLine(x: Exchange, entry: RequestRecord, event: boolean, lines: LineTarget): void {
  const { client, ip } = entry;
  // An event names the client's cloud and region, so it locates the client even when the decision did not.
  const located = event && client === undefined && ip !== undefined ? x.rt.locator.locate(ip) : client;
  const line = requestLine(Date.now(), process.pid, {
    method: entry.method,
    kind: entry.kind,
    status: entry.status,
    target: entry.target,
    provider: client?.provider,
    region: client?.region,
    reason: entry.reason,
    origin: entry.origin,
    clientIp: loggedIp(ip, entry.family, x.rt.config.log.client_ip),
    requestId: x.requestId,
    durationMs: entry.durationMs,
  }, event ? pullFields(x.incoming, entry.repo, located) : undefined);
  lines.write(line);
}
