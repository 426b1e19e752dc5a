/**
 * Replaces data files so that readers only ever see an old file or a complete new one, and
 * several files as nearly together as a file system allows. Every new file is first written
 * in full beside its target (a temp file in the same folder: rename is only atomic within a
 * file system) and flushed to disk; only once all are staged are they renamed over their
 * targets. A full disk or an unwritable folder therefore fails before anything is replaced;
 * only a rename can fail part way, and the error then says exactly which files changed.
 */
import { open, rename, rm } from 'node:fs/promises';

export interface PendingFile {
  path: string;
  data: Uint8Array;
}

/** A commit that did not complete: `replaced` lists the targets that were replaced anyway. */
export class CommitError extends Error {
  override name = 'CommitError';

  constructor(
    /** The target that could not be written or renamed. */
    readonly path: string,
    readonly replaced: readonly string[],
    cause: unknown,
  ) {
    super(`cannot write ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

function tempPath(path: string): string {
  return `${path}.${process.pid}.${Date.now()}.tmp`;
}

async function writeSynced(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(path, 'w', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeAll(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((path) => rm(path, { force: true })));
}

/** Stages every file, then renames them in order; resolves the targets replaced (all of them). */
export async function commitFiles(files: readonly PendingFile[]): Promise<string[]> {
  const temps: string[] = [];
  for (const file of files) {
    temps.push(tempPath(file.path));
    try {
      await writeSynced(temps[temps.length - 1] as string, file.data);
    } catch (error) {
      await removeAll(temps);
      throw new CommitError(file.path, [], error);
    }
  }
  const replaced: string[] = [];
  for (const [index, file] of files.entries()) {
    try {
      await rename(temps[index] as string, file.path);
    } catch (error) {
      await removeAll(temps.slice(index));
      throw new CommitError(file.path, replaced, error);
    }
    replaced.push(file.path);
  }
  return replaced;
}

/** One file, atomically (see commitFiles). */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await commitFiles([{ path, data }]);
}
