import { stat } from 'node:fs/promises';

/** A loaded data file held by one runtime generation until it closes. */
export interface Lease<T> {
  readonly value: T;
  release(): void;
}

/** What a loader returns: the value and the bytes it keeps in memory. */
export interface Loaded<T> {
  value: T;
  bytes: number;
}

interface Entry {
  readonly key: string;
  readonly path: string;
  readonly identity: string;
  readonly loading: Promise<Loaded<unknown>>;
  bytes: number;
  refs: number;
}

/**
 * The data files (MMDB databases, inventories) every runtime generation of a process loads.
 * A reload that finds a file with the same identity (device, inode, size, modification time)
 * as the one already loaded shares that copy instead of reading and parsing it again; a
 * changed file is loaded afresh, and the old copy is dropped when the last generation holding
 * it closes. So a reload that changes nothing costs no memory, and one that changes one file
 * costs that file alone.
 */
export class DataFiles {
  /** The newest copy of each file, by kind and path: what the next generation shares. */
  private readonly current = new Map<string, Entry>();
  /** Every copy some generation still holds (a changed file's old copy until its holders close). */
  private readonly held = new Set<Entry>();

  /**
   * The file at `path`, shared when unchanged. A file that cannot be stat'ed is handed to the
   * loader as it is, so its error names the problem the way it always has.
   */
  async open<T>(kind: string, path: string, load: (path: string) => Promise<Loaded<T>>): Promise<Lease<T>> {
    let identity: string;
    try {
      const info = await stat(path, { bigint: true });
      identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}`;
    } catch {
      const loaded = await load(path);
      return { value: loaded.value, release: () => undefined };
    }
    const key = `${kind}\u0000${path}`;
    let entry = this.current.get(key);
    if (entry === undefined || entry.identity !== identity) {
      entry = { key, path, identity, loading: load(path), bytes: 0, refs: 0 };
      this.current.set(key, entry);
    }
    entry.refs++;
    this.held.add(entry);
    let loaded: Loaded<unknown>;
    try {
      loaded = await entry.loading;
    } catch (error) {
      this.drop(entry);
      throw error;
    }
    entry.bytes = loaded.bytes;
    return leaseOf(loaded.value as T, () => this.drop(entry));
  }

  /** Bytes held in memory for each file path, over every copy still held. */
  bytesByFile(): Map<string, number> {
    const bytes = new Map<string, number>();
    for (const entry of this.held) bytes.set(entry.path, (bytes.get(entry.path) ?? 0) + entry.bytes);
    return bytes;
  }

  private drop(entry: Entry): void {
    if (--entry.refs > 0) return;
    this.held.delete(entry);
    if (this.current.get(entry.key) === entry) this.current.delete(entry.key);
  }
}

function leaseOf<T>(value: T, release: () => void): Lease<T> {
  let released = false;
  return {
    value,
    release() {
      if (released) return;
      released = true;
      release();
    },
  };
}
