/**
 * The hash a digest guard keeps while a body streams past: inline for small blobs (a message
 * round trip costs more than hashing a few hundred kilobytes), on the hashing thread for large
 * ones (hash-thread.ts). Either way each chunk comes back through `hashed`, in order, once its
 * bytes are in the hash: the thread borrows a chunk's memory until then.
 */
import { createHash } from 'node:crypto';
import { workerLink, type FromHasher, type HasherLink } from './hash-thread.js';

export interface StreamHash {
  /** Hands the chunk over; it comes back through `hashed` (it may be unusable until then). */
  update(chunk: Buffer): void;
  /** Bytes handed over and not yet back: the caller stops reading while there are too many. */
  readonly backlog: number;
  /** Lowercase hex of every chunk handed over, once all of them are back. */
  digest(): Promise<string>;
  /** Abandons the hash (the body failed); nothing is owed afterwards. */
  drop(): void;
}

export type HashedChunk = (chunk: Buffer) => void;

/** Blobs below this are hashed where they stream. */
export const OFF_THREAD_MIN_BYTES = 1024 * 1024;
/** Chunks travel in batches: a message per socket read would cost more than the hash saves. */
export const BATCH_BYTES = 1024 * 1024;

function inlineHash(algorithm: string, hashed: HashedChunk): StreamHash {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => {
      hash.update(chunk);
      hashed(chunk);
    },
    backlog: 0,
    digest: () => Promise.resolve(hash.digest('hex')),
    drop: () => undefined,
  };
}

/** The chunk's own memory when it has it whole; else a copy (a slice of a larger buffer). */
function ownMemory(chunk: Buffer): ArrayBuffer {
  const memory = chunk.buffer;
  if (memory instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === memory.byteLength) return memory;
  const copy = Buffer.allocUnsafeSlow(chunk.length);
  chunk.copy(copy);
  return copy.buffer as ArrayBuffer;
}

/** One blob's chunks, lent to the hashing thread a batch at a time. */
class LentHash implements StreamHash {
  private batch: ArrayBuffer[] = [];
  private batchBytes = 0;
  backlog = 0;
  private result: { resolve(hex: string): void; reject(error: Error): void } | undefined;

  constructor(private readonly hasher: OffThreadHasher, readonly id: number, algorithm: string, private readonly hashed: HashedChunk) {
    hasher.link.post({ kind: 'open', id, algorithm });
  }

  update(chunk: Buffer): void {
    const memory = ownMemory(chunk);
    this.batch.push(memory);
    this.batchBytes += memory.byteLength;
    this.backlog += memory.byteLength;
    if (this.batchBytes >= BATCH_BYTES) this.lend();
  }

  private lend(): void {
    if (this.batch.length === 0) return;
    this.hasher.link.post({ kind: 'data', id: this.id, chunks: this.batch }, this.batch);
    this.batch = [];
    this.batchBytes = 0;
  }

  digest(): Promise<string> {
    this.lend();
    this.hasher.link.post({ kind: 'finish', id: this.id });
    return new Promise((resolve, reject) => {
      this.result = { resolve, reject };
    });
  }

  drop(): void {
    if (this.hasher.forget(this)) this.hasher.link.post({ kind: 'drop', id: this.id });
  }

  receive(message: FromHasher): void {
    if ('chunks' in message) {
      for (const memory of message.chunks) {
        this.backlog -= memory.byteLength;
        this.hashed(Buffer.from(memory));
      }
      return;
    }
    this.hasher.forget(this);
    if ('hex' in message) this.result?.resolve(message.hex);
    else this.fail(new Error(`hashing: ${message.error}`));
  }

  fail(error: Error): void {
    this.result?.reject(error);
    this.result = undefined;
  }
}

/** The blobs being hashed on the other side of one link. */
export class OffThreadHasher {
  private nextId = 1;
  private readonly open = new Map<number, LentHash>();

  constructor(readonly link: HasherLink) {
    link.listen((message) => this.open.get(message.id)?.receive(message), (error) => {
      const failed = [...this.open.values()];
      this.open.clear();
      this.link.hold(false);
      for (const hash of failed) hash.fail(error);
    });
  }

  start(algorithm: string, hashed: HashedChunk): StreamHash {
    const hash = new LentHash(this, this.nextId++, algorithm, hashed);
    this.open.set(hash.id, hash);
    if (this.open.size === 1) this.link.hold(true);
    return hash;
  }

  /** True when the hash was still open. */
  forget(hash: LentHash): boolean {
    const was = this.open.delete(hash.id);
    if (was && this.open.size === 0) this.link.hold(false);
    return was;
  }

  get inFlight(): number {
    return this.open.size;
  }
}

let shared: OffThreadHasher | undefined;

/** The process's hashing thread, started when the first large blob streams. */
function sharedHasher(): OffThreadHasher {
  shared ??= new OffThreadHasher(workerLink());
  return shared;
}

/** The hash for a blob of `size` bytes under `algorithm` (`sha256`, `sha512`, ...). */
export function streamHash(algorithm: string, size: number, hashed: HashedChunk, hasher: () => OffThreadHasher = sharedHasher): StreamHash {
  // Built first in any case: an unknown algorithm fails here, before a byte is lent anywhere.
  const inline = inlineHash(algorithm, hashed);
  return size >= OFF_THREAD_MIN_BYTES ? hasher().start(algorithm, hashed) : inline;
}
