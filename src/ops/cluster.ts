import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { flushLogger, lifecycleLogger, type Logger } from '../log.js';
import type { ExplainRequest } from '../server/explain.js';
import { adminEnabled, startAdmin, type AdminBackend } from './admin.js';
import { GeoRefresher } from './geo-refresh.js';
import { PREFIX } from './metrics.js';
import type { ReloadReport } from './reload.js';
import { DEFAULT_RESTART_POLICY, restartDelay, type RestartPolicyOptions } from './restart-policy.js';
import type { Service } from './service.js';

/**
 * --workers: a primary process that owns no request handling. It forks the workers (which share
 * the public port through node:cluster), restarts the ones that die, drains them on SIGTERM,
 * and runs the single admin listener, answering /metrics with the sum of every worker's
 * metrics, /debug/route through a worker, and POST /reload by reloading each worker.
 */

const CHANNEL = 'registry-edge';
type Operation = 'metrics' | 'reload' | 'explain';

interface RequestMessage {
  channel: typeof CHANNEL;
  op: Operation;
  id: number;
  request?: ExplainRequest;
  reason?: string;
}
interface ReplyMessage {
  channel: typeof CHANNEL;
  op: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}
interface ListeningMessage {
  channel: typeof CHANNEL;
  op: 'listening';
  host: string;
  port: number;
}
type WorkerMessage = ReplyMessage | ListeningMessage;

function isChannelMessage(message: unknown): message is { channel: typeof CHANNEL; op: string } {
  return typeof message === 'object' && message !== null && (message as { channel?: unknown }).channel === CHANNEL;
}

/** What a worker answers the primary with. */
export interface WorkerEndpoints {
  metricsJson(): Promise<unknown>;
  reload(reason: string): Promise<ReloadReport>;
  explain(request: ExplainRequest): Promise<unknown>;
}

/** In a worker: answer the primary's requests and tell it when the public port is open. */
export function attachToPrimary(endpoints: WorkerEndpoints, listening: { host: string; port: number }): void {
  const send = (message: WorkerMessage): void => {
    if (process.connected) process.send?.(message);
  };
  process.on('message', (message: unknown) => {
    if (!isChannelMessage(message) || message.op === 'reply') return;
    const { id, op, request, reason } = message as RequestMessage;
    const work =
      op === 'metrics' ? endpoints.metricsJson() : op === 'reload' ? endpoints.reload(`${reason ?? 'reload'} (primary)`) : endpoints.explain(request as ExplainRequest);
    work.then(
      (value) => send({ channel: CHANNEL, op: 'reply', id, ok: true, value }),
      (error: unknown) => send({ channel: CHANNEL, op: 'reply', id, ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  send({ channel: CHANNEL, op: 'listening', ...listening });
}

export const isClusterWorker = (): boolean => cluster.isWorker;

export interface PrimaryOptions {
  workers: number;
  loaded: LoadedConfig;
  file: string | undefined;
  env: NodeJS.ProcessEnv;
  override: (config: Config) => void;
  logger: Logger;
  restartPolicy?: RestartPolicyOptions;
  /** What the workers run; by default this same command line (tests name the built CLI). */
  exec?: { file: string; args: string[] };
}

type SlotState = 'starting' | 'listening' | 'restarting' | 'stopped';

interface Slot {
  index: number;
  worker: Worker | undefined;
  state: SlotState;
  startedAt: number;
  restarts: number;
  streak: number;
  timer: NodeJS.Timeout | undefined;
}

/** How long one worker may take to answer a metrics scrape or an explain before it is left out. */
const ASK_TIMEOUT_MS = 3_000;
/** Reloads read MMDB files; give them time. */
const RELOAD_TIMEOUT_MS = 60_000;
/** On top of listen.shutdown_timeout_ms before a worker that will not stop is killed. */
const STOP_MARGIN_MS = 2_000;

export async function startPrimary(options: PrimaryOptions): Promise<Service> {
  const { logger } = options;
  let config = options.loaded.config;
  const policy = options.restartPolicy ?? DEFAULT_RESTART_POLICY;
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
    index,
    worker: undefined,
    state: 'starting',
    startedAt: 0,
    restarts: 0,
    streak: 0,
    timer: undefined,
  }));
  let stopping = false;
  let publicAddress: { host: string; port: number } | undefined;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (reply: ReplyMessage) => void; timer: NodeJS.Timeout }>();

  const registry = new Registry();
  new Gauge({
    name: `${PREFIX}workers`,
    help: 'Worker processes by state (starting, listening, restarting).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const state of ['starting', 'listening', 'restarting'] as const) this.set({ state }, slots.filter((s) => s.state === state).length);
    },
  });
  const restarts = new Counter({ name: `${PREFIX}worker_restarts_total`, help: 'Workers restarted after they exited.', registers: [registry] });

  let startup: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const started = new Promise<void>((resolve, reject) => (startup = { resolve, reject }));

  const ask = (worker: Worker, op: Operation, timeoutMs: number, extra: Pick<RequestMessage, 'request' | 'reason'> = {}): Promise<ReplyMessage> => {
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve({ channel: CHANNEL, op: 'reply', id, ok: false, error: `worker ${worker.process.pid} did not answer within ${timeoutMs} ms` });
      }, timeoutMs);
      waiting.set(id, { resolve, timer });
      const message: RequestMessage = { channel: CHANNEL, op, id, ...extra };
      worker.send(message, (error: Error | null) => {
        if (error === null) return;
        clearTimeout(timer);
        waiting.delete(id);
        resolve({ channel: CHANNEL, op: 'reply', id, ok: false, error: error.message });
      });
    });
  };

  const listeningWorkers = (): Worker[] =>
    slots.filter((s) => s.state === 'listening' && s.worker !== undefined && s.worker.isConnected()).map((s) => s.worker as Worker);

  const fork = (slot: Slot): void => {
    slot.timer = undefined;
    slot.state = 'starting';
    slot.startedAt = Date.now();
    const worker = cluster.fork();
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (!isChannelMessage(message)) return;
      const reply = message as WorkerMessage;
      if (reply.op === 'listening') {
        slot.state = 'listening';
        publicAddress ??= { host: reply.host, port: reply.port };
        if (startup !== undefined && slots.every((s) => s.state === 'listening')) {
          startup.resolve();
          startup = undefined;
        }
      } else {
        const entry = waiting.get(reply.id);
        if (entry === undefined) return;
        clearTimeout(entry.timer);
        waiting.delete(reply.id);
        entry.resolve(reply);
      }
    });
    worker.once('exit', (code, signal) => {
      const uptimeMs = Date.now() - slot.startedAt;
      slot.worker = undefined;
      if (stopping) {
        slot.state = 'stopped';
        return;
      }
      if (startup !== undefined) {
        // Dying before the service ever came up is a configuration or environment problem
        // (a port in use, an unreadable file): restarting would only repeat it.
        slot.state = 'stopped';
        startup.reject(new Error(`worker ${worker.process.pid} exited (code ${code}, signal ${signal}) before listening`));
        startup = undefined;
        return;
      }
      const next = restartDelay(uptimeMs, slot.streak, policy);
      slot.streak = next.streak;
      slot.state = 'restarting';
      slot.restarts++;
      restarts.inc();
      logger.warn({ worker: slot.index, worker_pid: worker.process.pid, code, signal, uptime_ms: uptimeMs, restart_in_ms: next.delayMs }, 'worker exited; restarting');
      slot.timer = setTimeout(() => fork(slot), next.delayMs);
    });
  };

  const reloadWorkers = async (reason: string): Promise<ReloadReport> => {
    const workers = listeningWorkers();
    const replies = await Promise.all(workers.map((w) => ask(w, 'reload', RELOAD_TIMEOUT_MS, { reason })));
    const reports = replies.map((reply, i) => ({
      pid: workers[i]?.process.pid,
      ...(reply.ok ? (reply.value as ReloadReport) : { ok: false, error: reply.error }),
    }));
    const ok = reports.length > 0 && reports.every((r) => r.ok);
    if (ok) {
      try {
        config = reloadPrimaryConfig(options, logger, config);
        refresher.configure(config, options.loaded.source);
      } catch {
        // The workers validated the same file a moment ago; a file changing in between is caught next time.
      }
    }
    logger[ok ? 'info' : 'error']({ reason, workers: reports.length, failed: reports.filter((r) => !r.ok).length }, ok ? 'workers reloaded' : 'worker reload failed');
    return { ok, workers: reports, error: ok ? undefined : reports.find((r) => !r.ok)?.error ?? 'no worker is listening' };
  };

  const geoRefreshes = new Counter({
    name: `${PREFIX}geo_refreshes_total`,
    help: 'Background cloud-range feed refreshes (geo.refresh) by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  const refresher = new GeoRefresher({
    logger,
    reload: async () => (await reloadWorkers('geo refresh')).ok,
    onResult: (result) => geoRefreshes.inc({ result }),
  });

  const backend: AdminBackend = {
    readiness: () => {
      const listening = slots.filter((s) => s.state === 'listening').length;
      if (stopping) return { ready: false, reason: 'draining', workers_listening: listening };
      if (listening === 0) return { ready: false, reason: 'no worker is listening', workers_listening: 0 };
      return { ready: true, workers_listening: listening, workers: slots.length };
    },
    metrics: async () => {
      const replies = await Promise.all(listeningWorkers().map((w) => ask(w, 'metrics', ASK_TIMEOUT_MS)));
      const parts: object[] = replies.filter((r) => r.ok).map((r) => r.value as object);
      parts.push(await registry.getMetricsAsJSON());
      const merged = AggregatorRegistry.aggregate(parts);
      return { contentType: merged.contentType, body: await merged.metrics() };
    },
    explain: async (request) => {
      const worker = listeningWorkers()[0];
      if (worker === undefined) throw new Error('no worker is listening');
      const reply = await ask(worker, 'explain', ASK_TIMEOUT_MS, { request });
      if (!reply.ok) throw new Error(reply.error);
      return reply.value;
    },
    reload: () => reloadWorkers('POST /reload'),
    workers: () =>
      slots.map((s) => ({
        worker: s.index,
        pid: s.worker?.process.pid,
        state: s.state,
        started_at: s.startedAt > 0 ? new Date(s.startedAt).toISOString() : undefined,
        restarts: s.restarts,
      })),
  };
  // Up before the workers, so probes get a 503 "starting" instead of a refused connection.
  const admin = adminEnabled(config.admin) ? await startAdmin(config.admin, backend, logger) : undefined;

  if (options.exec !== undefined) cluster.setupPrimary({ exec: options.exec.file, args: options.exec.args, execArgv: [] });
  for (const slot of slots) fork(slot);
  try {
    await started;
  } catch (error) {
    stopping = true;
    await stopWorkers(slots, config, logger);
    await admin?.close();
    throw error;
  }

  refresher.configure(config, options.loaded.source);

  lifecycleLogger(logger).info(
    {
      host: publicAddress?.host,
      port: publicAddress?.port,
      admin_port: admin?.port,
      workers: slots.length,
      worker_pids: slots.map((s) => s.worker?.process.pid),
      config: options.loaded.source,
    },
    'listening',
  );

  let stopped: Promise<void> | undefined;
  return {
    logger,
    adminPort: admin?.port,
    reload: (reason = 'reload') => reloadWorkers(reason),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        refresher.stop();
        logger.info({ grace_ms: config.listen.shutdown_timeout_ms, workers: slots.length }, 'shutting down');
        for (const slot of slots) clearTimeout(slot.timer);
        await stopWorkers(slots, config, logger);
        await admin?.close();
        lifecycleLogger(logger).info('stopped');
        flushLogger(logger);
      })();
      return stopped;
    },
  };
}

/** SIGTERM to every worker (each drains on its own), then SIGKILL to any still there after the grace period. */
async function stopWorkers(slots: Slot[], config: Config, logger: Logger): Promise<void> {
  const live = slots.map((s) => s.worker).filter((w): w is Worker => w !== undefined);
  await Promise.all(
    live.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.process.exitCode !== null || worker.process.signalCode !== null) {
            resolve();
            return;
          }
          const kill = setTimeout(() => {
            logger.warn({ worker_pid: worker.process.pid }, 'worker did not stop in time; killing it');
            worker.process.kill('SIGKILL');
          }, config.listen.shutdown_timeout_ms + STOP_MARGIN_MS);
          worker.process.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          worker.process.kill('SIGTERM');
        }),
    ),
  );
}

/** The primary keeps its own copy for geo.refresh and the log level; workers hold the rest. */
function reloadPrimaryConfig(options: PrimaryOptions, logger: Logger, running: Config): Config {
  const loaded = loadConfig(options.file, options.env);
  options.override(loaded.config);
  logger.level = loaded.config.log.level;
  return { ...loaded.config, listen: running.listen, admin: running.admin };
}
