import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { memoryReleases, releaseMemoryNow, releaseRetiredMemory, releaseRetiredMemoryAtNextRequest, requestStarted } from '../../src/ops/memory-release.js';

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

  // A collection that reduces memory drops the shapes of objects with no live instance, so a
  // serving process runs it while a request's objects are alive (src/ops/memory-release.ts).
  it('in a serving process, waits for the next request and runs once that request\'s turn is done', async () => {
    let dropped: unknown[] | undefined = garbage();
    const full = heapUsed();
    const before = memoryReleases();
    dropped = undefined;
    for (let i = 0; i < 5; i++) releaseRetiredMemoryAtNextRequest();
    await nextTurn();
    await nextTurn();
    expect(dropped).toBeUndefined();
    expect(memoryReleases()).toBe(before);
    requestStarted();
    expect(memoryReleases()).toBe(before);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(memoryReleases()).toBe(before + 1);
    expect(heapUsed()).toBeLessThan(full - 10 * MB);
    // Once run, later requests run nothing more, and neither does the idle fallback.
    requestStarted();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(memoryReleases()).toBe(before + 1);
  });

  it('in a serving process that gets no request, runs after a second anyway', async () => {
    const before = memoryReleases();
    releaseRetiredMemoryAtNextRequest();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(memoryReleases()).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(memoryReleases()).toBe(before + 1);
  });
});
