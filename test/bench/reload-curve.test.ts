import { describe, expect, it } from 'vitest';
// @ts-expect-error bench/ is plain JavaScript without declarations
import { CSV_HEADER, summarize, summaryLine, toCsv, windowSeconds } from '../../bench/lib/reload-curve.js';

const MiB = 1024 * 1024;

interface Sample {
  t: number;
  reloads: number;
  pid: number;
  role: string;
  rss: number;
  anon?: number;
  file?: number;
  heapUsed: number;
  heapCommitted: number;
  external: number;
}

/** A process sampled every 10 s for 300 s whose RSS is `rss(t)` MiB, anonymous half of it. */
function curve(pid: number, role: string, rss: (t: number) => number): Sample[] {
  return Array.from({ length: 31 }, (_, i) => ({ t: i * 10, reloads: i * 10, pid, role, rss: rss(i * 10) * MiB, anon: (rss(i * 10) / 2) * MiB, file: (rss(i * 10) / 2) * MiB, heapUsed: 10 * MiB, heapCommitted: 16 * MiB, external: 5 * MiB }));
}

describe('the reload-memory curve', () => {
  it('compares a minute at each end of a run, or a quarter of a shorter one', () => {
    expect([windowSeconds(300), windowSeconds(240), windowSeconds(20)]).toEqual([60, 60, 5]);
  });

  it('gives each process the mean of its first minute against its last', () => {
    const samples = [...curve(1, 'primary', () => 60), ...curve(2, 'worker', (t) => 80 + t / 10)];
    const [primary, worker] = summarize(samples, 300);
    expect(primary).toMatchObject({ pid: 1, role: 'primary', complete: true, rssRatio: 1, anonRatio: 1 });
    // First minute: 80..86 (mean 83); last minute, t 240..300: 104..110 (mean 107).
    expect(worker.rssFirst / MiB).toBeCloseTo(83, 9);
    expect(worker.rssLast / MiB).toBeCloseTo(107, 9);
    expect(worker.rssRatio).toBeCloseTo(107 / 83, 9);
    expect(worker.anonRatio).toBeCloseTo(107 / 83, 9);
  });

  it('says so when a process was not there at both ends (a worker restarted)', () => {
    const early = curve(3, 'worker', () => 70).filter((s) => s.t < 100);
    expect(summarize(early, 300)).toEqual([{ pid: 3, role: 'worker', complete: false }]);
    expect(summaryLine({ node: 'v24.0.0', mode: '--workers 2', duration: 300, reloads: 290, answered: 1000, failed: 0 }, summarize(early, 300))).toContain('worker 3: incomplete');
  });

  it('prints one summary line and one CSV row per sample', () => {
    const samples = curve(2, 'worker', (t) => 80 + t / 10);
    const line = summaryLine({ node: 'v24.0.0', mode: '--workers 2', duration: 300, reloads: 290, answered: 30_000, failed: 0 }, summarize(samples, 300));
    expect(line).toBe(
      'reload-memory node v24.0.0 --workers 2: 300 s, 290 reloads, 30000 requests answered, 0 failed; first minute vs last minute: worker: RSS 83.00 -> 107.00 MiB (1.289x), anon 41.50 -> 53.50 (1.289x)',
    );
    const csv = toCsv(samples).trim().split('\n');
    expect(csv[0]).toBe(CSV_HEADER);
    expect(csv).toHaveLength(32);
    expect(csv[1]).toBe('0.0,0,2,worker,80.00,40.00,40.00,10.00,16.00,5.00');
  });
});
