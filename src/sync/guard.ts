/**
 * The check between the origin and every store: hashes the bytes as they pass and holds back
 * the latest chunk until the next one arrives. The last chunk is released only once the
 * whole body has the digest and size it should, so a store never receives a complete wrong
 * body: an upload that has not seen its last byte cannot be finalised at its key.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export class DigestMismatchError extends Error {
  override name = 'DigestMismatchError';
}

export class DigestGuard extends Transform {
  private readonly hash: Hash;
  private readonly expectedHex: string;
  private held: Buffer | undefined;
  private received = 0;

  /** `onBytes` sees every chunk as it arrives (for progress), before it is released. */
  constructor(
    private readonly digest: string,
    private readonly size: number,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    // The default buffers: larger ones keep more socket chunks alive per blob, and chunks that
    // live through two scavenges are freed only by full collections (issue 14's bench).
    super();
    const [algorithm = '', hex = ''] = digest.split(':');
    this.hash = createHash(algorithm);
    this.expectedHex = hex;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.size) {
      done(new DigestMismatchError(`${this.digest}: the origin sent more than the ${this.size} bytes its descriptor names`));
      return;
    }
    this.hash.update(chunk);
    this.onBytes?.(chunk.length);
    const previous = this.held;
    this.held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    if (this.received !== this.size) {
      done(new DigestMismatchError(`${this.digest}: the origin sent ${this.received} bytes, the descriptor names ${this.size}`));
      return;
    }
    const actual = this.hash.digest('hex');
    if (actual !== this.expectedHex) {
      done(new DigestMismatchError(`${this.digest}: the origin's bytes hash to ${this.digest.split(':')[0]}:${actual}`));
      return;
    }
    done(null, this.held);
  }
}
