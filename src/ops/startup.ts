import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A start-up failure the operator can fix (a port in use, a host that does not resolve, a data
 * file that does not load): the CLI prints its message as one line and exits 1, no stack trace.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The config section whose `host` and `port` a listener binds. */
export type ListenerSection = 'listen' | 'admin';

const WHAT_ELSE: Record<ListenerSection, string> = {
  listen: 'or 0 for any free port',
  admin: 'or 0 to turn the admin listener off',
};

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The one line that says which setting made a listener fail to bind, and what to change. */
export function listenFailure(section: ListenerSection, host: string, port: number, error: NodeJS.ErrnoException): StartupError {
  const where = hostPort(host, port);
  switch (error.code) {
    case 'EADDRINUSE':
      return new StartupError(`${section}.port: ${where} is in use; set ${section}.port, ${WHAT_ELSE[section]}`);
    case 'EACCES':
      return new StartupError(`${section}.port: ${where} needs privileges this process lacks; set ${section}.port above 1023, ${WHAT_ELSE[section]}`);
    case 'EADDRNOTAVAIL':
      return new StartupError(`${section}.host: ${host} is not an address of this machine; set ${section}.host`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new StartupError(`${section}.host: ${JSON.stringify(host)} does not resolve (${error.code}); set ${section}.host to an IP address of this machine`);
    default:
      return new StartupError(`${section}: cannot listen on ${where}: ${error.message}`);
  }
}

/** Binds `server` as the section says; a failure becomes the StartupError naming the setting. */
export function bind(server: Server, section: ListenerSection, settings: { host: string; port: number }): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException): void => reject(listenFailure(section, settings.host, settings.port, error));
    server.once('error', fail);
    server.listen(settings.port, settings.host, () => {
      server.off('error', fail);
      resolve(server.address() as AddressInfo);
    });
  });
}
