/**
 * The hash a digest guard keeps while a body streams past: inline for small blobs (a message
 * round trip costs more than hashing a few hundred kilobytes), on the hashing thread for large
 * ones (hash-thread.ts). The chunk handed over stays the caller's: the thread gets a copy,
 * made into a reused batch buffer while the chunk is still in the CPU's cache, so the chunk
 * goes on to the stores at once and is written from warm memory. Lending the chunks
 * themselves made the stores wait for the round trip and then copy 1 GiB of cold memory into
 * the page cache, which cost more than this copy (issue 14's bench, `perf`).
 */
import { createHash } from 'node:crypto';
import { workerLink, type FromHasher, type HasherLink } from './hash-thread.js';

export interface StreamHash {
  /** Adds the chunk's bytes; the chunk may be reused or passed on as soon as this returns. */
  update(chunk: Buffer): void;
  /** Bytes added and not hashed yet: the caller stops reading while there are too many. */
  readonly backlog: number;
  /** Lowercase hex of every byte added, once all of them are hashed. */
  digest(): Promise<string>;
  /** Abandons the hash (the body failed); nothing is owed afterwards. */
  drop(): void;
}

/** Called when the backlog has shrunk, so a paused caller may read again. */
export type HashProgress = () => void;

/** Blobs below this are hashed where they stream. */
export const OFF_THREAD_MIN_BYTES = 1024 * 1024;
/** Bytes travel in batches: a message per socket read would cost more than the hash saves. */
export const BATCH_BYTES = 1024 * 1024;
/** Free batch buffers kept for the next blobs (a few MiB, instead of allocating per batch). */
const POOL_LIMIT = 8;

function inlineHash(algorithm: string): StreamHash {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    backlog: 0,
    digest: () => Promise.resolve(hash.digest('hex')),
    drop: () => undefined,
  };
}

/** One blob's bytes, copied into batches lent to the hashing thread. */
class LentHash implements StreamHash {
  private batch: Buffer | undefined;
  private filled = 0;
  backlog = 0;
  private result: { resolve(hex: string): void; reject(error: Error): void } | undefined;

  constructor(private readonly hasher: OffThreadHasher, readonly id: number, algorithm: string, private readonly progressed: HashProgress) {
    hasher.link.post({ kind: 'open', id, algorithm });
  }

  update(chunk: Buffer): void {
    this.backlog += chunk.length;
    for (let at = 0; at < chunk.length;) {
      const batch = (this.batch ??= this.hasher.borrow());
      const copied = chunk.copy(batch, this.filled, at);
      this.filled += copied;
      at += copied;
      if (this.filled === batch.length) this.lend();
    }
  }

  private lend(): void {
    const batch = this.batch;
    if (batch === undefined || this.filled === 0) return;
    this.hasher.link.post({ kind: 'data', id: this.id, batch: batch.buffer as ArrayBuffer, length: this.filled }, [batch.buffer as ArrayBuffer]);
    this.batch = undefined;
    this.filled = 0;
  }

  digest(): Promise<string> {
    this.lend();
    this.hasher.link.post({ kind: 'finish', id: this.id });
    return new Promise((resolve, reject) => {
      this.result = { resolve, reject };
    });
  }

  drop(): void {
    if (this.batch !== undefined) this.hasher.giveBack(this.batch.buffer as ArrayBuffer);
    this.batch = undefined;
    if (this.hasher.forget(this)) this.hasher.link.post({ kind: 'drop', id: this.id });
  }

  receive(message: FromHasher): void {
    if ('batch' in message) {
      this.backlog -= message.length;
      this.hasher.giveBack(message.batch);
      this.progressed();
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

/** The blobs being hashed on the other side of one link, and the batch buffers they share. */
export class OffThreadHasher {
  private nextId = 1;
  private readonly open = new Map<number, LentHash>();
  private readonly free: ArrayBuffer[] = [];

  constructor(readonly link: HasherLink) {
    link.listen((message) => {
      const hash = this.open.get(message.id);
      if (hash !== undefined) hash.receive(message);
      else if ('batch' in message) this.giveBack(message.batch);
    }, (error) => {
      const failed = [...this.open.values()];
      this.open.clear();
      this.link.hold(false);
      for (const hash of failed) hash.fail(error);
    });
  }

  start(algorithm: string, progressed: HashProgress): StreamHash {
    const hash = new LentHash(this, this.nextId++, algorithm, progressed);
    this.open.set(hash.id, hash);
    if (this.open.size === 1) this.link.hold(true);
    return hash;
  }

  /** A batch buffer to fill: a returned one when there is one. */
  borrow(): Buffer {
    const memory = this.free.pop();
    return memory === undefined ? Buffer.allocUnsafeSlow(BATCH_BYTES) : Buffer.from(memory);
  }

  giveBack(memory: ArrayBuffer): void {
    if (this.free.length < POOL_LIMIT && memory.byteLength === BATCH_BYTES) this.free.push(memory);
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
export function streamHash(algorithm: string, size: number, progressed: HashProgress, hasher: () => OffThreadHasher = sharedHasher): StreamHash {
  // Built first in any case: an unknown algorithm fails here, before a byte is lent anywhere.
  const inline = inlineHash(algorithm);
  return size >= OFF_THREAD_MIN_BYTES ? hasher().start(algorithm, progressed) : inline;
}
