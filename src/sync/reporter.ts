/**
 * Output: JSON lines for scripts and logs (one object per event, `event` first), or on a
 * terminal a live progress bar with notices printed above it and a table at the end.
 */
import type { Writable } from 'node:stream';
import { formatBytes, progressLine, summaryTable, table, type ProgressState, type SummaryRow } from './format.js';

export type EventFields = Record<string, unknown>;

export interface Reporter {
  event(name: string, fields: EventFields): void;
  /** Starts reporting progress read from `state` until `stop`. */
  watch(state: () => ProgressState): void;
  stop(): void;
  summary(rows: readonly SummaryRow[], failures: readonly string[], ok: boolean): void;
  /** The dry-run plan: rows of bucket, blobs and bytes to copy. */
  plan(rows: ReadonlyArray<{ bucket: string; copy: number; bytes: number; present: number }>): void;
}

export class JsonReporter implements Reporter {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: Writable, private readonly intervalMs = 10_000) {}

  event(name: string, fields: EventFields): void {
    this.out.write(`${JSON.stringify({ event: name, ...fields })}\n`);
  }

  watch(state: () => ProgressState): void {
    this.timer = setInterval(() => {
      const { blobsDone, blobsTotal, bytesDone, bytesTotal } = state();
      this.event('progress', { blobs_done: blobsDone, blobs_total: blobsTotal, bytes_done: bytesDone, bytes_total: bytesTotal });
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  summary(rows: readonly SummaryRow[], failures: readonly string[], ok: boolean): void {
    this.event('summary', { ok, buckets: rows, failures });
  }

  plan(rows: ReadonlyArray<{ bucket: string; copy: number; bytes: number; present: number }>): void {
    for (const row of rows) this.event('plan', { bucket: row.bucket, copy: row.copy, copy_bytes: row.bytes, present: row.present });
  }
}

/** Events a person wants to read as they happen; the rest only count towards the table. */
const SHOWN: Record<string, (fields: EventFields) => string> = {
  failed: (f) => `failed   ${String(f.bucket ?? '')} ${String(f.digest ?? f.what ?? '')}: ${String(f.error)}`,
  problem: (f) => `failed   ${String(f.what)}: ${String(f.error)}`,
  foreign: (f) => `skipped  foreign layer ${String(f.digest)} (${String(f.reference)}): clients fetch it from its own URLs`,
  retry: (f) => `retry    ${String(f.digest ?? f.what)} (attempt ${String(f.attempt)}): ${String(f.reason)}`,
  note: (f) => String(f.message),
  would_copy: (f) => `copy     ${String(f.bucket)} ${String(f.digest)} ${formatBytes(Number(f.size))} (${String(f.reference)})`,
};

export class TtyReporter implements Reporter {
  private timer: NodeJS.Timeout | undefined;
  private state: (() => ProgressState) | undefined;
  private drawn = false;

  constructor(private readonly out: Writable & { columns?: number }, private readonly intervalMs = 200) {}

  private clear(): void {
    if (this.drawn) this.out.write('\r\u001b[2K');
    this.drawn = false;
  }

  private draw(): void {
    if (this.state === undefined) return;
    this.clear();
    this.out.write(progressLine(this.state(), this.out.columns ?? 80));
    this.drawn = true;
  }

  event(name: string, fields: EventFields): void {
    const render = SHOWN[name];
    if (render === undefined) return;
    this.clear();
    this.out.write(`${render(fields)}\n`);
    this.draw();
  }

  watch(state: () => ProgressState): void {
    this.state = state;
    this.draw();
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.state !== undefined) {
      this.draw();
      this.out.write('\n');
      this.drawn = false;
    }
    this.state = undefined;
  }

  summary(rows: readonly SummaryRow[], failures: readonly string[], ok: boolean): void {
    if (rows.length > 0) this.out.write(`\n${summaryTable(rows)}\n`);
    if (failures.length > 0) this.out.write(`\n${failures.length} failed:\n${failures.map((line) => `  ${line}`).join('\n')}\n`);
    this.out.write(ok ? '\nevery selected blob is in every selected bucket\n' : '\nsync incomplete: see the failures above\n');
  }

  plan(rows: ReadonlyArray<{ bucket: string; copy: number; bytes: number; present: number }>): void {
    const body = rows.map((row) => [row.bucket, String(row.copy), formatBytes(row.bytes), String(row.present)]);
    this.out.write(`\ndry run: nothing was written\n${table(['bucket', 'would copy', 'bytes', 'present'], body)}\n`);
  }
}
