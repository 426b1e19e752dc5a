/**
 * The certificate the public listener presents, swappable while it serves. A reload reads the
 * files again; a good new pair replaces the old one for every connection accepted afterwards
 * (open connections finish on the context they were made with), a bad one is refused and the
 * old pair keeps serving.
 */
import type { Logger } from '../log.js';
import type { TlsMetrics } from './tls-metrics.js';
import { loadTlsMaterial, TlsConfigError, type ReadFile, type TlsFiles, type TlsMaterial } from './tls.js';

export type TlsReloadResult =
  | { ok: true; changed: boolean; material: TlsMaterial }
  /** `material` is the pair still being served. */
  | { ok: false; error: TlsConfigError; material: TlsMaterial };

export interface TlsLoadOptions {
  read?: ReadFile;
  now?: () => number;
}

export class TlsContextHolder {
  private readonly listeners = new Set<(material: TlsMaterial) => void>();

  private constructor(
    private material: TlsMaterial,
    private readonly options: TlsLoadOptions,
  ) {}

  /** Loads the first pair; throws TlsConfigError (exit 78 at start-up) when it is refused. */
  static open(files: TlsFiles, options: TlsLoadOptions = {}): TlsContextHolder {
    return new TlsContextHolder(loadTlsMaterial(files, options), options);
  }

  get current(): TlsMaterial {
    return this.material;
  }

  /**
   * Reads the files again (or the new paths a configuration reload names). Unchanged bytes
   * change nothing; a refused pair leaves the current one in place and says why.
   */
  reload(files: TlsFiles = this.material.files): TlsReloadResult {
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(files, this.options);
    } catch (error) {
      const refusal = error instanceof TlsConfigError ? error : new TlsConfigError('listen.tls.cert', files.cert, `could not be loaded: ${String(error)}`);
      return { ok: false, error: refusal, material: this.material };
    }
    if (next.contentHash === this.material.contentHash && sameFiles(next.files, this.material.files)) {
      return { ok: true, changed: false, material: this.material };
    }
    this.material = next;
    for (const listener of this.listeners) listener(next);
    return { ok: true, changed: true, material: next };
  }

  /** Called with every newly accepted pair; returns the unsubscribe function. */
  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function sameFiles(a: Readonly<TlsFiles>, b: Readonly<TlsFiles>): boolean {
  return a.cert === b.cert && a.key === b.key && (a.client_ca ?? '') === (b.client_ca ?? '');
}

/** The fields every log line about the served certificate carries. */
export function certificateLogFields(material: TlsMaterial): Record<string, string | number | boolean> {
  return {
    cert: material.files.cert,
    subject: material.leaf.subject.replace(/\n/g, ', '),
    fingerprint256: material.leaf.fingerprint256,
    not_after: material.leaf.notAfter.toISOString(),
    chain: material.leaf.chainLength,
    mutual_tls: material.mutual,
  };
}

export type TlsReloadTrigger = 'file' | 'signal' | 'api' | 'config';

/**
 * One log line and one metric per reload that mattered: a new pair (info), or a refused one
 * (error, naming the field and file, with the certificate that keeps serving). Unchanged files
 * say nothing, so a busy folder does not fill the log.
 */
export function reportTlsReload(result: TlsReloadResult, trigger: TlsReloadTrigger, logger: Logger, metrics?: TlsMetrics): void {
  if (!result.ok) {
    metrics?.reloaded('failure');
    logger.error({ trigger, field: result.error.field, file: result.error.file, error: result.error.message, serving: result.material.leaf.fingerprint256 }, 'tls certificate refused; the previous one keeps serving');
    return;
  }
  if (!result.changed) return;
  metrics?.reloaded('success');
  logger.info({ trigger, ...certificateLogFields(result.material) }, 'tls certificate loaded');
}
