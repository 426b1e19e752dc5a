import { write as writeFd, writeSync } from 'node:fs';

/** What the sink needs to know about where it writes. */
export interface LineSinkOptions {
  fd: number;
  /**
   * Largest write, in characters, always cut after a newline. Writes to a pipe of at most
   * PIPE_BUF (4096) bytes are atomic, so processes that share one stdout (--workers) must stay
   * under it; a single process may write more per system call.
   */
  chunkChars: number;
  /** Lines buffered beyond this while a write is outstanding are dropped (and counted), not queued without bound. */
  maxPendingChars: number;
  /** How long a line may wait for a full chunk before it is written anyway. */
  flushIntervalMs: number;
}

/**
 * Newline-delimited log lines to a file descriptor, batched and written off the request path.
 *
 * A request appends its line to one pending string (V8 keeps the concatenation as a rope, so
 * an append costs no copy); a chunk is written when it is full or when the interval passes,
 * with one asynchronous write outstanding at a time, so lines keep their order. When the
 * reader stalls (a log collector that stopped reading a pipe), lines past `maxPendingChars` are
 * dropped and counted: a front door keeps answering rather than filling its memory with logs.
 * (pino's default destination, sonic-boom, measured the byte length of its whole pending buffer
 * on every line, which made one request line cost about 8 µs under load.)
 */
export class LineSink {
  private pending = '';
  private writing = false;
  private dropped = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LineSinkOptions) {
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** Lines dropped since start because the destination did not keep up. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Appends one line (with its newline). pino calls this for its own lines, so both kinds keep one order. */
  write(line: string): boolean {
    if (this.pending.length + line.length > this.options.maxPendingChars) {
      this.dropped++;
      return false;
    }
    this.pending += line;
    if (!this.writing && this.pending.length >= this.options.chunkChars) this.writeNext();
    return true;
  }

  /** Starts writing whatever is pending; pino's `logger.flush()` lands here. */
  flush(callback?: (error?: Error) => void): void {
    if (!this.writing && this.pending.length > 0) this.writeNext();
    callback?.();
  }

  /** Writes everything pending before the process exits; a write still outstanding may land after it. */
  flushSync(): void {
    while (this.pending.length > 0) {
      const chunk = this.takeChunk();
      try {
        writeAllSync(this.options.fd, chunk);
      } catch {
        // A closed or broken destination at exit: the lines cannot go anywhere.
        this.pending = '';
      }
    }
  }

  /** Stops the interval; lines still pending are written by `flushSync`. */
  close(): void {
    clearInterval(this.timer);
    this.flushSync();
  }

  private takeChunk(): string {
    const limit = this.options.chunkChars;
    if (this.pending.length <= limit) {
      const all = this.pending;
      this.pending = '';
      return all;
    }
    const cut = this.pending.lastIndexOf('\n', limit - 1);
    // A single line longer than a chunk goes out whole: cutting it would interleave its halves.
    const end = cut === -1 ? this.pending.indexOf('\n') + 1 || this.pending.length : cut + 1;
    const chunk = this.pending.slice(0, end);
    this.pending = this.pending.slice(end);
    return chunk;
  }

  private writeNext(): void {
    this.writing = true;
    this.writeBuffer(Buffer.from(this.takeChunk(), 'utf8'));
  }

  private writeBuffer(buffer: Buffer): void {
    writeFd(this.options.fd, buffer, 0, buffer.length, null, (error, written) => {
      if (error !== null) {
        const code = (error as NodeJS.ErrnoException).code;
        // A non-blocking descriptor that is full: try the same bytes again shortly.
        if (code === 'EAGAIN') {
          setTimeout(() => this.writeBuffer(buffer), 10).unref();
          return;
        }
        // The destination is gone (EPIPE, EBADF): count the chunk's lines as dropped and go on.
        this.dropped += countLines(buffer);
      } else if (written < buffer.length) {
        this.writeBuffer(buffer.subarray(written));
        return;
      }
      this.writing = false;
      if (this.pending.length >= this.options.chunkChars) this.writeNext();
    });
  }
}

function writeAllSync(fd: number, chunk: string): void {
  let buffer = Buffer.from(chunk, 'utf8');
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
