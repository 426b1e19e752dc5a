import { createServer, type Server } from 'node:net';

/**
 * Vitest global setup: holds the default ports (the public 8080 and the admin 9090, on
 * 127.0.0.1) for the whole run, so that a test which binds a default port fails here, every
 * time, instead of only on the day something else on the machine holds it. A port that is
 * already taken is left alone: it is held anyway.
 */
const DEFAULT_PORTS = [8080, 9090];

function hold(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export default async function holdDefaultPorts(): Promise<() => Promise<void>> {
  const held = (await Promise.all(DEFAULT_PORTS.map(hold))).filter((server): server is Server => server !== undefined);
  return async () => {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  };
}
