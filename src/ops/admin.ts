import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ReloadReport } from './reload.js';
import { bind } from './startup.js';

export interface Readiness {
  ready: boolean;
  /** Why not, when not ready. */
  reason?: string;
  [detail: string]: unknown;
}

/** A `/debug/route` question: how would a request from `ip` for `path` be answered? */
export interface RouteQuery {
  ip: string;
  path: string;
  method: string;
}

/** What the admin endpoints ask; one implementation per process model (single, cluster primary). */
export interface AdminBackend {
  readiness(): Readiness;
  metrics(): Promise<{ contentType: string; body: string }>;
  explain(request: RouteQuery): Promise<unknown>;
  reload(): Promise<ReloadReport>;
  workers(): unknown[];
}

export interface AdminServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `admin.port: 0` turns the admin listener off (so does an empty `admin.host`). */
export function adminEnabled(admin: Config['admin']): boolean {
  return admin.port !== 0 && admin.host !== '';
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** Admin answers are small and fast; a client holding a socket longer is not one we serve. */
const ADMIN_TIMEOUT_MS = 10_000;

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, `${JSON.stringify(value, null, 2)}\n`, JSON_TYPE);
}

type Handler = (url: URL, req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** Maps every admin path to its method and handler; anything else is 404, a wrong method 405. */
function routes(backend: AdminBackend): Record<string, { method: 'GET' | 'POST'; handle: Handler }> {
  return {
    '/healthz': { method: 'GET', handle: (_url, _req, res) => send(res, 200, 'ok\n') },
    '/readyz': {
      method: 'GET',
      handle: (_url, _req, res) => {
        const readiness = backend.readiness();
        sendJson(res, readiness.ready ? 200 : 503, readiness);
      },
    },
    '/metrics': {
      method: 'GET',
      handle: async (_url, _req, res) => {
        const { contentType, body } = await backend.metrics();
        send(res, 200, body, contentType);
      },
    },
    '/debug/route': {
      method: 'GET',
      handle: async (url, _req, res) => {
        const ip = url.searchParams.get('ip');
        const path = url.searchParams.get('path');
        if (ip === null || path === null) {
          sendJson(res, 400, { error: 'expected ?ip=ADDRESS&path=/v2/... (and optionally &method=HEAD)' });
          return;
        }
        sendJson(res, 200, await backend.explain({ ip, path, method: url.searchParams.get('method') ?? 'GET' }));
      },
    },
    '/debug/workers': { method: 'GET', handle: (_url, _req, res) => sendJson(res, 200, { workers: backend.workers() }) },
    '/reload': {
      method: 'POST',
      handle: async (_url, req, res) => {
        req.resume();
        const report = await backend.reload();
        sendJson(res, report.ok ? 200 : 422, report);
      },
    },
  };
}

/**
 * The operator's listener: probes, metrics, the routing explainer and reloads. Kept off the
 * public port so that port's strict 404s and redirects stay exactly what registry clients see.
 */
export async function startAdmin(admin: Config['admin'], backend: AdminBackend, logger: Logger): Promise<AdminServer> {
  const table = routes(backend);
  const server = createServer({ requestTimeout: ADMIN_TIMEOUT_MS, headersTimeout: ADMIN_TIMEOUT_MS }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const route = Object.hasOwn(table, url.pathname) ? table[url.pathname] : undefined;
    if (route === undefined) {
      send(res, 404, 'not found: try /healthz, /readyz, /metrics, /debug/route, /debug/workers, POST /reload\n');
      return;
    }
    const allowed = route.method === 'GET' ? ['GET', 'HEAD'] : ['POST'];
    if (!allowed.includes(req.method ?? '')) {
      send(res, 405, `method not allowed; use ${allowed.join(' or ')}\n`, undefined, { Allow: allowed.join(', ') });
      return;
    }
    Promise.resolve()
      .then(() => route.handle(url, req, res))
      .catch((error: unknown) => {
        logger.error({ err: error, path: url.pathname }, 'admin request failed');
        if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
        else res.destroy();
      });
  });
  const address = await bind(server, 'admin', admin);
  return {
    server,
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
