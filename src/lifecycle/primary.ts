import cluster from 'node:cluster';
import AggregatorRegistry from 'prom-client/lib/cluster.js';
import { Gauge, Registry } from '../ops/prom-client.js';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import type { Readiness, RouteQuery } from '../ops/admin.js';
import { measureMemory, type MemoryFigures } from '../ops/memory.js';
import { releaseRetiredMemory } from '../ops/memory-release.js';
import { collectGarbageIfExposed, PREFIX, scrapedCounter } from '../ops/metrics.js';
import type { ConfigSource, ReloadReport } from '../ops/reload.js';
import { PendingQuestions } from './channel.js';
import type { Listening, Role } from './lifecycle.js';
import { WorkerPool } from './pool.js';
import { readinessOf } from './readiness.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicyOptions } from './restart-policy.js';
import { WorkerSamples, type MetricJson } from './worker-samples.js';

export interface PrimaryOptions {
  workers: number;
  config: ConfigSource;
  logger: Logger;
  restartPolicy?: RestartPolicyOptions;
  /** What the workers run; by default this same command line (tests name the built CLI). */
  exec?: { file: string; args: string[] };
}

/** How long one worker may take to answer a metrics scrape or an explain before it is left out. */
const ASK_TIMEOUT_MS = 3_000;
/** Reloads read MMDB files; give them time. */
const RELOAD_TIMEOUT_MS = 60_000;

/** The primary's own figures: the pool, read from its slots at scrape time. */
function registerPoolFigures(registry: Registry, pool: WorkerPool): void {
  new Gauge({
    name: `${PREFIX}workers`,
    help: 'Worker processes by state (starting, listening, restarting).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const state of ['starting', 'listening', 'restarting'] as const) this.set({ state }, pool.slots.filter((s) => s.state === state).length);
    },
  });
  scrapedCounter(registry, 'worker_restarts_total', 'Workers restarted after they exited.', () => pool.slots.reduce((sum, slot) => sum + slot.restarts, 0));
}

/**
 * `serve --workers N` in the primary process, which serves no requests: it forks the workers,
 * answers /metrics with the sum of every worker's metrics, /debug/route through a worker, and
 * reloads by reloading each worker.
 */
export class PrimaryRole implements Role {
  /** The figures only the primary has; the lifecycle adds the geo refresh counter here too. */
  readonly registry = new Registry();
  private readonly questions = new PendingQuestions();
  private readonly samples = new WorkerSamples();
  private readonly pool: WorkerPool;
  /** The primary keeps its own copy for the geo refresh and the log level; workers hold the rest. */
  private loaded: LoadedConfig;
  private started = false;
  private stopping = false;

  constructor(private readonly options: PrimaryOptions) {
    this.loaded = options.config.first;
    this.pool = new WorkerPool({
      size: options.workers,
      policy: options.restartPolicy ?? DEFAULT_RESTART_POLICY,
      logger: options.logger,
      questions: this.questions,
      onExit: (pid) => this.samples.retire(pid),
    });
    registerPoolFigures(this.registry, this.pool);
  }

  async start(): Promise<Listening> {
    const { exec } = this.options;
    if (exec !== undefined) cluster.setupPrimary({ exec: exec.file, args: exec.args, execArgv: [] });
    await this.pool.start();
    this.started = true;
    const { address, slots } = this.pool;
    return {
      host: address?.host,
      port: address?.port,
      details: { workers: slots.length, worker_pids: slots.map((s) => s.worker?.process.pid), config: this.loaded.source },
    };
  }

  readiness(): Readiness {
    const live = this.pool.listening();
    const phase = this.stopping ? 'draining' : !this.started && live.length === 0 ? 'starting' : 'serving';
    return readinessOf(phase, live[0]?.slot.status, { listening: live.length, total: this.pool.slots.length });
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    collectGarbageIfExposed();
    const live = this.pool.listening();
    const replies = await Promise.all(live.map(({ worker }) => this.questions.ask(worker, 'metrics', ASK_TIMEOUT_MS)));
    replies.forEach((reply, i) => {
      const pid = live[i]?.worker.process.pid;
      // A reply that arrives after its worker exited must not bring it back into the sum.
      if (reply.ok && pid !== undefined && this.pool.isLive(pid)) this.samples.remember(pid, reply.value as MetricJson[]);
    });
    const merged = AggregatorRegistry.aggregate([...this.samples.parts(), await this.registry.getMetricsAsJSON()]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  async explain(query: RouteQuery): Promise<unknown> {
    const first = this.pool.listening()[0];
    if (first === undefined) throw new Error('no worker is listening');
    const reply = await this.questions.ask(first.worker, 'explain', ASK_TIMEOUT_MS, { request: query });
    if (!reply.ok) throw new Error(reply.error);
    return reply.value;
  }

  /** The primary's own memory, then each listening worker's (one that does not answer is left out). */
  async memory(): Promise<MemoryFigures[]> {
    const own = await measureMemory('primary');
    const live = this.pool.listening();
    const replies = await Promise.all(live.map(({ worker }) => this.questions.ask(worker, 'memory', ASK_TIMEOUT_MS)));
    return [own, ...replies.flatMap((reply) => (reply.ok ? (reply.value as MemoryFigures[]) : []))];
  }

  workers(): unknown[] {
    return this.pool.slots.map((s) => ({
      worker: s.index,
      pid: s.worker?.process.pid,
      state: s.state,
      started_at: s.startedAt > 0 ? new Date(s.startedAt).toISOString() : undefined,
      restarts: s.restarts,
    }));
  }

  async reload(reason: string): Promise<ReloadReport> {
    const live = this.pool.listening();
    const replies = await Promise.all(live.map(({ worker }) => this.questions.ask(worker, 'reload', RELOAD_TIMEOUT_MS, { reason })));
    const reports = replies.map((reply, i) => ({
      pid: live[i]?.worker.process.pid,
      ...(reply.ok ? (reply.value as ReloadReport) : { ok: false, error: reply.error }),
    }));
    const ok = reports.length > 0 && reports.every((r) => r.ok);
    if (ok) {
      try {
        this.loaded = (await this.options.config.next()).loaded;
      } catch {
        // The workers validated the same file a moment ago; a file changing in between is caught next time.
      }
      // Reading the file again left its garbage here too.
      releaseRetiredMemory();
    }
    const failed = reports.filter((r) => !r.ok);
    this.options.logger[ok ? 'info' : 'error']({ reason, workers: reports.length, failed: failed.length }, ok ? 'workers reloaded' : 'worker reload failed');
    return { ok, workers: reports, error: ok ? undefined : (failed[0]?.error ?? 'no worker is listening') };
  }

  current(): LoadedConfig {
    return this.loaded;
  }

  async drain(): Promise<void> {
    this.stopping = true;
    await this.pool.stop(this.loaded.config.listen.shutdown_timeout_ms);
  }

  async close(): Promise<void> {
    await this.drain();
  }
}
