import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { releaseMemoryNow, releaseRetiredMemory } from '../../src/ops/memory-release.js';

const MB = 1024 * 1024;

/** About 20 MB of small objects that nothing holds once the caller drops the array. */
function garbage(): unknown[] {
  return Array.from({ length: 300_000 }, (_, i) => ({ i, text: `entry ${i}` }));
}

const heapUsed = (): number => process.memoryUsage().heapUsed;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('giving a retired generation memory back', () => {
  it('collects without --expose-gc, and leaves no gc() to the process or to contexts made later', () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    let dropped: unknown[] | undefined = garbage();
    const full = heapUsed();
    dropped = undefined;
    const paused = releaseMemoryNow();
    expect(dropped).toBeUndefined();
    expect(paused).toBeGreaterThanOrEqual(0);
    expect(heapUsed()).toBeLessThan(full - 10 * MB);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });

  it('runs on the next turn of the event loop, not inside the call that retired a generation', async () => {
    let dropped: unknown[] | undefined = garbage();
    const full = heapUsed();
    dropped = undefined;
    for (let i = 0; i < 5; i++) releaseRetiredMemory();
    expect(dropped).toBeUndefined();
    expect(heapUsed()).toBeGreaterThanOrEqual(full);
    await nextTurn();
    await nextTurn();
    expect(heapUsed()).toBeLessThan(full - 10 * MB);
  });
});
