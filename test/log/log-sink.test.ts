import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LineSink, type LineSinkOptions } from '../../src/log-sink.js';

// The stdout log sink, against real files: lines arrive whole, in order, in chunks cut after a
// newline; a stalled or broken destination drops and counts lines instead of growing memory.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fileSink(options: Partial<LineSinkOptions> = {}): { sink: LineSink; read: () => string; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'registry-edge-sink-'));
  dirs.push(dir);
  const path = join(dir, 'out.log');
  const fd = openSync(path, 'w');
  const sink = new LineSink({ fd, chunkBytes: 100, maxPendingBytes: 10_000, flushIntervalMs: 5, ...options });
  return { sink, read: () => readFileSync(path, 'utf8'), close: () => { sink.close(); closeSync(fd); } };
}

const settle = (ms = 60) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LineSink', () => {
  it('writes every line whole and in order, through several chunks and the interval flush', async () => {
    const { sink, read, close } = fileSink({ maxPendingBytes: 100_000 });
    const lines = Array.from({ length: 500 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 37)}"}\n`);
    for (const line of lines) expect(sink.write(line)).toBe(true);
    await settle();
    expect(read()).toBe(lines.join(''));
    expect(sink.droppedLines).toBe(0);
    close();
  });

  it('writes lines of any characters byte for byte, chunks counted in bytes', async () => {
    const { sink, read, close } = fileSink({ chunkBytes: 64, maxPendingBytes: 100_000 });
    const lines = Array.from({ length: 200 }, (_, i) => `{"n":${i},"agent":"${'é☃𝄞'.repeat(i % 7)}"}\n`);
    for (const line of lines) expect(sink.write(line)).toBe(true);
    await settle();
    expect(read()).toBe(lines.join(''));
    close();
  });

  it('keeps a line longer than a chunk in one piece', async () => {
    const { sink, read, close } = fileSink({ chunkBytes: 10 });
    sink.write('short\n');
    sink.write(`${'y'.repeat(50)}\n`);
    sink.write('after\n');
    await settle();
    expect(read().split('\n')).toEqual(['short', 'y'.repeat(50), 'after', '']);
    close();
  });

  it('flushSync writes what is pending before an exit, even below a chunk', () => {
    const { sink, read, close } = fileSink({ chunkBytes: 1_000_000, flushIntervalMs: 60_000 });
    sink.write('{"msg":"last words"}\n');
    expect(read()).toBe('');
    sink.flushSync();
    expect(read()).toBe('{"msg":"last words"}\n');
    close();
  });

  it('drops and counts lines past the pending bound instead of queueing them', () => {
    const { sink, read, close } = fileSink({ chunkBytes: 1_000_000, maxPendingBytes: 30, flushIntervalMs: 60_000 });
    expect(sink.write('0123456789\n')).toBe(true);
    expect(sink.write('0123456789\n')).toBe(true);
    expect(sink.write('0123456789\n')).toBe(false);
    expect(sink.droppedLines).toBe(1);
    close();
    expect(read()).toBe('0123456789\n0123456789\n');
  });

  it('counts the lines of a chunk the destination refused (EBADF: a read-only descriptor) and keeps going', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-edge-sink-'));
    dirs.push(dir);
    closeSync(openSync(join(dir, 'read-only.log'), 'w'));
    const fd = openSync(join(dir, 'read-only.log'), 'r');
    const sink = new LineSink({ fd, chunkBytes: 10, maxPendingBytes: 10_000, flushIntervalMs: 5 });
    sink.write('a\nb\n');
    sink.write('c\n');
    await settle();
    expect(sink.droppedLines).toBe(3);
    sink.close();
    closeSync(fd);
  });
});
