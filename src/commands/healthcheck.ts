import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { adminEnabled } from '../ops/admin.js';
import { ConfigSource } from '../ops/reload.js';
import { portOption, printUsage, wantsHelp, type Io } from './common.js';

export const usage = `  registry-edge healthcheck [--config FILE] [--port N] [--admin-port N]
      Exit 0 when the server this configuration describes answers: GET /healthz on the admin
      listener, or GET /v2/ on the public port when the admin listener is off. Reads the
      config and environment as serve does (the container image's HEALTHCHECK runs it).
`;

/** How long the server may take to answer before it counts as unhealthy. */
const PROBE_TIMEOUT_MS = 3_000;

/** An address to connect to for a listener bound to `host` (a wildcard bind is reached on loopback). */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** The URL that tells whether the server a configuration describes is alive, or why there is none. */
export function probeUrl(config: { admin: { host: string; port: number }; listen: { host: string; port: number } }): { url: string } | { error: string } {
  if (adminEnabled(config.admin)) return { url: `http://${connectHost(config.admin.host)}:${config.admin.port}/healthz` };
  if (config.listen.port === 0) return { error: 'the admin listener is off and listen.port is 0: no port to ask' };
  return { url: `http://${connectHost(config.listen.host)}:${config.listen.port}/v2/` };
}

function probe(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `answered ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
}

export async function healthcheckCommand(args: string[], io: Io): Promise<number> {
  if (wantsHelp(args)) return printUsage(io, usage);
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, port: { type: 'string' }, 'admin-port': { type: 'string' } }, strict: true });
  const overrides = { port: portOption('--port', values.port), adminPort: portOption('--admin-port', values['admin-port']) };
  const target = probeUrl((await ConfigSource.open(values.config, io.env, overrides)).first.config);
  if ('error' in target) {
    io.stderr.write(`registry-edge: healthcheck: ${target.error}\n`);
    return 1;
  }
  const problem = await probe(target.url);
  if (problem !== undefined) {
    io.stderr.write(`registry-edge: healthcheck: ${target.url}: ${problem}\n`);
    return 1;
  }
  io.stdout.write(`ok: ${target.url}\n`);
  return 0;
}
