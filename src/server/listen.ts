/**
 * Listening and draining, the same for every kind of public server (plain HTTP, TLS with
 * HTTP/2): bind, report the address, and on shutdown stop accepting, ask clients to leave,
 * let open requests finish and destroy what is left when the grace period ends.
 */
import type { Server } from 'node:net';
import { bind } from '../ops/startup.js';

export interface DrainableServer<S extends Server = Server> {
  readonly server: S;
  isDraining(): boolean;
  /** Starts draining: answers tell clients to go elsewhere, idle connections are closed. */
  setDraining(): void;
  /** Destroys every open connection at once. */
  destroyAll(): void;
}

export interface RunningPublicServer<S extends Server = Server> {
  readonly server: S;
  readonly host: string;
  readonly port: number;
  /** True from the moment shutdown starts: readiness turns false, new connections are refused. */
  readonly draining: boolean;
  shutdown(): Promise<void>;
}

/** Binds `listen.host`/`listen.port` (a failure names the setting, see ops/startup.ts). */
export async function listenPublic<S extends Server>(door: DrainableServer<S>, at: { host: string; port: number }, graceMs: number): Promise<RunningPublicServer<S>> {
  const { server } = door;
  const address = await bind(server, 'listen', at);
  let stopping: Promise<void> | undefined;
  return {
    server,
    host: address.address,
    port: address.port,
    get draining() {
      return door.isDraining();
    },
    shutdown() {
      stopping ??= new Promise<void>((resolve) => {
        const grace = setTimeout(() => door.destroyAll(), graceMs);
        grace.unref();
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        door.setDraining();
      });
      return stopping;
    },
  };
}
