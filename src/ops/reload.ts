import { isDeepStrictEqual } from 'node:util';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Outcome } from './metrics.js';

/** What a reload did, as POST /reload answers it and the log records it. */
export interface ReloadReport {
  ok: boolean;
  /** The configuration now running (on success). */
  source?: string;
  /** Why the old state was kept (on failure). */
  error?: string;
  /** Fields that changed in the file but only take effect after a restart. */
  restart_needed?: string[];
  /** With listen.tls: whether the certificate files were read again and accepted (the old pair serves on when not). */
  tls?: { ok: boolean; changed: boolean; error?: string; fingerprint256: string; not_after: string };
  /** With --workers: each worker's own report. */
  workers?: Array<ReloadReport & { pid: number | undefined }>;
}

/** Command-line settings that win over the file and the environment, at start and on every reload. */
export interface Overrides {
  /** `--port` */
  port?: number;
  /** `--admin-port` */
  adminPort?: number;
}

/** Dotted names of the fields that differ between two sections, e.g. `listen.port`. */
export function changedFields(section: string, running: object, wanted: object): string[] {
  const a = running as Record<string, unknown>;
  const b = wanted as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => !isDeepStrictEqual(a[key], b[key])).map((key) => `${section}.${key}`);
}

/**
 * Where a serving process reads its configuration: the `--config` file (or REGISTRY_EDGE_CONFIG,
 * or the embedded default) with the environment and the command line applied. The listeners'
 * settings are bound to sockets at start, so every later read keeps the first ones and names
 * those the file changed.
 */
export class ConfigSource {
  private constructor(
    private readonly file: string | undefined,
    private readonly env: NodeJS.ProcessEnv,
    private readonly overrides: Overrides,
    readonly first: LoadedConfig,
  ) {}

  /** Reads the configuration a first time; a ConfigError names what is wrong with it. */
  static async open(file: string | undefined, env: NodeJS.ProcessEnv, overrides: Overrides = {}): Promise<ConfigSource> {
    return new ConfigSource(file, env, overrides, await readWith(file, env, overrides));
  }

  /** The configuration a reload would run now, and the settings only a restart can change. */
  async next(): Promise<{ loaded: LoadedConfig; restartNeeded: string[] }> {
    const loaded = await readWith(this.file, this.env, this.overrides);
    const { listen, admin } = this.first.config;
    const restartNeeded = [...changedFields('listen', listen, loaded.config.listen), ...changedFields('admin', admin, loaded.config.admin)];
    // The runtime describes what is in effect, and the listeners keep their start-up settings.
    loaded.config.listen = listen;
    loaded.config.admin = admin;
    return { loaded, restartNeeded };
  }
}

async function readWith(file: string | undefined, env: NodeJS.ProcessEnv, overrides: Overrides): Promise<LoadedConfig> {
  const loaded = await loadConfig(file, env);
  if (overrides.port !== undefined) loaded.config.listen.port = overrides.port;
  if (overrides.adminPort !== undefined) loaded.config.admin.port = overrides.adminPort;
  return loaded;
}

/** What the Reloader needs to know of a runtime generation. */
export interface Generation {
  readonly source: string;
  readonly config: Pick<Config, 'blobs'>;
  readonly geo: { readonly rangesLoaded: boolean };
  /** Resolves when no request uses the generation any more (absent: wait the grace period). */
  idle?(): Promise<void>;
  close(): Promise<void>;
}

export interface ReloaderOptions<G extends Generation> {
  config: ConfigSource;
  holder: { readonly current: G; swap(next: G): G };
  logger: Logger;
  /** Builds the next generation; `previous` is the one in use (a rate limiter may carry over). */
  build: (loaded: LoadedConfig, previous: G) => Promise<G>;
  /** The new generation is in place; `previous` still serves the requests that started on it. */
  onSwap?: (next: G, previous: G) => void;
  /** `previous` was closed. */
  onClosed?: (previous: G) => void;
  /** How a reload ended and how long building and swapping took. */
  onResult?: (result: Outcome, seconds: number) => void;
  /** The longest a replaced generation stays open for the requests still using it. */
  graceMs?: (previous: G) => number;
}

/** Margin on top of the longest time a request can keep using a runtime. */
const CLOSE_MARGIN_MS = 1000;

/**
 * A request holds the runtime it started with until it answers; the slowest answer waits for
 * one existence HEAD per candidate bucket, each bounded by the check timeout.
 */
export function defaultGraceMs(previous: Generation): number {
  const { blobs } = previous.config;
  return blobs.check.timeout_ms * blobs.candidates + CLOSE_MARGIN_MS;
}

/**
 * Re-reads the configuration and every file it names, builds a complete new generation, and
 * swaps it in atomically; any error leaves the running state untouched. Reloads run one at a time.
 */
export class Reloader<G extends Generation> {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending = new Map<G, NodeJS.Timeout>();

  constructor(private readonly options: ReloaderOptions<G>) {}

  reload(reason: string): Promise<ReloadReport> {
    const next = this.queue.then(() => this.reloadNow(reason));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Closes replaced generations at once (the server has already drained). */
  async closeRetired(): Promise<void> {
    const retired = [...this.pending.keys()];
    for (const timer of this.pending.values()) clearTimeout(timer);
    await Promise.all(retired.map((generation) => this.closeNow(generation)));
  }

  /** Replaced generations not yet closed. */
  get retired(): number {
    return this.pending.size;
  }

  private async reloadNow(reason: string): Promise<ReloadReport> {
    const { logger, holder } = this.options;
    const started = performance.now();
    const elapsed = (): number => (performance.now() - started) / 1000;
    let next: G;
    let restartNeeded: string[];
    try {
      const wanted = await this.options.config.next();
      restartNeeded = wanted.restartNeeded;
      next = await this.options.build(wanted.loaded, holder.current);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.error({ reason, error: message }, 'reload failed; the running configuration stays');
      this.options.onResult?.('failure', elapsed());
      return { ok: false, error: message };
    }
    const previous = holder.swap(next);
    this.options.onSwap?.(next, previous);
    this.options.onResult?.('success', elapsed());
    if (restartNeeded.length > 0) {
      logger.warn({ fields: restartNeeded }, 'reload: these settings only change on restart; the running values stay');
    }
    const graceMs = (this.options.graceMs ?? defaultGraceMs)(previous);
    const timer = setTimeout(() => void this.closeNow(previous), graceMs);
    timer.unref();
    this.pending.set(previous, timer);
    // Retired memory is given back as soon as the last request on it has answered.
    void previous.idle?.().then(() => this.closeNow(previous));
    logger.info({ reason, config: next.source, geo_ranges: next.geo.rangesLoaded, close_previous_in_ms: graceMs }, 'reloaded');
    return { ok: true, source: next.source, restart_needed: restartNeeded };
  }

  private async closeNow(previous: G): Promise<void> {
    const timer = this.pending.get(previous);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(previous);
    try {
      await previous.close();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'closing the replaced runtime failed');
    }
    this.options.onClosed?.(previous);
  }
}
