import { readFile } from 'node:fs/promises';
import { DIGEST_FORM, isValidDigest } from '../routing/digest.js';
import { Inventory, inventoryOf } from './inventory-set.js';
import { scanInventoryFile } from './inventory-scan.js';
import { stat } from 'node:fs/promises';

export { Inventory, inventoryOf };

/**
 * The inventory file lists blobs known to be in the buckets, so they redirect without a HEAD.
 * Three forms are accepted:
 *   - text: one digest per line; blank lines and lines starting with `#` are ignored;
 *   - a JSON list of digests (present in every bucket);
 *   - a JSON object mapping a bucket name to its list of digests, with `"*"` for every bucket.
 * Digests must be what a registry client may ask for (routing/digest.ts).
 */

/** The separator never occurs in bucket names or digests, so keys cannot collide. */
const SEPARATOR = '\u0000';

/** The set entry (and cache key) for a digest present in one named bucket only. */
export function inventoryKey(bucketName: string, digest: string): string {
  return bucketName + SEPARATOR + digest;
}

/** Parses inventory text; `source` names the file in error messages. */
export function parseInventory(raw: string, source: string): Set<string> {
  // Editors on Windows may prepend a byte-order mark, which JSON.parse and the digest check reject.
  const text = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
  const start = text.trimStart();
  if (start.startsWith('[') || start.startsWith('{')) return parseJson(text, source);
  const digests = new Set<string>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!isValidDigest(line)) {
      throw new Error(`inventory ${source} line ${index + 1}: ${describe(line)} ${EXPECTED}`);
    }
    digests.add(line);
  }
  return digests;
}

/** The cheapest a sha256 entry is on disk (text: the digest and a newline): bounds the entries a file holds. */
const SMALLEST_ENTRY_BYTES = 72;

/**
 * Reads an inventory file into compact tables: the bytes are scanned a chunk at a time with no
 * string per digest, and only a file the scanner does not take (an error, or a valid but unusual spelling) is
 * parsed as text, which says what is wrong or yields the same digests.
 */
export async function loadInventory(path: string): Promise<Inventory> {
  const cannotRead = (err: unknown): Error => new Error(`inventory ${path}: cannot read: ${(err as Error).message}`, { cause: err });
  const size = await stat(path).then((info) => info.size, (err: unknown) => Promise.reject(cannotRead(err)));
  const fast = new Inventory(Math.floor(size / SMALLEST_ENTRY_BYTES));
  if (await scanInventoryFile(path, fast).catch((err: unknown) => Promise.reject(cannotRead(err)))) return fast;
  const text = await readFile(path, 'utf8').catch((err: unknown) => Promise.reject(cannotRead(err)));
  return inventoryOf(parseInventory(text, path));
}

const EXPECTED = `is not a digest (expected ${DIGEST_FORM})`;

function parseJson(text: string, source: string): Set<string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`inventory ${source}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  const digests = new Set<string>();
  if (Array.isArray(value)) {
    addList(digests, value, source, '', undefined);
    return digests;
  }
  for (const [bucket, list] of Object.entries(value as Record<string, unknown>)) {
    if (!Array.isArray(list)) {
      throw new Error(`inventory ${source}: "${bucket}" must map to a list of digests`);
    }
    addList(digests, list, source, `"${bucket}" `, bucket === '*' ? undefined : bucket);
  }
  return digests;
}

function addList(
  into: Set<string>,
  list: unknown[],
  source: string,
  where: string,
  bucket: string | undefined,
): void {
  for (let index = 0; index < list.length; index++) {
    const item = list[index];
    if (typeof item !== 'string' || !isValidDigest(item)) {
      throw new Error(`inventory ${source}: ${where}entry ${index}: ${describe(item)} ${EXPECTED}`);
    }
    into.add(bucket === undefined ? item : inventoryKey(bucket, item));
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
