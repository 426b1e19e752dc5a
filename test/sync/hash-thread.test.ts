/**
 * Digests of large blobs on the hashing thread: the guard's bytes, order, hold-back and
 * backpressure are those of the inline hash; a lost hashing side fails the blob, never hangs it.
 */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { serveHashes, type FromHasher, type HasherLink, type ToHasher } from '../../src/sync/hash-thread.js';
import { DigestGuard, DigestMismatchError } from '../../src/sync/guard.js';
import { BATCH_BYTES, OFF_THREAD_MIN_BYTES, OffThreadHasher, streamHash } from '../../src/sync/stream-hash.js';
import { pseudoRandomBytes } from '../support/e2e/oci.js';

const CHUNK = 65_536;

/** Socket-like chunks: each in its own memory, except every fifth, a slice of a larger buffer. */
function chunksOf(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, index = 0; at < bytes.length; at += CHUNK, index++) {
    const piece = bytes.subarray(at, at + CHUNK);
    if (index % 5 === 4) chunks.push(Buffer.concat([Buffer.alloc(7), piece]).subarray(7));
    else {
      const own = Buffer.allocUnsafeSlow(piece.length);
      piece.copy(own);
      chunks.push(own);
    }
  }
  return chunks;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Streams `chunks` through a guard into a reader that takes `delayMs` per chunk; what it got. */
async function throughGuard(chunks: Buffer[], digest: string, size: number, delayMs = 0, guard = new DigestGuard(digest, size)): Promise<Buffer> {
  const received: Buffer[] = [];
  const reader = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received.push(Buffer.from(chunk));
      setTimeout(done, delayMs);
    },
  });
  await pipeline(Readable.from(chunks), guard, reader);
  return Buffer.concat(received);
}

/** The hashing side served on a real message channel in this thread, and a way to lose it. */
function channelLink(): { link: HasherLink; lose(): void; seen: ToHasher[] } {
  const { port1, port2 } = new MessageChannel();
  const seen: ToHasher[] = [];
  port2.on('message', (message: ToHasher) => seen.push(message));
  serveHashes(port2 as MessagePort & { on(event: 'message', listener: (message: ToHasher) => void): unknown }, (algorithm) => createHash(algorithm));
  const link: HasherLink = {
    post: (message, transfer) => port1.postMessage(message, transfer),
    listen: (answer, failed) => {
      port1.on('message', (message: FromHasher) => answer(message));
      port1.once('close', () => failed(new Error('the hashing side is gone')));
    },
    hold: (held) => (held ? port1.ref() : port1.unref()),
  };
  return { link, lose: () => port2.close(), seen };
}

describe('hashing thread', () => {
  it('a large blob through the guard: every byte, in order, at a reader slower than the origin', async () => {
    const bytes = pseudoRandomBytes('large', 5 * BATCH_BYTES + 12_345);
    const got = await throughGuard(chunksOf(bytes), sha256(bytes), bytes.length, 1);
    expect(got.equals(bytes)).toBe(true);
  });

  it('a flipped byte is a DigestMismatchError and the reader never gets the last chunk', async () => {
    const bytes = pseudoRandomBytes('flipped', 3 * BATCH_BYTES);
    const digest = sha256(bytes);
    const flipped = Buffer.from(bytes);
    flipped[100] = (flipped[100] as number) ^ 1;
    const received: Buffer[] = [];
    const reader = new Writable({
      write(chunk: Buffer, _encoding, done) {
        received.push(Buffer.from(chunk));
        done();
      },
    });
    await expect(pipeline(Readable.from(chunksOf(flipped)), new DigestGuard(digest, bytes.length), reader)).rejects.toThrow(DigestMismatchError);
    expect(Buffer.concat(received).length).toBeLessThanOrEqual(bytes.length - CHUNK);
  });

  it('hashes a copy of what it is given, in full batches, and still answers the batch of a dropped blob', async () => {
    const { link, seen } = channelLink();
    const hasher = new OffThreadHasher(link);
    const bytes = pseudoRandomBytes('channel', 3 * BATCH_BYTES + 1);
    let progressed = 0;
    const hash = hasher.start('sha256', () => progressed++);
    const chunks = chunksOf(bytes);
    for (const chunk of chunks) hash.update(chunk);
    // The chunks stay the caller's: overwriting them now changes nothing hashed.
    for (const chunk of chunks) chunk.fill(0);
    expect(hash.backlog).toBe(bytes.length);
    expect(`sha256:${await hash.digest()}`).toBe(sha256(bytes));
    expect(progressed).toBe(4);
    expect(hash.backlog).toBe(0);
    expect(hasher.inFlight).toBe(0);
    const lent = seen.filter((message) => message.kind === 'data').map((message) => message.length);

    const dropped = hasher.start('sha256', () => undefined);
    for (const chunk of chunksOf(bytes.subarray(0, BATCH_BYTES + 5))) dropped.update(chunk);
    dropped.drop();
    dropped.drop();
    expect(hasher.inFlight).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.at(-1)).toEqual({ kind: 'drop', id: 2 });
    // Its one full batch was lent before the drop; the partial one never left.
    expect(seen.filter((message) => message.kind === 'data')).toHaveLength(lent.length + 1);
    expect(lent).toEqual([BATCH_BYTES, BATCH_BYTES, BATCH_BYTES, 1]);
  });

  it('an algorithm the hashing side lacks fails the digest with its reason', async () => {
    const { link } = channelLink();
    const hash = new OffThreadHasher(link).start('no-such-hash', () => undefined);
    await expect(hash.digest()).rejects.toThrow(/hashing: .*no-such-hash|hashing: Error/);
  });

  it('a hashing side that goes away fails the blobs waiting on it', async () => {
    const { link, lose } = channelLink();
    const hasher = new OffThreadHasher(link);
    const hash = hasher.start('sha256', () => undefined);
    hash.update(Buffer.alloc(10));
    const digest = hash.digest();
    lose();
    await expect(digest).rejects.toThrow('the hashing side is gone');
    expect(hasher.inFlight).toBe(0);
  });

  it('small blobs are hashed inline, and an unknown algorithm fails before any byte moves', async () => {
    const hashed: Buffer[] = [];
    const small = streamHash('sha256', OFF_THREAD_MIN_BYTES - 1, () => hashed.push(Buffer.from('progress')), () => {
      throw new Error('no thread for a small blob');
    });
    small.update(Buffer.from('abc'));
    expect(small.backlog).toBe(0);
    expect(hashed).toEqual([]);
    await expect(small.digest()).resolves.toBe(createHash('sha256').update('abc').digest('hex'));
    small.drop();
    expect(() => streamHash('no-such-hash', OFF_THREAD_MIN_BYTES, () => undefined)).toThrow();
  });
});
