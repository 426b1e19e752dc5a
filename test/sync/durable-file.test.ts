/**
 * The dir store's file writer: the bytes a reader finds are the bytes streamed in, whatever
 * the chunking and however many data syncs ran while it was written; an existing file is
 * never overwritten; a failed write closes its descriptor, also when the disk stops taking bytes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableFile, FLUSH_STEP, FLUSHES_AT_ONCE } from '../../src/sync/stores/durable-file.js';
import { pseudoRandomBytes } from '../support/e2e/oci.js';

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'registry-edge-durable-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Chunks of uneven sizes, as a socket hands them over. */
function chunked(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, index = 0; at < bytes.length; index++) {
    const size = [65_536, 1, 300_000, 16_384][index % 4] as number;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

async function openDescriptors(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

describe('durable file', () => {
  it('holds exactly the streamed bytes across several data-sync steps, for more files than syncs run at once', async () => {
    const files = Array.from({ length: FLUSHES_AT_ONCE + 2 }, (_, index) => pseudoRandomBytes(`durable ${index}`, 2 * FLUSH_STEP + 12_345 * index));
    await Promise.all(files.map((bytes, index) => pipeline(Readable.from(chunked(bytes)), new DurableFile(join(folder, `f${index}`), 0o640))));
    for (const [index, bytes] of files.entries()) {
      expect((await readFile(join(folder, `f${index}`))).equals(bytes)).toBe(true);
    }
  });

  it('an empty body makes an empty file', async () => {
    await pipeline(Readable.from([]), new DurableFile(join(folder, 'empty'), 0o644));
    expect((await readFile(join(folder, 'empty'))).length).toBe(0);
  });

  it('never replaces an existing file, and leaves no descriptor open when a write fails', async () => {
    await writeFile(join(folder, 'taken'), 'old bytes');
    const before = await openDescriptors();
    await expect(pipeline(Readable.from([Buffer.from('new bytes')]), new DurableFile(join(folder, 'taken'), 0o644))).rejects.toThrow(/EEXIST/);
    expect(await readFile(join(folder, 'taken'), 'utf8')).toBe('old bytes');

    const failing = new Readable({
      read() {
        this.push(pseudoRandomBytes('part', FLUSH_STEP + 1));
        this.destroy(new Error('origin reset'));
      },
    });
    const cut = new DurableFile(join(folder, 'cut'), 0o644);
    const closed = new Promise((resolve) => cut.once('close', resolve));
    await expect(pipeline(failing, cut)).rejects.toThrow('origin reset');
    await closed;
    expect(await openDescriptors()).toBe(before);
  });

  // The disk filling up mid-blob, made real with the shell's file-size limit (`ulimit -f`, 64 KiB):
  // the writev that crosses the limit stops short there, and the write of its rest fails with
  // EFBIG (a full disk's ENOSPC takes the same path). The child catches SIGXFSZ, whose default ends the process.
  it('a disk that stops taking bytes mid-write fails the stream and leaves no descriptor open (built module)', () => {
    const child = spawnSync('bash', ['-c', 'ulimit -f 64 && exec "$0" --input-type=module -e "$1" -- "$2"', process.execPath, FULL_DISK_CHILD, join(folder, 'full')], { encoding: 'utf8', timeout: 30_000 });
    expect(child.status, child.stderr).toBe(0);
    const outcome = JSON.parse(child.stdout) as { error: string; size: number; descriptorsBefore: number; descriptorsAfter: number };
    expect(outcome.error).toBe('EFBIG');
    expect(outcome.size).toBe(64 * 1024);
    expect(outcome.descriptorsAfter).toBe(outcome.descriptorsBefore);
  });
});

const FULL_DISK_CHILD = `
import { readdirSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DurableFile } from ${JSON.stringify(new URL('../../dist/src/sync/stores/durable-file.js', import.meta.url).href)};
process.on('SIGXFSZ', () => {});
const path = process.argv.at(-1);
const descriptors = () => readdirSync('/proc/self/fd').length;
const descriptorsBefore = descriptors();
const file = new DurableFile(path, 0o644);
const closed = new Promise((resolve) => file.once('close', resolve));
let error = 'none';
// 80,000 bytes against a 65,536-byte limit: the second chunk's writev is cut short.
await pipeline(Readable.from([Buffer.alloc(40_000, 1), Buffer.alloc(40_000, 2)]), file).catch((e) => { error = e.code ?? String(e); });
await closed;
console.log(JSON.stringify({ error, size: statSync(path).size, descriptorsBefore, descriptorsAfter: descriptors() }));
`;
