/**
 * A new file that is on the disk when it finishes: fsynced before it closes, and sent to the
 * disk while it is still being written. Left to itself the kernel writes nothing back until
 * the fsync (a gigabyte fits under the dirty-page limits), so every blob's bytes waited in the
 * page cache while the disk sat idle, and then each fsync held one of libuv's four threads for
 * the whole blob, stopping the writes of every other blob behind it (issue 14's bench). A data
 * sync every FLUSH_STEP bytes keeps the disk busy from the first megabytes and leaves the
 * final fsync little to do; only a few run at once, so the other threads keep writing.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export const FLUSH_STEP = 8 * 1024 * 1024;
/** Data syncs in flight across every file of the process (libuv runs four file operations at once). */
export const FLUSHES_AT_ONCE = 2;

let flushing = 0;

async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<number> {
  let total = 0;
  for (const buffer of buffers) total += buffer.length;
  let { bytesWritten } = await handle.writev(buffers);
  // A short write (a full disk, a signal) leaves the rest to write from where it stopped.
  for (let at = bytesWritten; at < total; at += bytesWritten) {
    const rest = Buffer.concat(buffers).subarray(at);
    ({ bytesWritten } = await handle.write(rest, 0, rest.length));
    if (bytesWritten === 0) throw new Error('the disk took no bytes');
  }
  return total;
}

export class DurableFile extends Writable {
  private handle: FileHandle | undefined;
  private written = 0;
  private flushedTo = 0;
  private flush: Promise<void> | undefined;
  private flushError: Error | undefined;

  /** Creates `path` (it must not exist) with `mode`. */
  constructor(private readonly path: string, private readonly mode: number) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _construct(done: (error?: Error | null) => void): void {
    open(this.path, 'wx', this.mode).then((handle) => {
      this.handle = handle;
      done();
    }, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    const handle = this.handle as FileHandle;
    writeAll(handle, chunks.map(({ chunk }) => chunk)).then((count) => {
      this.written += count;
      this.startFlush(handle);
      done();
    }, done);
  }

  private startFlush(handle: FileHandle): void {
    if (this.flush !== undefined || flushing >= FLUSHES_AT_ONCE || this.written - this.flushedTo < FLUSH_STEP) return;
    const upTo = this.written;
    flushing++;
    this.flush = handle.datasync().then(() => {
      this.flushedTo = upTo;
    }, (error: unknown) => {
      this.flushError ??= error as Error;
    }).finally(() => {
      flushing--;
      this.flush = undefined;
    });
  }

  override _final(done: (error?: Error | null) => void): void {
    const handle = this.handle as FileHandle;
    (async () => {
      await this.flush;
      if (this.flushError !== undefined) throw this.flushError;
      await handle.sync();
    })().then(() => done(), done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) done(error);
    // A data sync still running must finish before its descriptor goes.
    else Promise.resolve(this.flush).then(() => handle.close()).then(() => done(error), (closing: unknown) => done(error ?? (closing as Error)));
  }
}
