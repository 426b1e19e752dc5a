import { write as writeFd, writeSync } from 'node:fs';

/** What the sink needs to know about where it writes. */
export interface LineSinkOptions {
  fd: number;
  /**
   * Largest write, in bytes, always cut after a newline. Writes to a pipe of at most PIPE_BUF
   * (4096) bytes are atomic, so processes that share one stdout (--workers) must stay under it;
   * a single process may write more per system call.
   */
  chunkBytes: number;
  /** Bytes waiting beyond this while a write is outstanding drop new lines (counted), not queued without bound. */
  maxPendingBytes: number;
  /** How long a line may wait for a full chunk before it is written anyway. */
  flushIntervalMs: number;
}

/** A UTF-16 code unit never takes more than three bytes of UTF-8. */
const MAX_BYTES_PER_CHAR = 3;
/** Chunk buffers kept for reuse once written: one filling, one in flight, one spare. */
const SPARE_BUFFERS = 2;

/**
 * Newline-delimited log lines to a file descriptor, batched and written off the request path.
 *
 * A request's line is encoded at once into the chunk being filled, a buffer outside the V8
 * heap, so the line's string dies young. (Lines kept as pending strings until their chunk was
 * written outlived young-generation collections under load: V8 then promoted them and grew its
 * young generation, about 16 MB of peak RSS at `info`.) A full chunk is written with one
 * asynchronous write outstanding at a time, so lines keep their order; a partial one when the
 * interval passes. When the reader stalls (a log collector that stopped reading a pipe), lines
 * past `maxPendingBytes` are dropped and counted: a front door keeps answering rather than
 * filling its memory with logs.
 */
export class LineSink {
  private current: Buffer;
  private used = 0;
  /** Sealed chunks waiting for the write in flight, oldest first. */
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private readonly spare: Buffer[] = [];
  /** The buffers this sink allocated as chunks: only those are filled again after their write. */
  private readonly chunkBuffers = new WeakSet<ArrayBufferLike>();
  private writing = false;
  private dropped = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LineSinkOptions) {
    this.current = this.newChunk();
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** Lines dropped since start because the destination did not keep up. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Appends one line (with its newline). pino calls this for its own lines, so both kinds keep one order. */
  write(line: string): boolean {
    const room = this.current.length - this.used;
    // Most lines are ASCII and far from the chunk's end: no byte count is needed for them.
    const bytes = line.length * MAX_BYTES_PER_CHAR <= room ? line.length : Buffer.byteLength(line, 'utf8');
    if (this.queuedBytes + this.used + bytes > this.options.maxPendingBytes) {
      this.dropped++;
      return false;
    }
    if (bytes > room) {
      this.seal();
      // A single line longer than a chunk goes out whole: cutting it would interleave its halves.
      if (bytes > this.current.length) this.enqueue(Buffer.from(line, 'utf8'));
    }
    if (bytes <= this.current.length) this.used += this.current.write(line, this.used, 'utf8');
    if (this.queue.length > 0) this.writeNext();
    return true;
  }

  /** Starts writing whatever is pending; pino's `logger.flush()` lands here. */
  flush(callback?: (error?: Error) => void): void {
    if (!this.writing) {
      this.seal();
      this.writeNext();
    }
    callback?.();
  }

  /** Writes everything pending before the process exits; a write still outstanding may land after it. */
  flushSync(): void {
    this.seal();
    for (let chunk = this.queue.shift(); chunk !== undefined; chunk = this.queue.shift()) {
      this.queuedBytes -= chunk.length;
      try {
        writeAllSync(this.options.fd, chunk);
      } catch {
        // A closed or broken destination at exit: the lines cannot go anywhere.
        this.queue.length = 0;
        this.queuedBytes = 0;
      }
    }
  }

  /** Stops the interval; lines still pending are written by `flushSync`. */
  close(): void {
    clearInterval(this.timer);
    this.flushSync();
  }

  /** Moves the filled part of the current chunk to the queue and starts a fresh chunk. */
  private seal(): void {
    if (this.used === 0) return;
    this.enqueue(this.current.subarray(0, this.used));
    this.current = this.spare.pop() ?? this.newChunk();
    this.used = 0;
  }

  private newChunk(): Buffer {
    const chunk = Buffer.allocUnsafeSlow(this.options.chunkBytes);
    this.chunkBuffers.add(chunk.buffer);
    return chunk;
  }

  private enqueue(chunk: Buffer): void {
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  private writeNext(): void {
    if (this.writing) return;
    const chunk = this.queue.shift();
    if (chunk === undefined) return;
    this.queuedBytes -= chunk.length;
    this.writing = true;
    this.writeBuffer(chunk);
  }

  private writeBuffer(chunk: Buffer): void {
    writeFd(this.options.fd, chunk, 0, chunk.length, null, (error, written) => {
      if (error !== null) {
        const code = (error as NodeJS.ErrnoException).code;
        // A non-blocking descriptor that is full: try the same bytes again shortly.
        if (code === 'EAGAIN') {
          setTimeout(() => this.writeBuffer(chunk), 10).unref();
          return;
        }
        // The destination is gone (EPIPE, EBADF): count the chunk's lines as dropped and go on.
        this.dropped += countLines(chunk);
      } else if (written < chunk.length) {
        this.writeBuffer(chunk.subarray(written));
        return;
      }
      this.writing = false;
      this.recycle(chunk);
      this.writeNext();
    });
  }

  /** A written chunk's buffer fills again, rather than a new one being allocated per chunk. */
  private recycle(chunk: Buffer): void {
    if (chunk.byteOffset === 0 && this.spare.length < SPARE_BUFFERS && this.chunkBuffers.has(chunk.buffer)) {
      this.spare.push(Buffer.from(chunk.buffer, 0, this.options.chunkBytes));
    }
  }
}

function writeAllSync(fd: number, chunk: Buffer): void {
  let buffer = chunk;
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(fd, buffer));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

function countLines(buffer: Buffer): number {
  let lines = 0;
  for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1)) lines++;
  return lines;
}
