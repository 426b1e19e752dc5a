import type { LoadedConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { flushLogger, lifecycleLogger, type Logger } from '../log.js';
import { adminEnabled, startAdmin, type AdminBackend, type AdminServer } from '../ops/admin.js';
import { AdminToken } from '../ops/admin-token.js';
import { joinedRuns } from '../ops/reload-gate.js';
import { FileWatcher } from '../ops/file-watch.js';
import { GeoRefresher, type RangesUpdater } from '../ops/geo-refresh.js';
import type { Outcome } from '../ops/metrics.js';
import type { ReloadReport } from '../ops/reload.js';

/** A running `serve`, whatever its process model: what the CLI wires signals to. */
export interface Service {
  logger: Logger;
  /** The admin listener's bound port; undefined when it is off (or lives in the --workers primary). */
  adminPort: number | undefined;
  /** SIGHUP / POST /reload: re-read the config and data files and swap them in, or keep the old ones. */
  reload(reason?: string): Promise<ReloadReport>;
  /** SIGTERM / SIGINT: drain and stop. */
  stop(): Promise<void>;
}

/** Where the public port listens, and the rest of the `listening` line. */
export interface Listening {
  host: string | undefined;
  port: number | undefined;
  details: Record<string, unknown>;
}

/**
 * What differs between a process that serves requests (alone, or as a --workers worker) and a
 * --workers primary; the order in which the pieces start and stop is the lifecycle's.
 */
export interface Role extends Omit<AdminBackend, 'reload'> {
  /** Loads the data files, builds the first runtime generation and opens the public port (a primary: forks workers until every one listens). */
  start(): Promise<Listening>;
  reload(reason: string): Promise<ReloadReport>;
  /** The configuration in effect: the first one, then that of the last successful reload. */
  current(): LoadedConfig;
  /** Stops taking requests and lets those in flight finish. */
  drain(): Promise<void>;
  /** Releases what start() acquired; also after a failed start. */
  close(): Promise<void>;
}

export interface LifecyclePlan {
  logger: Logger;
  /** Whether this process runs the admin listener and the geo refresh; a --workers worker leaves both to its primary. */
  supervises: boolean;
  /** Counts geo refreshes, in the registry this process exports. */
  onRefresh?: (result: Outcome) => void;
  /** Replaces the feed download of the geo refresh (tests). */
  update?: RangesUpdater;
  /** Counts admin callers refused for a missing or wrong token. */
  onUnauthorized?: () => void;
  /** The `msg` of the line that says the service is up. */
  listening: 'listening' | 'worker listening';
}

export interface Lifecycle extends Service {
  admin: AdminServer | undefined;
  refresher: GeoRefresher | undefined;
}

/** Reloads start at most this often, however many callers ask: each one rebuilds the runtime. */
const MIN_RELOAD_GAP_MS = 250;
/** The data files whose rewrite a running server picks up by itself: what `sync` writes. */
export function watchedFiles(config: Config): string[] {
  return [config.blobs.inventory].filter((file) => file !== '');
}

/** Reloads when a watched data file changes; only in the process that supervises (a --workers primary reloads every worker). */
function dataFileWatcher(logger: Logger, reload: (reason: string) => Promise<ReloadReport>): FileWatcher {
  return new FileWatcher({
    logger,
    onChange: (files) => {
      logger.info({ files }, 'data file changed; reloading');
      void reload('data file changed');
    },
  });
}

function adminBackend(role: Role, reload: (reason: string) => Promise<ReloadReport>): AdminBackend {
  return {
    readiness: () => role.readiness(),
    metrics: () => role.metrics(),
    explain: (query) => role.explain(query),
    workers: () => role.workers(),
    memory: () => role.memory(),
    reload: () => reload('POST /reload'),
  };
}

/**
 * The one start-up sequence, for every process model: admin listener, data files and the first
 * runtime generation, public port, background refresh, then the `listening` line. `stop` runs
 * it backwards: drain, release the runtime, close the admin listener last so probes see the drain.
 */
export async function startLifecycle(role: Role, plan: LifecyclePlan): Promise<Lifecycle> {
  const { logger } = plan;
  const first = role.current();
  const refresher = plan.supervises
    ? new GeoRefresher({ logger, update: plan.update, reload: async () => (await reload('geo refresh')).ok, onResult: plan.onRefresh })
    : undefined;
  const watcher = plan.supervises ? dataFileWatcher(logger, (reason) => reload(reason)) : undefined;
  const adminOn = plan.supervises && adminEnabled(first.config.admin);
  const token = new AdminToken(adminOn ? first.config.admin.token_file : '');
  // A reload brings a new log level and refresh schedule for the process as a whole, and
  // re-reads the admin token so that a rotated Secret takes effect.
  const reload = joinedRuns(async (reason: string): Promise<ReloadReport> => {
    const report = await role.reload(reason);
    const tokenProblem = token.reread();
    if (tokenProblem !== undefined) logger.warn({ problem: tokenProblem }, 'reload: the admin token stays the previous one');
    if (report.ok) {
      const { config, source } = role.current();
      logger.level = config.log.level;
      refresher?.configure(config, source);
      watcher?.configure(watchedFiles(config));
    }
    return report;
  }, { minGapMs: MIN_RELOAD_GAP_MS });

  // Up before the data files load, so probes see a 503 "starting" rather than a refused connection.
  const guard = { token, metricsAuth: first.config.admin.metrics_auth, onUnauthorized: plan.onUnauthorized };
  const admin = adminOn ? await startAdmin(first.config.admin, adminBackend(role, reload), logger, guard) : undefined;
  let listening: Listening;
  try {
    listening = await role.start();
  } catch (error) {
    await role.close();
    await admin?.close();
    flushLogger(logger);
    throw error;
  }
  refresher?.configure(first.config, first.source);
  watcher?.configure(watchedFiles(first.config));
  lifecycleLogger(logger).info({ host: listening.host, port: listening.port, admin_port: admin?.port, ...listening.details }, plan.listening);
  // Scripts and supervisors wait for this line, so it must not sit in the log batch; but only
  // once the caller has installed its signal handlers (microtasks that run before this
  // callback), or a SIGHUP sent on seeing the line would meet node's default and end the process.
  setImmediate(() => flushLogger(logger));

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    logger.info({ grace_ms: role.current().config.listen.shutdown_timeout_ms }, 'shutting down');
    refresher?.stop();
    watcher?.stop();
    // Readiness turns 503 at once (the role is draining); the admin port stays up until the end.
    await role.drain();
    await role.close();
    await admin?.close();
    lifecycleLogger(logger).info('stopped');
    flushLogger(logger);
  };
  return { logger, adminPort: admin?.port, admin, refresher, reload: (reason = 'reload') => reload(reason), stop: () => (stopping ??= stop()) };
}
