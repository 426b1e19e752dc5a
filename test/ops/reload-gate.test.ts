import { describe, expect, it } from 'vitest';
import { joinedRuns } from '../../src/ops/reload-gate.js';

/** A task whose runs finish when the test says, numbered in the order they start. */
function controlledTask() {
  const finishers: Array<() => void> = [];
  let started = 0;
  const task = (reason: string) => {
    started++;
    const n = started;
    return new Promise<string>((resolve) => finishers.push(() => resolve(`${reason}#${n}`)));
  };
  return { task, finishers, started: () => started };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('joinedRuns (the reload gate)', () => {
  it('callers while a run is going join one waiting run: 100 callers, two runs', async () => {
    const { task, finishers, started } = controlledTask();
    const run = joinedRuns(task);
    const first = run('a');
    await settle();
    const rest = Array.from({ length: 99 }, () => run('b'));
    await settle();
    expect(started()).toBe(1);
    finishers[0]?.();
    expect(await first).toBe('a#1');
    await settle();
    expect(started()).toBe(2);
    finishers[1]?.();
    expect(new Set(await Promise.all(rest))).toEqual(new Set(['b#2']));
  });

  it('a call within minGapMs of the last start waits out the gap (injected clock and delay)', async () => {
    let now = 0;
    const delays: number[] = [];
    const { task, finishers, started } = controlledTask();
    const run = joinedRuns(task, { minGapMs: 250, now: () => now, delay: async (ms) => { delays.push(ms); now += ms; } });
    const first = run('a');
    await settle();
    finishers[0]?.();
    await first;
    now = 100;
    const second = run('b');
    await settle();
    expect(delays).toEqual([150]);
    expect(started()).toBe(2);
    finishers[1]?.();
    expect(await second).toBe('b#2');
  });

  it('a failed run does not stop the next one', async () => {
    let calls = 0;
    const run = joinedRuns(async () => {
      calls++;
      if (calls === 1) throw new Error('broken file');
      return 'ok';
    });
    await expect(run('a')).rejects.toThrow('broken file');
    expect(await run('b')).toBe('ok');
  });
});
