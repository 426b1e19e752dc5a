import { parseDuration } from '../config/load.js';
import type { Config } from '../config/types.js';
import { updateGeoData } from '../geo/pipeline.js';
import type { Logger } from '../log.js';

/** Rebuilds the cloud ranges MMDB at `out` in place (atomically); resolves whether a new file was written. */
export type RangesUpdater = (out: string, logger: Logger) => Promise<boolean>;

export interface GeoRefreshOptions {
  logger: Logger;
  /** Swaps the new file in; resolves whether the reload succeeded. */
  reload: () => Promise<boolean>;
  update?: RangesUpdater;
  onResult?: (result: 'success' | 'failure') => void;
}

/** The feed download and compiler are the geo pipeline's, reached through its one entry. */
export const downloadRanges: RangesUpdater = async (out, logger) => {
  const result = await updateGeoData({
    out,
    // The city data comes from an installed package and cannot change while running.
    locations: false,
    log: (level, msg, fields) => logger[level](fields ?? {}, msg),
  });
  if (result.failed.length > 0) {
    throw new Error(`feeds failed: ${result.failed.map((feed) => `${feed} (${result.errors[feed] ?? 'unknown error'})`).join(', ')}`);
  }
  return result.written;
};


/**
 * `geo.refresh`: re-downloads the providers' feeds every interval, then reloads so the new
 * ranges are swapped in only once they validate. A failure keeps the last good data and the
 * next attempt comes one interval later. The timer never keeps the process alive.
 */
export class GeoRefresher {
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 0;
  private out = '';
  private running: Promise<boolean> | undefined;
  /** When the next refresh is due (epoch ms), or undefined when refreshing is off. */
  nextAt: number | undefined;

  constructor(private readonly options: GeoRefreshOptions) {}

  /**
   * Applies `geo.refresh` and `geo.ranges` from a (re)loaded config; an unchanged setting keeps
   * its schedule. `geo.ranges` arrives absolute (the loader resolves it against the config
   * file's folder), so where the config came from no longer matters: `_source` goes once
   * the callers stop passing it.
   */
  configure(config: Config, _source?: string): void {
    const intervalMs = parseDuration(config.geo.refresh) ?? 0;
    const out = config.geo.ranges;
    if (intervalMs === this.intervalMs && out === this.out) return;
    this.intervalMs = intervalMs;
    this.out = out;
    this.schedule();
  }

  /** One refresh now: download and compile, then reload. Concurrent calls share one run. */
  refreshNow(): Promise<boolean> {
    this.running ??= this.refresh().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAt = undefined;
  }

  private schedule(): void {
    this.stop();
    if (this.intervalMs <= 0) return;
    this.nextAt = Date.now() + this.intervalMs;
    this.timer = setTimeout(() => {
      void this.refreshNow().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async refresh(): Promise<boolean> {
    const { logger } = this.options;
    const update = this.options.update ?? downloadRanges;
    const started = Date.now();
    try {
      const written = await update(this.out, logger);
      if (written && !(await this.options.reload())) throw new Error('the new ranges did not load; the previous ones stay');
      logger.info({ out: this.out, written, ms: Date.now() - started }, 'geo refresh done');
      this.options.onResult?.('success');
      return true;
    } catch (error) {
      logger.error({ out: this.out, error: error instanceof Error ? error.message : String(error) }, 'geo refresh failed; the last good ranges stay');
      this.options.onResult?.('failure');
      return false;
    }
  }
}
