import { Hono, type Context } from 'hono';
import type { AdminToken } from './admin-token.js';
import type { MemoryFigures } from './memory.js';
import type { ReloadReport } from './reload.js';
import { parsePrometheusText } from './prometheus-text.js';
import { buildStatusSnapshot, SnapshotBaseline, STATUS_PAGE_PATH, STATUS_SNAPSHOT_PATH } from './status-model.js';

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
  /** Each process's memory after collections settle (GET /debug/memory). */
  memory(): Promise<MemoryFigures[]>;
}

export interface AdminGuard {
  token: AdminToken;
  /** `admin.metrics_auth`: /metrics needs the token as well. */
  metricsAuth: boolean;
  /** A caller was refused for a missing or wrong token. */
  onUnauthorized?: () => void;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const NOT_FOUND = 'not found: try /, /healthz, /readyz, /metrics, /debug/status, /debug/route, /debug/workers, /debug/memory, POST /reload\n';
const UNAUTHORIZED = `${JSON.stringify({ error: 'this endpoint needs Authorization: Bearer <the token in admin.token_file>' })}\n`;

function send(status: number, body: string, type = TEXT, extra: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { 'Content-Type': type, 'Cache-Control': 'no-store', ...extra } });
}

function sendJson(status: number, value: unknown): Response {
  return send(status, `${JSON.stringify(value, null, 2)}\n`, JSON_TYPE);
}

/**
 * Built once, on the first visit: the page carries no data (it asks for it), so one copy serves
 * every caller; its HTML, CSS and script (~24 KB of source) are no part of start-up.
 */
let page: Promise<{ html: string; headers: Record<string, string> }> | undefined;

function statusPage(): NonNullable<typeof page> {
  return (page ??= import('./status-page/page.js').then((built) => ({ html: built.statusPageHtml(), headers: built.STATUS_PAGE_HEADERS })));
}

/** Every admin path with the methods it answers, for the 405s. */
const METHODS: Record<string, string[]> = {
  [STATUS_PAGE_PATH]: ['GET', 'HEAD'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
  [STATUS_SNAPSHOT_PATH]: ['GET', 'HEAD'],
  '/debug/route': ['GET', 'HEAD'],
  '/debug/workers': ['GET', 'HEAD'],
  '/debug/memory': ['GET', 'HEAD'],
  '/reload': ['POST'],
};

function guarded(path: string, guard: AdminGuard): boolean {
  if (path === '/metrics') return guard.metricsAuth;
  return path === '/reload' || path.startsWith('/debug/');
}

async function statusSnapshot(backend: AdminBackend, baseline: SnapshotBaseline): Promise<Response> {
  const { body } = await backend.metrics();
  const current = { samples: parsePrometheusText(body), atMs: performance.now() };
  return sendJson(200, buildStatusSnapshot(current, baseline.next(current), Date.now()));
}

async function routeQuestion(c: Context, backend: AdminBackend): Promise<Response> {
  const ip = c.req.query('ip');
  const path = c.req.query('path');
  if (ip === undefined || path === undefined) return sendJson(400, { error: 'expected ?ip=ADDRESS&path=/v2/... (and optionally &method=HEAD)' });
  return sendJson(200, await backend.explain({ ip, path, method: c.req.query('method') ?? 'GET' }));
}

/**
 * The operator's application: probes, metrics, the status page and its data, the routing
 * explainer and reloads. With a token, everything that changes or inspects the front door
 * needs it; probes and the page shell (which holds no data) never do.
 */
export function createAdminApp(backend: AdminBackend, guard: AdminGuard, onError: (error: unknown, path: string) => void): Hono {
  const app = new Hono();
  const baseline = new SnapshotBaseline();

  app.use('*', async (c, next) => {
    const allowed = Object.hasOwn(METHODS, c.req.path) ? METHODS[c.req.path] : undefined;
    if (allowed === undefined) return send(404, NOT_FOUND);
    if (!allowed.includes(c.req.method)) return send(405, `method not allowed; use ${allowed.join(' or ')}\n`, TEXT, { Allow: allowed.join(', ') });
    if (guarded(c.req.path, guard) && !guard.token.admits(c.req.header('authorization'))) {
      guard.onUnauthorized?.();
      return send(401, UNAUTHORIZED, JSON_TYPE, { 'WWW-Authenticate': 'Bearer realm="registry-edge admin"' });
    }
    await next();
    return undefined;
  });

  app.get(STATUS_PAGE_PATH, async () => {
    const { html, headers } = await statusPage();
    return new Response(html, { status: 200, headers });
  });
  app.get('/healthz', () => send(200, 'ok\n'));
  app.get('/readyz', () => {
    const readiness = backend.readiness();
    return sendJson(readiness.ready ? 200 : 503, readiness);
  });
  app.get('/metrics', async () => {
    const { contentType, body } = await backend.metrics();
    return send(200, body, contentType);
  });
  app.get(STATUS_SNAPSHOT_PATH, () => statusSnapshot(backend, baseline));
  app.get('/debug/route', (c) => routeQuestion(c, backend));
  app.get('/debug/workers', () => sendJson(200, { workers: backend.workers() }));
  app.get('/debug/memory', async () => sendJson(200, { processes: await backend.memory() }));
  app.post('/reload', async () => {
    const report = await backend.reload();
    return sendJson(report.ok ? 200 : 422, report);
  });

  app.onError((error, c) => {
    onError(error, c.req.path);
    return sendJson(500, { error: error instanceof Error ? error.message : String(error) });
  });
  return app;
}
