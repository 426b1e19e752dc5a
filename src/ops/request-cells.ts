import { CounterCell, getOrCreate, HistogramCell, METHOD_LABELS, methodSlot, type TallyCounter, type TallyHistogram } from './tally.js';

type Slot = 0 | 1 | 2;

/**
 * The cells of the requests counter and the duration histogram, found by label values.
 * Consecutive requests mostly share their labels (a pull's layers, one client's manifests, a
 * health check), so the cell found last is checked before the Map lookups: a few identity
 * comparisons instead of four hashed lookups per request.
 */
export class RequestCells {
  private readonly counts = new Map<string, Map<string, Map<number, Array<CounterCell | undefined>>>>();
  private readonly durations = new Map<string, HistogramCell>();
  private last: { readonly kind: string; readonly target: string; readonly status: number; readonly slot: Slot; readonly cell: CounterCell } | undefined;
  private lastDuration: { readonly kind: string; readonly cell: HistogramCell } | undefined;

  constructor(
    private readonly requests: TallyCounter,
    private readonly duration: TallyHistogram,
  ) {}

  /** Counts one answered request and its duration. */
  count(kind: string, target: string, status: number, method: string, seconds: number): void {
    this.counter(kind, target, status, methodSlot(method)).value++;
    this.histogram(kind).observe(seconds);
  }

  private counter(kind: string, target: string, status: number, slot: Slot): CounterCell {
    const last = this.last;
    if (last !== undefined && last.kind === kind && last.target === target && last.status === status && last.slot === slot) return last.cell;
    const cell = this.counts.get(kind)?.get(target)?.get(status)?.[slot] ?? this.newCounter(kind, target, status, slot);
    this.last = { kind, target, status, slot, cell };
    return cell;
  }

  private histogram(kind: string): HistogramCell {
    const last = this.lastDuration;
    if (last !== undefined && last.kind === kind) return last.cell;
    const cell = getOrCreate(this.durations, kind, () => this.duration.cell({ kind }));
    this.lastDuration = { kind, cell };
    return cell;
  }

  private newCounter(kind: string, target: string, status: number, slot: Slot): CounterCell {
    const byTarget = getOrCreate(this.counts, kind, () => new Map<string, Map<number, Array<CounterCell | undefined>>>());
    const byStatus = getOrCreate(byTarget, target, () => new Map<number, Array<CounterCell | undefined>>());
    const cells = getOrCreate(byStatus, status, (): Array<CounterCell | undefined> => [undefined, undefined, undefined]);
    const cell = this.requests.cell({ kind, method: METHOD_LABELS[slot], status: String(status), target });
    cells[slot] = cell;
    return cell;
  }
}

const UNKNOWN = 'none';

/** The blob-redirect counter's cells by provider, region and target, the last one found checked first. */
export class BlobRedirectCells {
  private readonly cells = new Map<string | undefined, Map<string | undefined, Map<string, CounterCell>>>();
  private last: { readonly provider: string | undefined; readonly region: string | undefined; readonly target: string; readonly cell: CounterCell } | undefined;

  constructor(private readonly counter: TallyCounter) {}

  count(provider: string | undefined, region: string | undefined, target: string): void {
    const last = this.last;
    if (last !== undefined && last.provider === provider && last.region === region && last.target === target) {
      last.cell.value++;
      return;
    }
    const cell = this.cells.get(provider)?.get(region)?.get(target) ?? this.newCell(provider, region, target);
    this.last = { provider, region, target, cell };
    cell.value++;
  }

  private newCell(provider: string | undefined, region: string | undefined, target: string): CounterCell {
    const byRegion = getOrCreate(this.cells, provider, () => new Map<string | undefined, Map<string, CounterCell>>());
    const byTarget = getOrCreate(byRegion, region, () => new Map<string, CounterCell>());
    return getOrCreate(byTarget, target, () => this.counter.cell({ provider: provider ?? UNKNOWN, region: region ?? UNKNOWN, target }));
  }
}
