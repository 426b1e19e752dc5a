/** Reading what a client wrote to an OCI layout after a pull. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface LayoutIndex {
  manifests?: Array<{ digest?: string; annotations?: Record<string, string> }>;
}

/** The digest the layout's index.json records for `tag`, or undefined. */
export async function pulledDigest(layoutDir: string, tag: string): Promise<string | undefined> {
  const text = await readFile(join(layoutDir, 'index.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const index = JSON.parse(text) as LayoutIndex;
  return index.manifests?.find((entry) => entry.annotations?.['org.opencontainers.image.ref.name'] === tag)?.digest;
}

/** The sha256 of the blob file the layout holds for `digest`, or undefined if it is absent. */
export async function storedBlobDigest(layoutDir: string, digest: string): Promise<string | undefined> {
  const bytes = await readFile(join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length))).catch(() => undefined);
  return bytes === undefined ? undefined : `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
