/**
 * The --workers primary answers /metrics with the sum of every worker's figures. A worker that
 * dies takes its counters with it, and its replacement counts from zero: summed as they are,
 * the totals would go down and Prometheus' rate() would read that as a reset (a spike). The
 * primary therefore keeps each worker's last answer, and folds the counters of a worker that
 * exits into a retired total that stays in the sum.
 */

export interface SampleJson {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** One metric as prom-client's `getMetricsAsJSON` writes it and its AggregatorRegistry reads it. */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator?: string;
  values: SampleJson[];
}

/** Counters and histograms only ever grow; gauges describe a live process and leave with it. */
const MONOTONIC = new Set(['counter', 'histogram']);

function sampleKey(sample: SampleJson): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${sample.metricName ?? ''}\u0000${JSON.stringify(labels)}`;
}

/** `total` plus the counter and histogram samples of `last`, series by series (a new array; neither input changes). */
export function keepCounters(total: readonly MetricJson[], last: readonly MetricJson[]): MetricJson[] {
  const merged = new Map<string, { metric: MetricJson; samples: Map<string, SampleJson> }>();
  for (const metric of [...total, ...last]) {
    if (!MONOTONIC.has(metric.type)) continue;
    let entry = merged.get(metric.name);
    if (entry === undefined) {
      entry = { metric: { ...metric, values: [] }, samples: new Map() };
      merged.set(metric.name, entry);
    }
    for (const sample of metric.values) {
      const key = sampleKey(sample);
      const known = entry.samples.get(key);
      if (known === undefined) entry.samples.set(key, { ...sample, labels: { ...sample.labels } });
      else known.value += sample.value;
    }
  }
  return [...merged.values()].map(({ metric, samples }) => ({ ...metric, values: [...samples.values()] }));
}

export class WorkerSamples {
  private readonly latest = new Map<number, MetricJson[]>();
  private retired: MetricJson[] = [];

  /** A live worker's answer to a scrape. */
  remember(pid: number, metrics: MetricJson[]): void {
    this.latest.set(pid, metrics);
  }

  /** The worker is gone: its counters stay in the sum at their last values. */
  retire(pid: number): void {
    const last = this.latest.get(pid);
    if (last === undefined) return;
    this.latest.delete(pid);
    this.retired = keepCounters(this.retired, last);
  }

  /** What to sum: each live worker's last answer, and what the departed ones counted. */
  parts(): MetricJson[][] {
    return [...this.latest.values(), this.retired];
  }
}
