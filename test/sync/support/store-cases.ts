/**
 * The contract every store must keep, run against each one: a guarded body lands whole at
 * its key, a body that fails its digest leaves nothing there, and list, stat and read agree.
 */
import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { expect } from 'vitest';
import { pseudoRandomBytes } from '../../support/e2e/oci.js';
import { DigestGuard } from '../../../src/sync/guard.js';
import type { BlobStore } from '../../../src/sync/stores/types.js';

export function blob(seed: string, size: number): { digest: string; bytes: Buffer; size: number } {
  const bytes = pseudoRandomBytes(seed, size);
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes, size };
}

/** The bytes in 64 KiB pieces through the guard, as the copier feeds a store. */
export function guarded(bytes: Buffer, digest: string, size = bytes.length): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 65_536) pieces.push(bytes.subarray(at, at + 65_536));
  const guard = new DigestGuard(digest, size);
  pipeline(Readable.from(pieces), guard, () => undefined);
  return guard;
}

export const KEY = (digest: string): string => `containers/images/${digest}`;

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Puts `good` (right bytes) and `bad` (one byte flipped), then checks what each left behind. */
/**
 * `serverKeepsAbortedBodies`: the server under test stores what an aborted request sent (s3rver
 * does; S3 does not), so only the client side of the contract can be checked there.
 */
export async function checkStoreContract(
  store: BlobStore,
  good: ReturnType<typeof blob>,
  badSource: ReturnType<typeof blob>,
  serverKeepsAbortedBodies = false,
): Promise<void> {
  await store.put(KEY(good.digest), guarded(good.bytes, good.digest), good);
  const flipped = Buffer.from(badSource.bytes);
  flipped[flipped.length - 10] = (flipped[flipped.length - 10] ?? 0) ^ 0xff;
  await expect(store.put(KEY(badSource.digest), guarded(flipped, badSource.digest), badSource)).rejects.toThrow();
  expect(await store.stat(KEY(good.digest))).toBe(good.size);
  if (!serverKeepsAbortedBodies) expect(await store.stat(KEY(badSource.digest))).toBeUndefined();
  const listing = await store.list('containers/images/');
  expect(listing?.get(KEY(good.digest))).toBe(good.size);
  if (!serverKeepsAbortedBodies) expect(listing?.has(KEY(badSource.digest))).toBe(false);
  expect((await bytesOf(await store.read(KEY(good.digest)))).equals(good.bytes)).toBe(true);
}
