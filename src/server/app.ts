import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { IncomingMessage } from 'node:http';
import { classify, type Route, type RouteKind } from '../routing/classify.js';
import { ALLOWED_METHODS, decide, isReadMethod, ociErrorBody, type Decision } from '../routing/decide.js';
import { resolveClientIp, type ClientIpResult } from '../net/client-ip.js';
import { truncateIp, type IpFamily } from '../net/ip.js';
import type { ClientLocation } from '../geo/types.js';
import type { Logger } from '../log.js';
import { routeBlob, type BlobOutcome } from './route-blob.js';
import type { Runtime, RuntimeHolder } from './runtime.js';

/** What happened to one request, for logs and metrics. */
export interface RequestRecord {
  method: string;
  kind: RouteKind | 'method_not_allowed' | 'rate_limited';
  status: number;
  /** `origin`, `signatures`, `info`, `privacy`, a bucket name, or `none`. */
  target: string;
  /** Repository name, when the route has one (metrics export it only when asked to). */
  repo: string | undefined;
  client: ClientLocation | undefined;
  ip: string | undefined;
  family: IpFamily | undefined;
  durationMs: number;
}

export interface AppHooks {
  onRequest?(record: RequestRecord, rt: Runtime): void;
  /** Seconds the client must wait when over its rate limit, else 0. */
  rateLimit?(ip: string, rt: Runtime): number;
}

type Env = { Bindings: HttpBindings };
type ErrorDecision = Extract<Decision, { type: 'error' }>;

const API_VERSION = { 'Docker-Distribution-Api-Version': 'registry/2.0' } as const;
const PING_HEADERS = { ...API_VERSION, 'Content-Length': '0' } as const;
const JSON_TYPE = 'application/json; charset=utf-8';

/*
 * Responses are built as plain `new Response(body, {status, headers: {...}})`: @hono/node-server
 * writes such a response straight to node's writeHead without ever creating a Headers object
 * (hono's `c.body` with two or more headers builds one, which showed up in profiles).
 */
function errorResponse(decision: ErrorDecision, extra?: Record<string, string>): Response {
  if (decision.code === undefined) {
    return new Response(`${decision.message}\n`, { status: decision.status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...extra } });
  }
  return new Response(ociErrorBody(decision.code, decision.message), {
    status: decision.status,
    headers: { 'Content-Type': JSON_TYPE, ...API_VERSION, ...extra },
  });
}

function redirectTo(location: string): Response {
  return new Response(null, { status: 307, headers: { Location: location, 'Content-Length': '0' } });
}

function repoOf(route: Route): string | undefined {
  return 'name' in route ? route.name : undefined;
}

/**
 * X-Forwarded-For read straight from the raw header list, lines joined as node would: touching
 * `incoming.headers` makes node build the whole header object, which cost a blob redirect
 * more than all of its routing.
 */
export function forwardedFor(rawHeaders: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 15 && name.toLowerCase() === 'x-forwarded-for') {
      const line = rawHeaders[i + 1] as string;
      value = value === undefined ? line : `${value}, ${line}`;
    }
  }
  return value;
}

/** Distinct X-Forwarded-For values remembered; the map starts over when full. */
const MAX_REMEMBERED_HEADERS = 10_000;

/**
 * Parsed client addresses by the X-Forwarded-For value they came from: a pull sends the same
 * header with every request (manifests, config, each layer), so only its first request parses
 * it. Results are pure functions of (header, trusted_hops); a reload that changes the hops
 * starts the memo over.
 */
class ForwardedMemo {
  private readonly byHeader = new Map<string, ClientIpResult>();
  private hops = -1;

  resolve(header: string | undefined, socketAddress: string | undefined, hops: number): ClientIpResult {
    if (header === undefined) return resolveClientIp(socketAddress, undefined, hops);
    if (hops !== this.hops) {
      this.byHeader.clear();
      this.hops = hops;
    }
    let result = this.byHeader.get(header);
    if (result === undefined) {
      result = resolveClientIp(socketAddress, header, hops);
      if (this.byHeader.size >= MAX_REMEMBERED_HEADERS) this.byHeader.clear();
      this.byHeader.set(header, result);
    }
    return result;
  }
}

/** One request in flight: what the log line and the metrics need once it is answered. */
interface Exchange {
  rt: Runtime;
  incoming: IncomingMessage;
  method: string;
  started: number;
  ip: ClientIpResult | undefined;
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
  const forwarded = new ForwardedMemo();
  const clientIpOf = (incoming: IncomingMessage, rt: Runtime): ClientIpResult => {
    const hops = rt.config.client_ip.trusted_hops;
    return hops > 0 ? forwarded.resolve(forwardedFor(incoming.rawHeaders), incoming.socket.remoteAddress, hops) : resolveClientIp(incoming.socket.remoteAddress, undefined, 0);
  };

  const record = (
    x: Exchange,
    kind: RequestRecord['kind'],
    status: number,
    target: string,
    repo?: string,
    client?: ClientLocation,
  ): void => {
    const durationMs = performance.now() - x.started;
    const logged = logger.isLevelEnabled(status >= 500 ? 'error' : 'info');
    if (x.ip === undefined && logged && x.rt.config.log.client_ip !== 'none') x.ip = clientIpOf(x.incoming, x.rt);
    const ip = x.ip?.ok ? x.ip : undefined;
    const entry: RequestRecord = { method: x.method, kind, status, target, repo, client, ip: ip?.ip, family: ip?.family, durationMs };
    hooks.onRequest?.(entry, x.rt);
    if (logged) logRequest(logger, x.rt, entry);
  };

  const blobRedirect = (x: Exchange, repo: string, outcome: BlobOutcome): Response => {
    record(x, 'blob', 307, outcome.target, repo, outcome.client);
    return redirectTo(outcome.location);
  };

  app.all('*', (c): Response | Promise<Response> => {
    const incoming = c.env.incoming;
    const x: Exchange = { rt: holder.current, incoming, method: incoming.method ?? 'GET', started: performance.now(), ip: undefined };

    if (hooks.rateLimit !== undefined) {
      x.ip = clientIpOf(incoming, x.rt);
      const wait = x.ip.ok ? hooks.rateLimit(x.ip.ip, x.rt) : 0;
      if (wait > 0) {
        record(x, 'rate_limited', 429, 'none');
        return new Response(ociErrorBody('TOOMANYREQUESTS', 'too many requests from this address; retry later'), {
          status: 429,
          headers: { 'Content-Type': JSON_TYPE, 'Retry-After': String(Math.max(1, Math.ceil(wait))), ...API_VERSION },
        });
      }
    }

    if (!isReadMethod(x.method)) {
      record(x, 'method_not_allowed', 405, 'none');
      return errorResponse(
        { type: 'error', status: 405, code: 'UNSUPPORTED', message: 'method not allowed: this front door serves pulls only (GET, HEAD)' },
        { Allow: ALLOWED_METHODS },
      );
    }

    const route = classify(incoming.url ?? '/');
    const decision = decide(route, x.rt.plan);
    switch (decision.type) {
      case 'redirect':
        record(x, route.kind, 307, decision.target, repoOf(route));
        return redirectTo(decision.location);
      case 'ping':
        record(x, route.kind, 200, 'none');
        return new Response(null, { status: 200, headers: PING_HEADERS });
      case 'error':
        record(x, route.kind, decision.status, 'none', repoOf(route));
        return errorResponse(decision);
      case 'blob': {
        const ip = (x.ip ??= clientIpOf(incoming, x.rt));
        if (!ip.ok) {
          record(x, route.kind, 400, 'none', decision.name);
          return errorResponse({ type: 'error', status: 400, code: 'UNSUPPORTED', message: `cannot determine the client address: ${ip.reason}` });
        }
        const outcome = routeBlob(x.rt, decision.name, decision.digest, ip.ip, ip.family);
        // Only a cache miss pays for a closure; the warm path stays allocation-light.
        if (outcome instanceof Promise) return outcome.then((settled) => blobRedirect(x, decision.name, settled));
        return blobRedirect(x, decision.name, outcome);
      }
    }
  });

  app.onError((error, c) => {
    logger.error({ err: error, url: c.env.incoming.url }, 'request failed');
    return new Response(ociErrorBody('UNSUPPORTED', 'internal error'), { status: 500, headers: { 'Content-Type': JSON_TYPE } });
  });

  return app;
}

function logRequest(logger: Logger, rt: Runtime, record: RequestRecord): void {
  const mode = rt.config.log.client_ip;
  const ip =
    record.ip === undefined || mode === 'none' ? undefined : mode === 'full' ? record.ip : truncateIp(record.ip, record.family ?? 'ipv4');
  const fields = {
    method: record.method,
    route: record.kind,
    status: record.status,
    target: record.target,
    bucket: record.kind === 'blob' && record.target !== 'origin' && record.target !== 'none' ? record.target : undefined,
    provider: record.client?.provider,
    region: record.client?.region,
    client_ip: ip,
    ms: Math.round(record.durationMs * 1000) / 1000,
  };
  if (record.status >= 500) logger.error(fields, 'request');
  else logger.info(fields, 'request');
}
