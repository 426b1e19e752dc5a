import type { Sample } from './prometheus-text.js';
import type { SampleSet } from './status-model.js';

/*
 * Counters and gauges read from one scrape, and counter rates against an earlier one: the
 * arithmetic behind the status snapshot, kept apart from its shape.
 */

/** A counter's value now and its per-second rate over the snapshot's window (null without one). */
export interface Rate {
  total: number;
  per_s: number | null;
}

export type Index = ReadonlyMap<string, readonly Sample[]>;
export type Filter = (sample: Sample) => boolean;
export const ALL: Filter = () => true;

function index(samples: readonly Sample[]): Index {
  const byName = new Map<string, Sample[]>();
  for (const sample of samples) {
    const list = byName.get(sample.name);
    if (list === undefined) byName.set(sample.name, [sample]);
    else list.push(sample);
  }
  return byName;
}

export function sum(at: Index, name: string, filter: Filter = ALL): number {
  let total = 0;
  for (const sample of at.get(name) ?? []) if (filter(sample)) total += sample.value;
  return total;
}

/** Values of the samples called `name` that pass `filter`, aggregated; null when there are none. */
export function maybe(at: Index, name: string, aggregate: (values: number[]) => number, filter: Filter = ALL): number | null {
  const values = (at.get(name) ?? []).filter(filter).map((sample) => sample.value);
  return values.length === 0 ? null : aggregate(values);
}

export const total = (values: number[]): number => values.reduce((a, b) => a + b, 0);

/** Identifies a series of one metric: its labels, in a fixed order. */
function seriesKey(sample: Sample): string {
  return Object.keys(sample.labels)
    .sort()
    .map((key) => `${key}\u0000${sample.labels[key]}`)
    .join('\u0001');
}

/**
 * The rates of one snapshot. Each series' increase is measured on its own and then summed, as
 * Prometheus' sum(rate()) does, so one restarted worker (its counters back at zero) does not
 * hide the others' traffic: a series that went down counts from zero.
 */
export class Window {
  readonly now: Index;
  readonly seconds: number | null;
  private readonly before: ReadonlyMap<string, Map<string, number>> | undefined;

  constructor(current: SampleSet, baseline: SampleSet | undefined) {
    this.now = index(current.samples);
    const seconds = baseline === undefined ? 0 : (current.atMs - baseline.atMs) / 1000;
    this.seconds = seconds > 0 ? seconds : null;
    if (this.seconds === null || baseline === undefined) return;
    const before = new Map<string, Map<string, number>>();
    for (const sample of baseline.samples) {
      let series = before.get(sample.name);
      if (series === undefined) before.set(sample.name, (series = new Map()));
      series.set(seriesKey(sample), sample.value);
    }
    this.before = before;
  }

  private increase(sample: Sample): number {
    const before = this.before?.get(sample.name)?.get(seriesKey(sample)) ?? 0;
    return sample.value >= before ? sample.value - before : sample.value;
  }

  private rate(total: number, increase: number): Rate {
    return { total, per_s: this.seconds === null ? null : increase / this.seconds };
  }

  counter(name: string, filter: Filter = ALL): Rate {
    let total = 0;
    let increase = 0;
    for (const sample of this.now.get(name) ?? []) {
      if (!filter(sample)) continue;
      total += sample.value;
      increase += this.increase(sample);
    }
    return this.rate(total, increase);
  }

  /** Rates summed by the given labels, busiest first. */
  grouped<K extends string>(name: string, keys: readonly K[], filter: Filter = ALL): Array<Record<K, string> & Rate> {
    const byGroup = new Map<string, { labels: Record<K, string>; total: number; increase: number }>();
    for (const sample of this.now.get(name) ?? []) {
      if (!filter(sample)) continue;
      const labels = Object.fromEntries(keys.map((key) => [key, sample.labels[key] ?? ''])) as Record<K, string>;
      const key = keys.map((k) => labels[k]).join('\u0000');
      let group = byGroup.get(key);
      if (group === undefined) byGroup.set(key, (group = { labels, total: 0, increase: 0 }));
      group.total += sample.value;
      group.increase += this.increase(sample);
    }
    const rows = [...byGroup.values()].map(({ labels, total, increase }) => ({ ...labels, ...this.rate(total, increase) }));
    return rows.sort((a, b) => (b.per_s ?? 0) - (a.per_s ?? 0) || b.total - a.total);
  }
}

