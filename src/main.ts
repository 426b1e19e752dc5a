import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError, loadConfig, packageRoot, type LoadedConfig } from './config/load.js';
import { createLogger, flushLogger, type Logger } from './log.js';
import { buildRuntime } from './server/build.js';
import { RuntimeHolder } from './server/runtime.js';
import { startServer, type RunningServer } from './server/serve.js';
import { explain } from './server/explain.js';
import { buildPlan, redirectHosts } from './routing/plan.js';

export const HELP = `registry-edge: a front door for OCI registries

Usage:
  registry-edge serve [--config FILE] [--port N]
      Start the public listener. Without --config (or REGISTRY_EDGE_CONFIG) it runs the
      embedded default, a replica of registry.k8s.io. SIGTERM/SIGINT drain and stop.
  registry-edge check-config FILE
      Validate FILE (with environment overrides applied) and print the effective config.
  registry-edge explain --ip IP --path PATH [--method GET] [--config FILE]
      Print, as JSON, how a request from IP for PATH is answered and why.
  registry-edge hosts [--config FILE]
      Print every host a redirect may point at, one per line (for egress allow-lists).
  registry-edge geo update [--from DIR] [--out FILE]
      Download (or read from DIR) the cloud providers' IP range feeds and compile the MMDB.
  registry-edge --help | --version

Environment (archeio-compatible, overrides the file): PORT, UPSTREAM_REGISTRY_ENDPOINT,
UPSTREAM_REGISTRY_PATH, SIGNATURE_UPSTREAM_ENDPOINT, DEFAULT_AWS_BASE_URL, TRUSTED_PROXY_HOPS;
REGISTRY_EDGE_CONFIG names the config file.
`;

/** Exit codes, after sysexits: usage 64, bad config 78. */
export const EXIT_USAGE = 64;
export const EXIT_CONFIG = 78;

export interface Io {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export class UsageError extends Error {}

/** A started `serve`: the CLI wires signals to `stop`, tests call it directly. */
export interface ServeHandle {
  running: RunningServer;
  holder: RuntimeHolder;
  logger: Logger;
  stop(): Promise<void>;
}

export type CommandResult = { code: number } | { serving: ServeHandle };

function portOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port: expected 0-65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

export async function serve(args: string[], io: Io, logger?: Logger): Promise<ServeHandle> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, port: { type: 'string' } }, strict: true });
  const port = portOption(values.port);
  const loaded = loadConfig(values.config, io.env);
  if (port !== undefined) loaded.config.listen.port = port;
  const { config } = loaded;
  const log = logger ?? createLogger(config.log.level);
  const holder = new RuntimeHolder(await buildRuntime(loaded, log));
  const running = await startServer(config, holder, log);
  const rt = holder.current;
  log.info(
    {
      host: running.host,
      port: running.port,
      config: loaded.source,
      origin: rt.plan.originPrefix,
      buckets: config.buckets.length,
      default_bucket: config.default_bucket || undefined,
      trusted_hops: config.client_ip.trusted_hops,
      geo_ranges: rt.geo.rangesLoaded,
    },
    'listening',
  );
  let stopping: Promise<void> | undefined;
  return {
    running,
    holder,
    logger: log,
    stop() {
      stopping ??= (async () => {
        log.info({ grace_ms: config.listen.shutdown_timeout_ms }, 'shutting down');
        await running.shutdown();
        await holder.current.close();
        log.info('stopped');
        flushLogger(log);
      })();
      return stopping;
    },
  };
}

function readConfigFile(file: string | undefined, io: Io): LoadedConfig {
  return loadConfig(file, io.env);
}

function checkConfig(args: string[], io: Io): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('check-config takes exactly one FILE');
  const loaded = readConfigFile(positionals[0], io);
  io.stdout.write(`${JSON.stringify(loaded.config, null, 2)}\n`);
  io.stderr.write(`${loaded.source}: valid\n`);
  return 0;
}

async function explainCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, ip: { type: 'string' }, path: { type: 'string' }, method: { type: 'string' } },
    strict: true,
  });
  if (values.ip === undefined || values.path === undefined) throw new UsageError('explain needs --ip IP and --path PATH');
  const loaded = readConfigFile(values.config, io);
  const rt = await buildRuntime(loaded, createLogger('warn', io.stderr));
  try {
    const result = await explain(rt, { ip: values.ip, path: values.path, method: values.method ?? 'GET' });
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rt.close();
  }
  return 0;
}

function hostsCommand(args: string[], io: Io): number {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const loaded = readConfigFile(values.config, io);
  io.stdout.write(`${redirectHosts(buildPlan(loaded.config)).join('\n')}\n`);
  return 0;
}

async function geoCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'update') throw new UsageError('usage: registry-edge geo update [--from DIR] [--out FILE]');
  const { values } = parseArgs({ args: rest, options: { from: { type: 'string' }, out: { type: 'string' } }, strict: true });
  const { runGeoUpdate } = await import('./geo-command.js');
  return runGeoUpdate({ from: values.from, out: values.out }, io);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs one command line. Usage and configuration errors become exit codes with a message. */
export async function run(argv: string[], io: Io): Promise<CommandResult> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'serve':
        return { serving: await serve(args, io) };
      case 'check-config':
        return { code: checkConfig(args, io) };
      case 'explain':
        return { code: await explainCommand(args, io) };
      case 'hosts':
        return { code: hostsCommand(args, io) };
      case 'geo':
        return { code: await geoCommand(args, io) };
      case '--version':
      case 'version':
        io.stdout.write(`${version()}\n`);
        return { code: 0 };
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.stdout.write(HELP);
        return { code: 0 };
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`registry-edge: ${error.message}\n`);
      return { code: EXIT_CONFIG };
    }
    if (error instanceof UsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`registry-edge: ${(error as Error).message}\n\n${HELP}`);
      return { code: EXIT_USAGE };
    }
    throw error;
  }
}
