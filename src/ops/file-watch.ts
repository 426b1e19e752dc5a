/**
 * Reloads when a data file the configuration names is rewritten, so that what `registry-edge
 * sync` just copied (its `blobs.inventory`) is redirected without a SIGHUP. The file's folder
 * is watched, not the file: an atomic rewrite (temporary file, rename) puts a new file at the
 * name, which a watch on the old one would never see. A burst of events is one reload.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../log.js';

/** Long enough for a writer's temporary file, fsync and rename to settle into one change. */
export const DEFAULT_DEBOUNCE_MS = 300;

export interface FileWatchOptions {
  logger: Logger;
  /** Called once per burst of changes, `debounceMs` after the last one, with the files changed. */
  onChange: (files: string[]) => void;
  debounceMs?: number;
}

/** Folder → the names watched in it, for a list of absolute paths ('' = none). */
export function foldersOf(paths: readonly string[]): Map<string, Set<string>> {
  const folders = new Map<string, Set<string>>();
  for (const path of paths) {
    if (path === '') continue;
    const names = folders.get(dirname(path)) ?? new Set<string>();
    names.add(basename(path));
    folders.set(dirname(path), names);
  }
  return folders;
}

/**
 * The watched files an event in `folder` concerns: the one named, if watched; every watched
 * file of the folder when the platform did not say which file changed.
 */
export function concernedFiles(names: ReadonlySet<string>, folder: string, name: string | null): string[] {
  if (name === null) return [...names].map((each) => join(folder, each));
  return names.has(name) ? [join(folder, name)] : [];
}

export class FileWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private folders = new Map<string, Set<string>>();
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: FileWatchOptions) {}

  /** Watches exactly `paths` from now on (after a reload, the new configuration's files). */
  configure(paths: readonly string[]): void {
    this.folders = foldersOf(paths);
    for (const [folder, watcher] of this.watchers) {
      if (this.folders.has(folder)) continue;
      watcher.close();
      this.watchers.delete(folder);
    }
    for (const folder of this.folders.keys()) if (!this.watchers.has(folder)) this.open(folder);
  }

  /** The folders watched now. */
  watching(): string[] {
    return [...this.watchers.keys()];
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private open(folder: string): void {
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { persistent: false }, (_event, name) => this.saw(folder, name));
    } catch (error) {
      // A folder that does not exist yet is not an error: reloads still pick the file up.
      this.options.logger.warn({ folder, error: (error as Error).message }, 'cannot watch a data file folder; changes there need a reload');
      return;
    }
    watcher.on('error', (error) => {
      this.options.logger.warn({ folder, error: error.message }, 'stopped watching a data file folder; changes there need a reload');
      watcher.close();
      this.watchers.delete(folder);
    });
    this.watchers.set(folder, watcher);
  }

  private saw(folder: string, name: string | Buffer | null): void {
    const names = this.folders.get(folder);
    if (names === undefined) return;
    const files = concernedFiles(names, folder, name === null ? null : String(name));
    if (files.length === 0) return;
    for (const file of files) this.changed.add(file);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const files = [...this.changed].sort();
    this.changed.clear();
    this.options.onChange(files);
  }
}
