/**
 * The certificate side of a TLS public listener for the lifecycle: the pair in use, its
 * metrics, the file watcher, and the reload that SIGHUP and POST /reload run. A refused pair
 * is logged and reported; the old one keeps serving.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/types.js';
import { certificateLogFields, reportTlsReload, TlsContextHolder, type TlsReloadTrigger } from './tls-context.js';
import { TlsMetrics } from './tls-metrics.js';
import type { TlsSettings } from './tls-schema.js';
import { watchTlsFiles, type TlsWatcher } from './tls-watch.js';
import { loadTlsMaterial, TlsConfigError, type TlsFiles } from './tls.js';

/** What a reload did to the certificate, as the reload result carries it. */
export interface TlsReloadSummary {
  ok: boolean;
  changed: boolean;
  /** The refusal (field and file), when the old pair stays. */
  error?: string;
  /** The certificate served after the reload. */
  fingerprint256: string;
  not_after: string;
}

function filesOf(tls: TlsSettings): TlsFiles {
  return { cert: tls.cert, key: tls.key, client_ca: tls.client_ca };
}

/**
 * At start-up and in check-config: a missing, unreadable or mismatched pair is a configuration
 * error (exit 78) naming the field and the file.
 */
export function checkTlsFiles(config: Config, source: string): void {
  const { tls } = config.listen;
  if (tls === undefined) return;
  try {
    loadTlsMaterial(filesOf(tls));
  } catch (error) {
    if (error instanceof TlsConfigError) throw new ConfigError([error.message], source);
    throw error;
  }
}

export class TlsDoor {
  readonly holder: TlsContextHolder;
  readonly metrics: TlsMetrics;
  private watcher: TlsWatcher | undefined;

  constructor(
    tls: TlsSettings,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.holder = TlsContextHolder.open(filesOf(tls));
    this.metrics = new TlsMetrics({ registry, certificate: () => this.holder.current.leaf });
    if (tls.watch) this.watch(tls.watch_debounce_ms);
  }

  /** The certificate fields of the `listening` line. */
  certificate(): Record<string, string | number | boolean> {
    return certificateLogFields(this.holder.current);
  }

  /** Reads the pair again (at the paths `tls` names, which a config reload may have changed). */
  reload(tls: TlsSettings | undefined, trigger: TlsReloadTrigger): TlsReloadSummary {
    const result = this.holder.reload(tls === undefined ? undefined : filesOf(tls));
    reportTlsReload(result, trigger, this.logger, this.metrics);
    const { leaf } = result.material;
    return {
      ok: result.ok,
      changed: result.ok && result.changed,
      ...(result.ok ? {} : { error: result.error.message }),
      fingerprint256: leaf.fingerprint256,
      not_after: leaf.notAfter.toISOString(),
    };
  }

  /** Stops watching the files (at shutdown). */
  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private watch(debounceMs: number): void {
    this.watcher = watchTlsFiles(this.holder, {
      debounceMs,
      onReload: (result) => reportTlsReload(result, 'file', this.logger, this.metrics),
      onWatchError: (folder, error) => this.logger.warn({ folder, error: error.message }, 'tls: cannot watch the certificate folder; SIGHUP and POST /reload still reload it'),
    });
  }
}
