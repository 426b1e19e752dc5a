import { Gauge, type Registry } from './prom-client.js';
import type { OriginTable } from '../routing/origin-table.js';
import { PREFIX } from './generation-figures.js';
import { CounterCell, HistogramCell, register, TallyCounter, TallyHistogram } from './tally.js';

/** Probes answer in milliseconds on a good day; the timeout (default 2 s) caps the rest. */
const PROBE_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the origin figures read from the generation in use (absent in stand-ins). */
export interface OriginsOfGeneration {
  readonly plan?: { readonly origins: OriginTable };
}

/**
 * The origin replicas' figures: state per replica (read from the generation in use at scrape
 * time), probe latency and requests by chosen origin (tallied as they happen).
 */
export class OriginMetrics {
  private readonly choices = new TallyCounter(`${PREFIX}origin_choices_total`, 'Redirects to an origin, by the origin host chosen (the primary or a replica).');
  private readonly probes = new TallyHistogram(`${PREFIX}origin_probe_duration_seconds`, 'Origin replica health probe latency (GET /v2/), by replica and result (up, down).', PROBE_SECONDS);
  private readonly choiceCells = new Map<string, CounterCell>();
  private readonly probeCells = new Map<string, HistogramCell>();

  constructor(registry: Registry, current: () => OriginsOfGeneration | undefined) {
    register(registry, this.choices);
    register(registry, this.probes);
    const state: Gauge<'origin'> = new Gauge({
      name: `${PREFIX}origin_up`,
      help: 'Whether each origin replica is in use (1) or skipped after failed probes (0); with --workers, the number of workers seeing it up.',
      labelNames: ['origin'],
      registers: [registry],
      collect: () => {
        state.reset();
        const table = current()?.plan?.origins;
        if (table === undefined) return;
        for (const replica of table.replicas) state.set({ origin: replica.host }, table.states.isUp(replica.index) ? 1 : 0);
      },
    });
  }

  /** One redirect to `host` (an origin Location). */
  chose(host: string): void {
    let cell = this.choiceCells.get(host);
    if (cell === undefined) {
      cell = this.choices.cell({ origin: host });
      this.choiceCells.set(host, cell);
    }
    cell.value++;
  }

  readonly onProbe = (host: string, up: boolean, durationMs: number): void => {
    const key = `${host} ${up ? 'up' : 'down'}`;
    let cell = this.probeCells.get(key);
    if (cell === undefined) {
      cell = this.probes.cell({ origin: host, result: up ? 'up' : 'down' });
      this.probeCells.set(key, cell);
    }
    cell.observe(durationMs / 1000);
  };
}
