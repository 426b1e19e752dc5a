import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError, loadConfig, packageRoot, type LoadedConfig } from './config/load.js';
import type { Config } from './config/types.js';
import { createLogger, flushLogger, lifecycleLogger, type Logger } from './log.js';
import { buildRuntime } from './server/build.js';
import { RuntimeHolder } from './server/runtime.js';
import { startServer, type RunningServer } from './server/serve.js';
import type { AppHooks } from './server/app.js';
import { explain } from './server/explain.js';
import { buildPlan, redirectHosts } from './routing/plan.js';
import { adminEnabled, startAdmin, type AdminBackend, type AdminServer } from './ops/admin.js';
import { attachToPrimary, isClusterWorker, startPrimary } from './ops/cluster.js';
import { GeoRefresher } from './ops/geo-refresh.js';
import { EdgeMetrics } from './ops/metrics.js';
import { LimitSwitch } from './ops/rate-limit.js';
import { Reloader, type ReloadReport } from './ops/reload.js';
import type { Service } from './ops/service.js';

export const HELP = `registry-edge: a front door for OCI registries

Usage:
  registry-edge serve [--config FILE] [--port N] [--workers N|auto]
      Start the public listener (and the admin listener: /metrics, /healthz, /readyz,
      /debug/route, POST /reload). Without --config (or REGISTRY_EDGE_CONFIG) it runs the
      embedded default, a replica of registry.k8s.io. SIGTERM/SIGINT drain and stop; SIGHUP
      reloads the config and data files. --workers runs N processes sharing the port
      (auto: one per CPU), restarted when they die.
  registry-edge check-config FILE
      Validate FILE (with environment overrides applied) and print the effective config.
  registry-edge explain --ip IP --path PATH [--method GET] [--config FILE]
      Print, as JSON, how a request from IP for PATH is answered and why.
  registry-edge hosts [--config FILE]
      Print every host a redirect may point at, one per line (for egress allow-lists).
  registry-edge geo update [--from DIR] [--out FILE] [--config FILE]
      Download (or read from DIR) the cloud providers' IP range feeds and compile the MMDB,
      into FILE, else the config's geo.ranges (what serve reads), else the data folder
      ($REGISTRY_EDGE_DATA_DIR, else data/ in the package), from whichever folder it runs.
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

/** A started single-process (or worker) `serve`: the CLI wires signals to it, tests call it directly. */
export interface ServeHandle extends Service {
  running: RunningServer;
  holder: RuntimeHolder;
  metrics: EdgeMetrics;
  /** The admin listener, when this process runs one. */
  admin: AdminServer | undefined;
}

export type { Service };
export type CommandResult = { code: number } | { serving: Service };

/** A start-up failure that is neither a usage nor a configuration error (a worker could not start). */
export class StartupError extends Error {}

function portOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port: expected 0-65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

function workersOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === 'auto') return availableParallelism();
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 256) throw new UsageError(`--workers: expected 1-256 or auto, got ${JSON.stringify(text)}`);
  return Number(text);
}

interface ServeOptions {
  file: string | undefined;
  port: number | undefined;
  workers: number | undefined;
}

function serveOptions(args: string[]): ServeOptions {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, port: { type: 'string' }, workers: { type: 'string' } }, strict: true });
  return { file: values.config, port: portOption(values.port), workers: workersOption(values.workers) };
}

/** `--port` wins over the file and the environment, at start and on every reload. */
function portOverride(port: number | undefined): (config: Config) => void {
  return (config) => {
    if (port !== undefined) config.listen.port = port;
  };
}

export async function serve(args: string[], io: Io, logger?: Logger): Promise<ServeHandle> {
  const options = serveOptions(args);
  const override = portOverride(options.port);
  const loaded = loadConfig(options.file, io.env);
  override(loaded.config);
  const { config } = loaded;
  // In a --workers child the primary owns the admin listener, reloads and the geo refresh.
  const inWorker = options.workers !== undefined && isClusterWorker();
  const log = logger ?? createLogger(config.log.level);

  let holder: RuntimeHolder | undefined;
  let running: RunningServer | undefined;
  const hooks: AppHooks = {};
  const limits = new LimitSwitch(hooks);
  const metrics = new EdgeMetrics({ runtime: () => holder?.current, rateLimitClients: () => limits.clients, version: version() });
  hooks.onRequest = metrics.onRequest;
  limits.apply(config.limits);

  // Set once serving: an admin POST /reload during start-up is answered "not started yet".
  const started: { reloader?: Reloader } = {};
  const reload = async (reason = 'reload'): Promise<ReloadReport> =>
    started.reloader === undefined ? { ok: false, error: 'not started yet' } : started.reloader.reload(reason);
  const backend: AdminBackend = {
    readiness: () => {
      if (holder === undefined || running === undefined) return { ready: false, reason: 'starting' };
      if (running.draining) return { ready: false, reason: 'draining' };
      const rt = holder.current;
      return {
        ready: true,
        config: rt.source,
        geo: { ranges_loaded: rt.geo.rangesLoaded, ranges_built_at: rt.geo.rangesBuiltAt?.toISOString(), locations_loaded: rt.geo.locationsLoaded },
      };
    },
    metrics: () => metrics.render(),
    explain: (request) => {
      if (holder === undefined) throw new Error('not started yet');
      return explain(holder.current, request);
    },
    reload: () => reload('POST /reload'),
    workers: () => [{ worker: 0, pid: process.pid, state: running === undefined ? 'starting' : 'listening' }],
  };
  // Up before the data files load, so probes see a 503 "starting" rather than a refused connection.
  const admin = !inWorker && adminEnabled(config.admin) ? await startAdmin(config.admin, backend, log) : undefined;
  try {
    holder = new RuntimeHolder(await buildRuntime(loaded, log, { onCheck: metrics.onCheck }));
    running = await startServer(config, holder, log, hooks);
  } catch (error) {
    await admin?.close();
    await holder?.current.close();
    throw error;
  }
  const runtimes = holder;
  const refresher = inWorker
    ? undefined
    : new GeoRefresher({ logger: log, reload: async () => (await reload('geo refresh')).ok, onResult: (result) => metrics.geoRefreshed(result) });
  const reloader = new Reloader(
    {
      file: options.file,
      env: io.env,
      override,
      holder: runtimes,
      logger: log,
      build: (next) => buildRuntime(next, log, { onCheck: metrics.onCheck }),
      onSwap: (next, previous) => {
        metrics.retire(previous.checker);
        log.level = next.config.log.level;
        limits.apply(next.config.limits);
        refresher?.configure(next.config, next.source);
      },
      onClosed: (previous) => metrics.release(previous.checker),
      onResult: (result) => metrics.reloaded(result),
    },
    { listen: config.listen, admin: config.admin },
  );
  started.reloader = reloader;
  refresher?.configure(config, loaded.source);

  const rt = runtimes.current;
  lifecycleLogger(log).info(
    {
      host: running.host,
      port: running.port,
      admin_port: admin?.port,
      config: loaded.source,
      origin: rt.plan.originPrefix,
      buckets: config.buckets.length,
      default_bucket: config.default_bucket || undefined,
      trusted_hops: config.client_ip.trusted_hops,
      geo_ranges: rt.geo.rangesLoaded,
      rate_limit: config.limits.per_ip_rps > 0 ? config.limits : undefined,
    },
    inWorker ? 'worker listening' : 'listening',
  );
  if (inWorker) {
    attachToPrimary(
      { metricsJson: () => metrics.registry.getMetricsAsJSON(), reload: (reason) => reload(reason), explain: (request) => explain(runtimes.current, request) },
      { host: running.host, port: running.port },
    );
  }

  const server = running;
  let stopping: Promise<void> | undefined;
  return {
    running: server,
    holder: runtimes,
    metrics,
    admin,
    adminPort: admin?.port,
    logger: log,
    reload,
    stop() {
      stopping ??= (async () => {
        log.info({ grace_ms: config.listen.shutdown_timeout_ms }, 'shutting down');
        refresher?.stop();
        // Readiness turns 503 at once (the server is draining); the admin port stays up until the end.
        await server.shutdown();
        await reloader.closeRetired();
        await runtimes.current.close();
        await admin?.close();
        lifecycleLogger(log).info('stopped');
        flushLogger(log);
      })();
      return stopping;
    },
  };
}

/** `serve --workers N` in the primary process: fork, supervise, aggregate. */
async function servePrimary(options: ServeOptions, workers: number, io: Io): Promise<Service> {
  const override = portOverride(options.port);
  const loaded = loadConfig(options.file, io.env);
  override(loaded.config);
  const logger = createLogger(loaded.config.log.level);
  try {
    return await startPrimary({ workers, loaded, file: options.file, env: io.env, override, logger });
  } catch (error) {
    flushLogger(logger);
    throw new StartupError(error instanceof Error ? error.message : String(error));
  }
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
  if (sub !== 'update') throw new UsageError('usage: registry-edge geo update [--from DIR] [--out FILE] [--config FILE]');
  const options = { from: { type: 'string' }, out: { type: 'string' }, config: { type: 'string' } } as const;
  const { values } = parseArgs({ args: rest, options, strict: true });
  const { runGeoUpdate } = await import('./geo-command.js');
  return runGeoUpdate(values, io);
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
      case 'serve': {
        const { workers } = serveOptions(args);
        if (workers !== undefined && !isClusterWorker()) return { serving: await servePrimary(serveOptions(args), workers, io) };
        return { serving: await serve(args, io) };
      }
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
    if (error instanceof StartupError) {
      io.stderr.write(`registry-edge: ${error.message}\n`);
      return { code: 1 };
    }
    if (error instanceof UsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`registry-edge: ${(error as Error).message}\n\n${HELP}`);
      return { code: EXIT_USAGE };
    }
    throw error;
  }
}
