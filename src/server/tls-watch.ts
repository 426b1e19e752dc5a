/**
 * Reloads the certificate when its files change on disk. cert-manager and the kubelet never
 * rewrite a mounted Secret in place: they write a new timestamped folder and rename the
 * `..data` symlink over the old one, so the file's own inode never changes. Watching the
 * folders that hold the configured paths sees that rename (and a plain `mv` or rewrite too).
 * Events come in bursts (several files, several renames), hence the debounce.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { TlsContextHolder, TlsReloadResult } from './tls-context.js';
import type { TlsFiles } from './tls.js';

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  set: (callback, ms) => setTimeout(callback, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Runs `action` once, `ms` after the last of a burst of pokes. */
export class Debouncer {
  private handle: unknown;

  constructor(
    private readonly ms: number,
    private readonly action: () => void,
    private readonly timers: Timers = REAL_TIMERS,
  ) {}

  poke(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = this.timers.set(() => {
      this.handle = undefined;
      this.action();
    }, this.ms);
  }

  cancel(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = undefined;
  }
}

/** The folders to watch for a set of files, each once. Pure. */
export function watchedFolders(files: Readonly<TlsFiles>): string[] {
  const paths = [files.cert, files.key, files.client_ca ?? ''].filter((path) => path !== '');
  return [...new Set(paths.map((path) => dirname(path)))].sort();
}

export interface TlsWatchOptions {
  debounceMs: number;
  /** Every reload the watcher ran that changed the pair or was refused (unchanged files stay quiet). */
  onReload: (result: TlsReloadResult) => void;
  /** A folder could not be watched (any more); reloads by signal still work. */
  onWatchError?: (folder: string, error: Error) => void;
  timers?: Timers;
}

export interface TlsWatcher {
  readonly folders: readonly string[];
  close(): void;
}

export function watchTlsFiles(holder: TlsContextHolder, options: TlsWatchOptions): TlsWatcher {
  const watchers = new Map<string, FSWatcher>();
  const debouncer = new Debouncer(options.debounceMs, () => {
    const result = holder.reload();
    if (!result.ok || result.changed) options.onReload(result);
  }, options.timers);
  const arm = (folders: string[]): void => {
    for (const [folder, watcher] of watchers) {
      if (folders.includes(folder)) continue;
      watcher.close();
      watchers.delete(folder);
    }
    for (const folder of folders) {
      if (watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, { persistent: false }, () => debouncer.poke());
        watcher.on('error', (error) => {
          watcher.close();
          watchers.delete(folder);
          options.onWatchError?.(folder, error);
        });
        watchers.set(folder, watcher);
      } catch (error) {
        options.onWatchError?.(folder, error as Error);
      }
    }
  };
  arm(watchedFolders(holder.current.files));
  // A configuration reload may point listen.tls at other folders.
  const unsubscribe = holder.onChange((material) => arm(watchedFolders(material.files)));
  return {
    get folders() {
      return [...watchers.keys()].sort();
    },
    close() {
      unsubscribe();
      debouncer.cancel();
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
