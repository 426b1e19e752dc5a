import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { checkHosts, ConfigError } from '../config/load.js';
import { EdgeRole, type EdgeOptions } from '../lifecycle/edge.js';
import { startLifecycle, type Lifecycle, type Service } from '../lifecycle/lifecycle.js';
import type { PrimaryOptions } from '../lifecycle/primary.js';
import { createLogger, droppedLogLines, type Logger } from '../log.js';
import type { RangesUpdater } from '../ops/geo-refresh.js';
import { adminUnauthorizedCounter, collectGarbageIfExposed, EdgeMetrics, geoRefreshCounter, logLinesDroppedCounter } from '../ops/metrics.js';
import { ConfigSource } from '../ops/reload.js';
import { retainShapesAcrossCollections, scavengeOnMainThread } from '../ops/v8-flags.js';
import { StartupError } from '../ops/startup.js';
import type { RunningServer } from '../server/serve.js';
import type { RuntimeHolder } from '../server/runtime.js';
import { EXIT_STARTUP, portOption, printUsage, UsageError, wantsHelp, type CommandResult, type Io } from './common.js';
import { version } from './version.js';

export const usage = `  registry-edge serve [--config FILE] [--port N] [--admin-port N] [--workers N|auto]
      Start the public listener (and the admin listener: /metrics, /healthz, /readyz,
      /debug/route, POST /reload). Without --config (or REGISTRY_EDGE_CONFIG) it runs the
      embedded default, a replica of registry.k8s.io. --port and --admin-port override
      listen.port and admin.port (--admin-port 0 turns the admin listener off). SIGTERM/SIGINT
      drain and stop; SIGHUP reloads the config and data files. --workers runs N processes
      sharing the port (auto: one per CPU), restarted when they die.
`;

export interface ServeArgs {
  file: string | undefined;
  port: number | undefined;
  adminPort: number | undefined;
  workers: number | undefined;
}

function workersOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === 'auto') return availableParallelism();
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 256) throw new UsageError(`--workers: expected 1-256 or auto, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function serveArgs(args: string[]): ServeArgs {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, port: { type: 'string' }, 'admin-port': { type: 'string' }, workers: { type: 'string' } },
    strict: true,
  });
  return {
    file: values.config,
    port: portOption('--port', values.port),
    adminPort: portOption('--admin-port', values['admin-port']),
    workers: workersOption(values.workers),
  };
}

/** The configuration `serve` runs, with --port and --admin-port applied at start and on every reload. */
async function openConfig(args: ServeArgs, io: Io): Promise<ConfigSource> {
  const source = await ConfigSource.open(args.file, io.env, { port: args.port, adminPort: args.adminPort });
  // Before anything binds: a listener host that does not resolve is a configuration error.
  await checkHosts(source.first.config, source.first.source);
  // The certificate code loads only for a configuration that has listen.tls.
  if (source.first.config.listen.tls !== undefined) (await import('../server/tls-door.js')).checkTlsFiles(source.first.config, source.first.source);
  return source;
}

/** What tests can replace when they run `serve` in their own process. */
export interface InProcessOptions {
  logger?: Logger;
  clocks?: EdgeOptions['clocks'];
  /** Replaces the feed download of the geo refresh. */
  update?: RangesUpdater;
}

/** A `serve` that answers requests in this process: what tests drive directly. */
export interface ServeHandle extends Lifecycle {
  role: EdgeRole;
  running: RunningServer;
  holder: RuntimeHolder;
  metrics: EdgeMetrics;
}

/** The --workers worker's side of the channel, loaded by a worker only (it loads node:cluster). */
type WorkerChannel = typeof import('../lifecycle/worker.js');

/** `serve` without --workers, or as one --workers worker (which leaves admin and refresh to its primary). */
export async function serveHere(args: ServeArgs, io: Io, options: InProcessOptions = {}, worker?: WorkerChannel): Promise<ServeHandle> {
  scavengeOnMainThread();
  retainShapesAcrossCollections();
  const asWorker = worker !== undefined;
  const config = await openConfig(args, io);
  const logger = options.logger ?? createLogger(config.first.config.log.level, undefined, asWorker);
  const metrics = new EdgeMetrics({ version: version() });
  logLinesDroppedCounter(metrics.registry, () => droppedLogLines(logger));
  const role = new EdgeRole({
    config,
    logger,
    metrics,
    clocks: options.clocks,
    worker: asWorker,
    onGeneration: worker ? (status) => worker.tellPrimary({ op: 'status', status }) : undefined,
  });
  const lifecycle = await startLifecycle(role, {
    logger,
    supervises: !asWorker,
    onRefresh: asWorker ? undefined : geoRefreshCounter(metrics.registry),
    onUnauthorized: asWorker ? undefined : adminUnauthorizedCounter(metrics.registry),
    update: options.update,
    listening: asWorker ? 'worker listening' : 'listening',
  });
  const { server, holder } = role.started();
  return { ...lifecycle, role, running: server, holder, metrics };
}

/** `serve --workers N` in the primary process: fork, supervise, aggregate. Tests name the workers' program and back-off. */
export async function servePrimary(
  args: ServeArgs,
  workers: number,
  io: Io,
  options: { logger?: Logger } & Pick<PrimaryOptions, 'exec' | 'restartPolicy'> = {},
): Promise<Service> {
  const config = await openConfig(args, io);
  const logger = options.logger ?? createLogger(config.first.config.log.level);
  // Loaded here: the primary's modules (node:cluster among them) are no part of a single process's start-up.
  const { PrimaryRole } = await import('../lifecycle/primary.js');
  const role = new PrimaryRole({ workers, config, logger, exec: options.exec, restartPolicy: options.restartPolicy });
  return startLifecycle(role, {
    logger,
    supervises: true,
    onRefresh: geoRefreshCounter(role.registry),
    onUnauthorized: adminUnauthorizedCounter(role.registry),
    listening: 'listening',
  });
}

/** In a worker: serve, then answer the primary; a worker that cannot start tells the primary, which reports it once. */
async function serveAsWorker(args: ServeArgs, io: Io, worker: WorkerChannel): Promise<CommandResult> {
  const { answerPrimary, reportFailure, tellPrimary } = worker;
  let handle: ServeHandle;
  try {
    handle = await serveHere(args, io, {}, worker);
  } catch (error) {
    await reportFailure(startupMessage(error));
    return { code: EXIT_STARTUP };
  }
  const { role, metrics, running } = handle;
  answerPrimary({
    // Like a single process's scrape, collect first (with --expose-gc): the figures are what is retained.
    metricsJson: () => {
      collectGarbageIfExposed();
      return metrics.registry.getMetricsAsJSON();
    },
    memory: () => role.memory(),
    reload: (reason) => handle.reload(reason),
    explain: (query) => role.explain(query),
  });
  tellPrimary({ op: 'listening', host: running.host, port: running.port, status: role.status() });
  return { serving: handle };
}

function startupMessage(error: unknown): string {
  if (error instanceof StartupError || error instanceof ConfigError) return error.message;
  return `start-up failed: ${error instanceof Error ? error.message : String(error)}`;
}

/** Anything that stops `serve` from starting is one line and an exit status, never a stack trace. */
async function oneLine<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof StartupError || error instanceof ConfigError) throw error;
    throw new StartupError(startupMessage(error));
  }
}

export async function serveCommand(argv: string[], io: Io): Promise<CommandResult> {
  if (wantsHelp(argv)) return { code: printUsage(io, usage) };
  const args = serveArgs(argv);
  const { workers } = args;
  if (workers === undefined) return { serving: await oneLine(() => serveHere(args, io)) };
  const worker = await import('../lifecycle/worker.js');
  if (worker.isClusterWorker()) return serveAsWorker(args, io, worker);
  return { serving: await oneLine(() => servePrimary(args, workers, io)) };
}
