/**
 * The `blobs.inventory` file sync keeps for the front door: a JSON object mapping each bucket
 * to the digests its store holds (the form `src/blobs/inventory.ts` reads), plus a sidecar
 * `<file>.sizes.json` with each object's size for `verify`. Both are replaced atomically
 * (temporary file, fsync, rename), so a reader sees the old file or the new one, whole.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseInventory } from '../blobs/inventory.js';

export interface SizesFile {
  version: 1;
  buckets: Record<string, Record<string, number>>;
}

const SEPARATOR = '\u0000';

export function sizesPath(inventoryPath: string): string {
  return `${inventoryPath}.sizes.json`;
}

/** The digest lists of the current file by bucket (`*` = every bucket); empty when absent. */
export async function readInventoryLists(path: string): Promise<Map<string, string[]>> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  const lists = new Map<string, string[]>();
  if (text === undefined) return lists;
  for (const entry of parseInventory(text, path)) {
    const at = entry.indexOf(SEPARATOR);
    const bucket = at < 0 ? '*' : entry.slice(0, at);
    const digest = at < 0 ? entry : entry.slice(at + 1);
    const list = lists.get(bucket) ?? [];
    list.push(digest);
    lists.set(bucket, list);
  }
  return lists;
}

export async function readSizes(path: string): Promise<SizesFile> {
  const text = await readFile(sizesPath(path), 'utf8').catch(() => undefined);
  if (text === undefined) return { version: 1, buckets: {} };
  try {
    const parsed = JSON.parse(text) as Partial<SizesFile>;
    return { version: 1, buckets: parsed.buckets ?? {} };
  } catch {
    return { version: 1, buckets: {} };
  }
}

export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temporary, 'w', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  const folder = await open(dirname(path), 'r');
  await folder.sync().finally(() => folder.close());
}

/**
 * Replaces the lists of the buckets synced (digest → size of what each store holds) and keeps
 * every other bucket's list as it was.
 */
export async function updateInventory(path: string, synced: ReadonlyMap<string, ReadonlyMap<string, number>>): Promise<void> {
  const lists = await readInventoryLists(path);
  const sizes = await readSizes(path);
  for (const [bucket, held] of synced) {
    const digests = [...held.keys()].sort();
    lists.set(bucket, digests);
    sizes.buckets[bucket] = Object.fromEntries(digests.map((digest) => [digest, held.get(digest) ?? 0]));
  }
  const document: Record<string, string[]> = {};
  for (const bucket of [...lists.keys()].sort()) document[bucket] = lists.get(bucket) ?? [];
  // Sizes first: an inventory entry whose size is not recorded yet is only checked for existence.
  await writeAtomically(sizesPath(path), `${JSON.stringify(sizes, null, 1)}\n`);
  await writeAtomically(path, `${JSON.stringify(document, null, 1)}\n`);
}
