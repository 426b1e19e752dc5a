import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.js';
import { StartupError } from '../ops/startup.js';
import { isChannelMessage, type PendingQuestions, type WorkerMessage } from './channel.js';
import type { GenerationStatus } from './readiness.js';
import { restartDelay, type RestartPolicyOptions } from './restart-policy.js';

export type SlotState = 'starting' | 'listening' | 'restarting' | 'stopped';

/** One place in the pool: the worker filling it now and its history. */
export interface Slot {
  index: number;
  worker: Worker | undefined;
  state: SlotState;
  startedAt: number;
  restarts: number;
  streak: number;
  timer: NodeJS.Timeout | undefined;
  /** What the worker serves, as it last said. */
  status: GenerationStatus | undefined;
}

export interface PoolOptions {
  size: number;
  policy: RestartPolicyOptions;
  logger: Logger;
  questions: PendingQuestions;
  /** A worker process is gone (its last figures stop being live). */
  onExit: (pid: number) => void;
}

/** On top of listen.shutdown_timeout_ms before a worker that will not stop is killed. */
const STOP_MARGIN_MS = 2_000;

/**
 * The --workers processes: forks them (they share the public port through node:cluster),
 * restarts the ones that die with a back-off, and stops them all with a deadline.
 */
export class WorkerPool {
  readonly slots: Slot[];
  /** The public address, as the first worker to listen reported it. */
  address: { host: string; port: number } | undefined;
  private startup: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** Set once the pool stops, or gives up because a worker could not start: nothing restarts then. */
  private closing = false;

  constructor(private readonly options: PoolOptions) {
    this.slots = Array.from({ length: options.size }, (_, index) => ({
      index,
      worker: undefined,
      state: 'starting',
      startedAt: 0,
      restarts: 0,
      streak: 0,
      timer: undefined,
      status: undefined,
    }));
  }

  /** Forks every worker; resolves once all listen, rejects with the first one's reason for not starting. */
  start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => (this.startup = { resolve, reject }));
    for (const slot of this.slots) this.fork(slot);
    return started;
  }

  /** The workers that listen now and can be asked. */
  listening(): Array<{ slot: Slot; worker: Worker }> {
    return this.slots.flatMap((slot) => (slot.state === 'listening' && slot.worker?.isConnected() ? [{ slot, worker: slot.worker }] : []));
  }

  isLive(pid: number): boolean {
    return this.slots.some((slot) => slot.worker?.process.pid === pid);
  }

  /** SIGTERM to every worker (each drains on its own), then SIGKILL to any still there after the grace period. */
  async stop(graceMs: number): Promise<void> {
    this.closing = true;
    for (const slot of this.slots) clearTimeout(slot.timer);
    const live = this.slots.map((slot) => slot.worker).filter((worker): worker is Worker => worker !== undefined);
    await Promise.all(live.map((worker) => this.stopWorker(worker, graceMs + STOP_MARGIN_MS)));
  }

  private stopWorker(worker: Worker, deadlineMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (worker.process.exitCode !== null || worker.process.signalCode !== null) {
        resolve();
        return;
      }
      const kill = setTimeout(() => {
        this.options.logger.warn({ worker_pid: worker.process.pid }, 'worker did not stop in time; killing it');
        worker.process.kill('SIGKILL');
      }, deadlineMs);
      worker.process.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      worker.process.kill('SIGTERM');
    });
  }

  private fork(slot: Slot): void {
    slot.timer = undefined;
    slot.state = 'starting';
    slot.startedAt = Date.now();
    const worker = cluster.fork();
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (isChannelMessage(message)) this.receive(slot, message as WorkerMessage);
    });
    // A write to a worker whose channel just closed (EPIPE, e.g. node handing it a connection as
    // it exits) must not crash the primary: its 'exit' follows, and the pool deals with that.
    worker.on('error', (error) => this.options.logger.warn({ worker_pid: worker.process.pid, err: error }, 'worker channel error'));
    worker.once('exit', (code, signal) => this.exited(slot, worker, code, signal));
  }

  private receive(slot: Slot, message: WorkerMessage): void {
    switch (message.op) {
      case 'reply':
        this.options.questions.settle(message);
        return;
      case 'status':
        slot.status = message.status;
        return;
      case 'failed':
        this.giveUp(message.error);
        return;
      case 'listening':
        slot.state = 'listening';
        slot.status = message.status;
        this.address ??= { host: message.host, port: message.port };
        if (this.startup !== undefined && this.slots.every((s) => s.state === 'listening')) {
          this.startup.resolve();
          this.startup = undefined;
        }
    }
  }

  /**
   * Dying before the service ever came up is a configuration or environment problem (a port in
   * use, an unreadable file): restarting would only repeat it, so the pool gives up.
   */
  private giveUp(reason: string): void {
    this.closing = true;
    this.startup?.reject(new StartupError(reason));
    this.startup = undefined;
  }

  private exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    const uptimeMs = Date.now() - slot.startedAt;
    slot.worker = undefined;
    slot.status = undefined;
    if (worker.process.pid !== undefined) this.options.onExit(worker.process.pid);
    if (this.startup !== undefined) this.giveUp(`worker ${worker.process.pid} exited (code ${code}, signal ${signal}) before listening`);
    if (this.closing) {
      slot.state = 'stopped';
      return;
    }
    const next = restartDelay(uptimeMs, slot.streak, this.options.policy);
    slot.streak = next.streak;
    slot.state = 'restarting';
    slot.restarts++;
    this.options.logger.warn(
      { worker: slot.index, worker_pid: worker.process.pid, code, signal, uptime_ms: uptimeMs, restart_in_ms: next.delayMs },
      'worker exited; restarting',
    );
    slot.timer = setTimeout(() => this.fork(slot), next.delayMs);
  }
}
