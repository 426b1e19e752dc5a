import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes `data` to `path` so that readers only ever see the old file or the complete new
 * one: write a temp file in the same directory (rename is only atomic within a file
 * system), flush it to disk, then rename it over the target.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
