/**
 * The check between the origin and every store: hashes the bytes as they pass and holds back
 * the latest chunk until the next one arrives. The last chunk is released only once the
 * whole body has the digest and size it should, so a store never receives a complete wrong
 * body: an upload that has not seen its last byte cannot be finalised at its key.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { BATCH_BYTES, streamHash, type HashProgress, type StreamHash } from './stream-hash.js';

export class DigestMismatchError extends Error {
  override name = 'DigestMismatchError';
}

/** Two batches' worth not hashed yet at most: one being hashed, one filling. */
const MAX_BACKLOG = 2 * BATCH_BYTES;

export class DigestGuard extends Transform {
  private readonly hash: StreamHash;
  private readonly expectedHex: string;
  private held: Buffer | undefined;
  private received = 0;
  /** The origin's next chunk, withheld while the hash or the reader is behind. */
  private paused: TransformCallback | undefined;

  /** `onBytes` sees every chunk as it arrives (for progress), before it is released. */
  constructor(
    private readonly digest: string,
    private readonly size: number,
    private readonly onBytes?: (bytes: number) => void,
    hash?: (progressed: HashProgress) => StreamHash,
  ) {
    // The default buffers: larger ones keep more socket chunks alive per blob, and chunks that
    // live through two scavenges are freed only by full collections (issue 14's bench).
    super();
    const [algorithm = '', hex = ''] = digest.split(':');
    const progressed = (): void => this.continueReading();
    this.hash = hash === undefined ? streamHash(algorithm, size, progressed) : hash(progressed);
    this.expectedHex = hex;
  }

  /** A chunk whose bytes are in the hash (or on their way there): the one before it may go on. */
  private release(chunk: Buffer): void {
    const previous = this.held;
    this.held = chunk;
    if (previous !== undefined) this.push(previous);
  }

  /** `asked`: the reader wants more (it calls before taking what is buffered, so that does not count). */
  private behind(asked: boolean): boolean {
    return this.hash.backlog >= MAX_BACKLOG || (!asked && this.readableLength >= this.readableHighWaterMark);
  }

  private continueReading(asked = false): void {
    if (this.paused === undefined || this.behind(asked)) return;
    const next = this.paused;
    this.paused = undefined;
    next();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.size) {
      done(new DigestMismatchError(`${this.digest}: the origin sent more than the ${this.size} bytes its descriptor names`));
      return;
    }
    this.onBytes?.(chunk.length);
    this.hash.update(chunk);
    this.release(chunk);
    if (this.behind(false)) this.paused = done;
    else done();
  }

  override _read(size: number): void {
    // First: resuming may leave Transform's own callback waiting for this very call.
    this.continueReading(true);
    super._read(size);
  }

  override _flush(done: TransformCallback): void {
    if (this.received !== this.size) {
      done(new DigestMismatchError(`${this.digest}: the origin sent ${this.received} bytes, the descriptor names ${this.size}`));
      return;
    }
    this.hash.digest().then((actual) => {
      if (actual !== this.expectedHex) done(new DigestMismatchError(`${this.digest}: the origin's bytes hash to ${this.digest.split(':')[0]}:${actual}`));
      else done(null, this.held);
    }, done);
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    // A body cut short owes the hashing thread nothing more; a finished one was forgotten already.
    this.hash.drop();
    done(error);
  }
}
