import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { createAdminApp, type AdminBackend, type AdminGuard } from './admin-app.js';
import { bind } from './startup.js';

export type { AdminBackend, AdminGuard, Readiness, RouteQuery } from './admin-app.js';

export interface AdminServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `admin.port: 0` turns the admin listener off (so does an empty `admin.host`). */
export function adminEnabled(admin: Pick<Config['admin'], 'host' | 'port'>): boolean {
  return admin.port !== 0 && admin.host !== '';
}

/** Whether `host` keeps a listener to this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Admin answers are small and fast; a client holding a socket longer is not one we serve. */
const ADMIN_TIMEOUT_MS = 10_000;

/**
 * The operator's listener (admin-app.ts says what it answers). Kept off the public port so that
 * port's strict 404s and redirects stay exactly what registry clients see.
 */
export async function startAdmin(admin: Config['admin'], backend: AdminBackend, logger: Logger, guard: AdminGuard): Promise<AdminServer> {
  const app = createAdminApp(backend, guard, (error, path) => logger.error({ err: error, path }, 'admin request failed'));
  const server = createServer({ requestTimeout: ADMIN_TIMEOUT_MS, headersTimeout: ADMIN_TIMEOUT_MS }, getRequestListener(app.fetch));
  const address = await bind(server, 'admin', admin);
  if (!guard.token.required && !isLoopbackHost(admin.host)) {
    logger.warn(
      { admin_host: admin.host },
      'the admin listener binds a non-loopback address without admin.token_file: anyone who can reach it can reload and inspect this front door',
    );
  }
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
