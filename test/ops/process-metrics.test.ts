import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerProcessMetrics } from '../../src/ops/process-metrics.js';

// registry-edge registers prom-client's default metrics itself (without the module that loads
// OpenTelemetry): a scrape must show exactly the series prom-client's own call would.

async function shapes(registry: Registry): Promise<string[]> {
  const metrics = await registry.getMetricsAsJSON();
  return metrics.map((metric) => `${metric.name} ${metric.type} ${metric.help}`).sort();
}

describe('process metrics', () => {
  it("registers the names, types and help of prom-client's collectDefaultMetrics", async () => {
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs });
    const ours = new Registry();
    registerProcessMetrics(ours);
    expect(await shapes(ours)).toEqual(await shapes(theirs));
    expect((await shapes(ours)).length).toBeGreaterThan(10);
  });

  it('counts CPU time: user plus system is the total, and it grows between scrapes', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    // One snapshot per scrape: every scrape collects again.
    const snapshot = async (): Promise<Map<string, number>> =>
      new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, m.values[0]?.value ?? Number.NaN]));
    const before = (await snapshot()).get('process_cpu_seconds_total') ?? Number.NaN;
    const until = Date.now() + 30;
    while (Date.now() < until) Math.sqrt(Math.random());
    const after = await snapshot();
    const total = after.get('process_cpu_seconds_total') ?? Number.NaN;
    expect(total).toBeGreaterThan(before);
    expect((after.get('process_cpu_user_seconds_total') ?? 0) + (after.get('process_cpu_system_seconds_total') ?? 0)).toBeCloseTo(total, 6);
  });
});
