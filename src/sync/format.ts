/** Text a person reads on a terminal: sizes, durations, the progress line, the summary table. */

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--';
  const seconds = Math.round(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

export interface ProgressState {
  blobsDone: number;
  blobsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  elapsedMs: number;
}

/** `[#####.....] 12/40 blobs  120.5 MiB/512.0 MiB  35.2 MiB/s  ETA 0:11`, fitted to `width`. */
export function progressLine(state: ProgressState, width: number): string {
  const fraction = state.bytesTotal > 0 ? Math.min(1, state.bytesDone / state.bytesTotal) : state.blobsTotal > 0 ? state.blobsDone / state.blobsTotal : 1;
  const rate = state.elapsedMs > 0 ? (state.bytesDone * 1000) / state.elapsedMs : 0;
  const eta = rate > 0 ? ((state.bytesTotal - state.bytesDone) / rate) * 1000 : Number.NaN;
  const text = ` ${state.blobsDone}/${state.blobsTotal} blobs  ${formatBytes(state.bytesDone)}/${formatBytes(state.bytesTotal)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`;
  const barWidth = Math.max(10, Math.min(40, width - text.length - 3));
  const filled = Math.round(fraction * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${text}`.slice(0, Math.max(20, width - 1));
}

export interface SummaryRow {
  bucket: string;
  copied: number;
  skipped: number;
  bytes: number;
  failed: number;
}

/** A plain aligned table: names left, numbers right. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function summaryTable(rows: readonly SummaryRow[]): string {
  return table(
    ['bucket', 'copied', 'skipped', 'bytes', 'failed'],
    rows.map((row) => [row.bucket, String(row.copied), String(row.skipped), formatBytes(row.bytes), String(row.failed)]),
  );
}
