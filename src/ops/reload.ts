import { isDeepStrictEqual } from 'node:util';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Runtime, RuntimeHolder } from '../server/runtime.js';

/** What a reload did, as POST /reload answers it and the log records it. */
export interface ReloadReport {
  ok: boolean;
  /** The configuration now running (on success). */
  source?: string;
  /** Why the old state was kept (on failure). */
  error?: string;
  /** Fields that changed in the file but only take effect after a restart. */
  restart_needed?: string[];
  /** With --workers: each worker's own report. */
  workers?: Array<ReloadReport & { pid: number | undefined }>;
}

/** Settings bound to sockets at start: a reload cannot move a listener. */
export type PinnedSettings = Pick<Config, 'listen' | 'admin'>;

export interface ReloaderOptions {
  /** The `--config` file (undefined = REGISTRY_EDGE_CONFIG or the embedded default). */
  file: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Command-line overrides applied to every loaded config, as at start (`--port`). */
  override: (config: Config) => void;
  holder: RuntimeHolder;
  logger: Logger;
  build: (loaded: LoadedConfig) => Promise<Runtime>;
  /** The new runtime is in place; `previous` still serves the requests that started on it. */
  onSwap?: (next: Runtime, previous: Runtime) => void;
  /** `previous` was closed. */
  onClosed?: (previous: Runtime) => void;
  onResult?: (result: 'success' | 'failure') => void;
  /** How long a replaced runtime stays open for the requests still using it. */
  graceMs?: (previous: Runtime) => number;
}

/** Margin on top of the longest time a request can keep using a runtime. */
const CLOSE_MARGIN_MS = 1000;

/**
 * A request holds the runtime it started with until it answers; the slowest answer waits for
 * one existence HEAD per candidate bucket, each bounded by the check timeout.
 */
export function defaultGraceMs(previous: Runtime): number {
  const { blobs } = previous.config;
  return blobs.check.timeout_ms * blobs.candidates + CLOSE_MARGIN_MS;
}

/** Dotted names of the fields that differ between two sections, e.g. `listen.port`. */
export function changedFields(section: string, running: object, wanted: object): string[] {
  const a = running as Record<string, unknown>;
  const b = wanted as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => !isDeepStrictEqual(a[key], b[key])).map((key) => `${section}.${key}`);
}

/**
 * Re-reads the configuration and every file it names, builds a complete new runtime, and swaps
 * it in atomically; any error leaves the running state untouched. Reloads run one at a time.
 */
export class Reloader {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending = new Map<Runtime, NodeJS.Timeout>();

  constructor(
    private readonly options: ReloaderOptions,
    private readonly pinned: PinnedSettings,
  ) {}

  reload(reason: string): Promise<ReloadReport> {
    const next = this.queue.then(() => this.reloadNow(reason));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Closes replaced runtimes at once (the server has already drained). */
  async closeRetired(): Promise<void> {
    const runtimes = [...this.pending.keys()];
    for (const timer of this.pending.values()) clearTimeout(timer);
    await Promise.all(runtimes.map((rt) => this.closeNow(rt)));
  }

  private async reloadNow(reason: string): Promise<ReloadReport> {
    const { logger } = this.options;
    let runtime: Runtime;
    let restartNeeded: string[];
    try {
      const loaded = loadConfig(this.options.file, this.options.env);
      this.options.override(loaded.config);
      restartNeeded = [
        ...changedFields('listen', this.pinned.listen, loaded.config.listen),
        ...changedFields('admin', this.pinned.admin, loaded.config.admin),
      ];
      // The runtime describes what is in effect, and the listeners keep their start-up settings.
      loaded.config.listen = this.pinned.listen;
      loaded.config.admin = this.pinned.admin;
      runtime = await this.options.build(loaded);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.error({ reason, error: message }, 'reload failed; the running configuration stays');
      this.options.onResult?.('failure');
      return { ok: false, error: message };
    }
    const previous = this.options.holder.swap(runtime);
    this.options.onSwap?.(runtime, previous);
    this.options.onResult?.('success');
    if (restartNeeded.length > 0) {
      logger.warn({ fields: restartNeeded }, 'reload: these settings only change on restart; the running values stay');
    }
    const graceMs = (this.options.graceMs ?? defaultGraceMs)(previous);
    const timer = setTimeout(() => void this.closeNow(previous), graceMs);
    timer.unref();
    this.pending.set(previous, timer);
    logger.info({ reason, config: runtime.source, geo_ranges: runtime.geo.rangesLoaded, close_previous_in_ms: graceMs }, 'reloaded');
    return { ok: true, source: runtime.source, restart_needed: restartNeeded };
  }

  private async closeNow(previous: Runtime): Promise<void> {
    if (!this.pending.delete(previous)) return;
    try {
      await previous.close();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'closing the replaced runtime failed');
    }
    this.options.onClosed?.(previous);
  }
}
