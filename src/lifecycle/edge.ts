import { ConfigError } from '../config/errors.js';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import type { RouteQuery } from '../ops/admin.js';
import { measureMemory, type MemoryFigures } from '../ops/memory.js';
import { releaseRetiredMemoryAtNextRequest } from '../ops/memory-release.js';
import type { EdgeMetrics } from '../ops/metrics.js';
import { Reloader, type ConfigSource, type ReloadReport } from '../ops/reload.js';
import { StartupError } from '../ops/startup.js';
import { buildRuntime, type BuildOptions } from '../server/build.js';
import { checkerHeld } from '../server/checker-share.js';
import { DataFiles } from '../server/data-files.js';
import { explain } from '../server/explain.js';
import { RuntimeHolder, type Runtime } from '../server/runtime.js';
import { startServer, type RunningServer } from '../server/serve.js';
import type { TlsReloadTrigger } from '../server/tls-context.js';
import type { TlsDoor } from '../server/tls-door.js';
import type { Listening, Role } from './lifecycle.js';
import { generationStatus, readinessOf, type GenerationStatus } from './readiness.js';

export interface EdgeOptions {
  config: ConfigSource;
  logger: Logger;
  metrics: EdgeMetrics;
  /** Clocks for the existence cache and the rate limiter (tests inject them). */
  clocks?: Pick<BuildOptions, 'now' | 'limiterClock' | 'wallClock' | 'probeTimers'>;
  /** A reload put a new generation in use (a worker tells its primary, for /readyz). */
  onGeneration?: (status: GenerationStatus) => void;
  /** One of the workers of `serve --workers` (how /debug/memory names the process). */
  worker?: boolean;
}

interface Serving {
  holder: RuntimeHolder;
  server: RunningServer;
  reloader: Reloader<Runtime>;
  /** The certificate, its watcher and metrics, with listen.tls. */
  tls: TlsDoor | undefined;
}

/**
 * Opens the certificate pair of listen.tls; a refused one is a configuration error (exit 78).
 * The TLS modules load only then: a plain HTTP start-up never needs them.
 */
async function openTlsDoor(loaded: LoadedConfig, logger: Logger, metrics: EdgeMetrics): Promise<TlsDoor | undefined> {
  const { tls } = loaded.config.listen;
  if (tls === undefined) return undefined;
  const [{ TlsDoor }, { TlsConfigError }] = await Promise.all([import('../server/tls-door.js'), import('../server/tls.js')]);
  try {
    return new TlsDoor(tls, logger, metrics.registry);
  } catch (error) {
    if (error instanceof TlsConfigError) throw new ConfigError([error.message], loaded.source);
    throw error;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A process that answers requests: the runtime generation, the public listener and the reloads
 * that swap generations. It runs alone, or as one of the workers of `serve --workers`.
 */
export class EdgeRole implements Role {
  private serving: Serving | undefined;
  /** Data files shared by this process's generations while unchanged. */
  private readonly files = new DataFiles();

  constructor(private readonly options: EdgeOptions) {}

  async start(): Promise<Listening> {
    const { config, logger, metrics } = this.options;
    const loaded = config.first;
    let first: Runtime;
    try {
      first = await this.build(loaded, undefined);
    } catch (error) {
      // A data file that does not load (inventory, MMDB): its own message names the file.
      throw new StartupError(errorMessage(error));
    }
    const holder = new RuntimeHolder(first);
    metrics.follow(holder);
    let server: RunningServer;
    let tls: TlsDoor | undefined;
    try {
      tls = await openTlsDoor(loaded, logger, metrics);
      server = await startServer(loaded.config, holder, logger, { onRequest: metrics.onRequest }, tls);
    } catch (error) {
      tls?.close();
      await first.close();
      throw error;
    }
    const reloader = new Reloader<Runtime>({
      config,
      holder,
      logger,
      build: (next, previous) => this.build(next, previous),
      onSwap: (next, previous) => {
        // A checker carried into the new generation keeps counting as the current one.
        if (next.checker !== previous.checker) metrics.retire(previous.checker);
        this.options.onGeneration?.(generationStatus(next));
      },
      onClosed: (previous) => {
        if (!checkerHeld(previous.checker)) metrics.release(previous.checker);
        releaseRetiredMemoryAtNextRequest();
      },
      onResult: (result, seconds) => metrics.reloaded(result, seconds),
    });
    metrics.hold({ generations: () => 1 + reloader.retired, fileBytes: () => this.files.bytesByFile() });
    this.serving = { holder, server, reloader, tls };
    // A worker's primary learns that the city data loaded in the background is in use (/readyz).
    void first.locator.geography?.then(() => {
      if (holder.current === first) this.options.onGeneration?.(generationStatus(first));
    });
    return { host: server.host, port: server.port, details: { ...listeningDetails(first), tls: tls?.certificate() } };
  }

  /** The started server and generation holder; only after start(). */
  started(): Serving {
    if (this.serving === undefined) throw new Error('not started yet');
    return this.serving;
  }

  status(): GenerationStatus {
    return generationStatus(this.started().holder.current);
  }

  readiness(): ReturnType<Role['readiness']> {
    const serving = this.serving;
    if (serving === undefined) return readinessOf('starting', undefined, { listening: 0, total: 1 });
    if (serving.server.draining) return readinessOf('draining', undefined, { listening: 0, total: 1 });
    return readinessOf('serving', generationStatus(serving.holder.current), { listening: 1, total: 1 });
  }

  metrics(): Promise<{ contentType: string; body: string }> {
    return this.options.metrics.render();
  }

  explain(query: RouteQuery): Promise<unknown> {
    return explain(this.started().holder.current, query);
  }

  async memory(): Promise<MemoryFigures[]> {
    const generations = this.serving === undefined ? 0 : 1 + this.serving.reloader.retired;
    return [await measureMemory(this.options.worker === true ? 'worker' : 'single', generations)];
  }

  workers(): unknown[] {
    return [{ worker: 0, pid: process.pid, state: this.serving === undefined ? 'starting' : 'listening' }];
  }

  async reload(reason: string): Promise<ReloadReport> {
    if (this.serving === undefined) return { ok: false, error: 'not started yet' };
    const report = await this.serving.reloader.reload(reason);
    const { tls } = this.serving;
    // listen.* keeps its start-up values, so the pair is read again at the same paths.
    return tls === undefined ? report : { ...report, tls: tls.reload(undefined, tlsTrigger(reason)) };
  }

  current(): LoadedConfig {
    const rt = this.serving?.holder.current;
    return rt === undefined ? this.options.config.first : { config: rt.config, source: rt.source };
  }

  async drain(): Promise<void> {
    this.serving?.tls?.close();
    await this.serving?.server.shutdown();
  }

  async close(): Promise<void> {
    if (this.serving === undefined) return;
    this.serving.tls?.close();
    await this.serving.reloader.closeRetired();
    await this.serving.holder.current.close();
  }

  private build(loaded: LoadedConfig, previous: Runtime | undefined): Promise<Runtime> {
    const { logger, metrics, clocks } = this.options;
    // Only the first generation loads its city data behind an open port; a reload's new one
    // is swapped in complete, while the old one serves.
    const deferGeography = previous === undefined;
    return buildRuntime(loaded, logger, { ...clocks, onCheck: metrics.onCheck, onTransition: metrics.onTransition, onProbe: metrics.onProbe, previous, files: this.files, deferGeography });
  }
}

/** The log's name for what asked for a reload (a worker's reason ends in "(primary)"). */
function tlsTrigger(reason: string): TlsReloadTrigger {
  if (reason.startsWith('POST /reload')) return 'api';
  return reason.startsWith('SIGHUP') ? 'signal' : 'config';
}

/** What the `listening` line says about the configuration a serving process started with. */
function listeningDetails(rt: Runtime): Record<string, unknown> {
  const { config } = rt;
  return {
    config: rt.source,
    origin: rt.plan.originPrefix,
    buckets: config.buckets.length,
    default_bucket: config.default_bucket || undefined,
    trusted_hops: config.client_ip.trusted_hops,
    geo_ranges: rt.geo.rangesLoaded,
    rate_limit: config.limits.per_ip_rps > 0 ? config.limits : undefined,
  };
}
