/**
 * What each bucket needs: the walked blobs against what its store holds. Pure, so that
 * "copy only what is missing" and "replace what has the wrong size" are tested by tables.
 */
import { DIGEST } from './manifest.js';
import { keyPrefix, objectKey } from './stores/types.js';
import type { PlannedBlob } from './walk.js';

export interface BucketPlan {
  bucket: string;
  /** Blobs to copy: absent from the store, or present with the wrong size (`replace`). */
  copy: Array<PlannedBlob & { replace: boolean }>;
  /** Walked blobs the store already holds with the right size. */
  present: PlannedBlob[];
  /** Every digest the store holds under the key prefix (walked or not), with its size. */
  held: Map<string, number>;
}

/** The digest an object key names under the template, or undefined for any other object. */
export function digestOfKey(template: string, key: string): string | undefined {
  const [before = '', after = ''] = template.replace(/^\/+/, '').split('{digest}');
  if (!key.startsWith(before) || !key.endsWith(after)) return undefined;
  const digest = key.slice(before.length, key.length - after.length);
  return DIGEST.test(digest) ? digest : undefined;
}

/** Digest → size of what a store listing holds under the template. */
export function heldDigests(template: string, listing: ReadonlyMap<string, number>): Map<string, number> {
  const held = new Map<string, number>();
  for (const [key, size] of listing) {
    const digest = digestOfKey(template, key);
    if (digest !== undefined) held.set(digest, size);
  }
  return held;
}

export function planBucket(bucket: string, blobs: Iterable<PlannedBlob>, held: Map<string, number>): BucketPlan {
  const plan: BucketPlan = { bucket, copy: [], present: [], held };
  for (const blob of blobs) {
    const size = held.get(blob.digest);
    if (size === blob.size) plan.present.push(blob);
    else plan.copy.push({ ...blob, replace: size !== undefined });
  }
  return plan;
}

export function planBytes(plan: BucketPlan): number {
  let bytes = 0;
  for (const blob of plan.copy) bytes += blob.size;
  return bytes;
}

export { keyPrefix, objectKey };
