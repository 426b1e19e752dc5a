/**
 * `store: { type: dir, path }`: files at `<path>/<key>`, for any web server to serve as the
 * bucket. A blob is written to a temporary name beside its key (sent to the disk as it is
 * written, durable-file.ts), fsynced, renamed over the key and the folder fsynced, so the
 * key holds either nothing, the old bytes or the whole blob.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DurableFile } from './durable-file.js';
import type { BlobStore } from './types.js';

/** `.<name>.<pid>-<random>.partial`: hidden, never a digest, and names the process writing it. */
const PARTIAL = /^\.(.+)\.(\d+)-[0-9a-f]{8}\.partial$/;

function partialName(key: string): string {
  return `.${basename(key)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The folder a key prefix lies in, relative to the root: `a/b/` → `a/b/`, `a/b-` → `a/`. */
function prefixFolder(prefix: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix : `${dirname(prefix)}/`;
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class DirStore implements BlobStore {
  readonly description: string;
  private readonly renamedIn = new Set<string>();

  constructor(private readonly root: string) {
    this.description = `dir ${root}`;
  }

  private file(key: string): string {
    return join(this.root, key);
  }

  async list(prefix: string): Promise<Map<string, number> | undefined> {
    const relative = prefixFolder(prefix);
    const folder = this.file(relative);
    const sizes = new Map<string, number>();
    const entries = await readdir(folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    await Promise.all(entries.filter((entry) => entry.isFile() && !entry.name.startsWith('.')).map(async (entry) => {
      const info = await stat(join(folder, entry.name)).catch(() => undefined);
      if (info !== undefined) sizes.set(`${relative}${entry.name}`, info.size);
    }));
    return sizes;
  }

  async stat(key: string): Promise<number | undefined> {
    const info = await stat(this.file(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    return info?.isFile() ? info.size : undefined;
  }

  async put(key: string, body: Readable): Promise<void> {
    const target = this.file(key);
    const folder = dirname(target);
    await mkdir(folder, { recursive: true });
    const temporary = join(folder, partialName(key));
    try {
      // Fsynced before it closes, so the rename publishes durable bytes.
      await pipeline(body, new DurableFile(temporary, 0o644));
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    this.renamedIn.add(folder);
  }

  /**
   * Makes the renames durable, once per folder rather than once per blob: a rename lost to a
   * power cut leaves the key empty (copied again next run), never holding wrong bytes.
   */
  async finish(): Promise<void> {
    const folders = [...this.renamedIn];
    this.renamedIn.clear();
    await Promise.all(folders.map(syncFolder));
  }

  async read(key: string): Promise<Readable> {
    await stat(this.file(key));
    return createReadStream(this.file(key), { highWaterMark: 1024 * 1024 });
  }

  /** Removes temporary files whose writer is gone (a sync killed mid-copy). */
  async prepare(prefix: string): Promise<void> {
    const folder = this.file(prefixFolder(prefix));
    const names = await readdir(folder).catch(() => []);
    await Promise.all(names.map(async (name) => {
      const match = PARTIAL.exec(name);
      if (match && !processAlive(Number(match[2]))) await rm(join(folder, name), { force: true });
    }));
  }
}
