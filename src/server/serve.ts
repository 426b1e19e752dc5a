import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { createApp, type AppHooks } from './app.js';
import type { RuntimeHolder } from './runtime.js';

export interface RunningServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** True from the moment shutdown starts: readiness turns false, new connections are refused. */
  readonly draining: boolean;
  /** Stops accepting, lets in-flight requests finish, and closes everything after the grace period. */
  shutdown(): Promise<void>;
}

/** How often node checks sockets against the header and request timeouts (its default is 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 250;

export function createPublicServer(listen: Config['listen'], holder: RuntimeHolder, logger: Logger, hooks: AppHooks = {}): {
  server: Server;
  isDraining: () => boolean;
  setDraining: () => void;
} {
  const app = createApp(holder, logger, hooks);
  const listener = getRequestListener(app.fetch);
  let draining = false;
  const server = createServer(
    {
      headersTimeout: listen.headers_timeout_ms,
      requestTimeout: listen.request_timeout_ms,
      keepAliveTimeout: listen.keep_alive_timeout_ms,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    (req, res: ServerResponse) => {
      // While draining, every answer tells the client to go elsewhere for its next request.
      if (draining) res.setHeader('Connection', 'close');
      void listener(req, res);
    },
  );
  if (listen.max_connections > 0) server.maxConnections = listen.max_connections;
  return { server, isDraining: () => draining, setDraining: () => (draining = true) };
}

export async function startServer(config: Config, holder: RuntimeHolder, logger: Logger, hooks: AppHooks = {}): Promise<RunningServer> {
  const { server, isDraining, setDraining } = createPublicServer(config.listen, holder, logger, hooks);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    server,
    host: address.address,
    port: address.port,
    get draining() {
      return isDraining();
    },
    shutdown() {
      stopping ??= new Promise<void>((resolve) => {
        setDraining();
        const grace = setTimeout(() => server.closeAllConnections(), config.listen.shutdown_timeout_ms);
        grace.unref();
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      });
      return stopping;
    },
  };
}
