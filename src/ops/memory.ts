import { readFileSync } from 'node:fs';
import { getHeapCodeStatistics, getHeapSpaceStatistics } from 'node:v8';

/**
 * What one process holds in memory, as GET /debug/memory reports it (issue 18's figures). With
 * `node --expose-gc` the figures are taken after collections have settled, so they show what
 * is retained rather than what the collector has not reached yet.
 */
export interface MemoryFigures {
  pid: number;
  role: 'single' | 'primary' | 'worker';
  /** Whether garbage was collected first (node --expose-gc). */
  collected: boolean;
  /** Runtime generations in memory (absent in a --workers primary, which holds none). */
  generations?: number;
  heap_used_bytes: number;
  /**
   * Compiled code, bytecode and their metadata inside heap_used_bytes. It grows as the
   * optimiser warms up to the reload path (yaml, the schema, the build) and then stays.
   */
  heap_code_bytes: number;
  /** heap_used_bytes without the code: the objects the process holds. */
  heap_data_bytes: number;
  heap_committed_bytes: number;
  /** Committed bytes of each V8 heap space: the young generation keeps what it grew to. */
  heap_space_committed_bytes: Record<string, number>;
  external_bytes: number;
  array_buffers_bytes: number;
  rss_bytes: number;
  /**
   * Of rss_bytes, the anonymous memory (heap, malloc) and the file-backed pages (node's own
   * binary and libraries, mapped files), from /proc/self/status on Linux. File pages are
   * shared and dropped under pressure; they grow as code not run before is first executed.
   */
  rss_anon_bytes?: number;
  rss_file_bytes?: number;
}

/** `RssAnon` and `RssFile` of /proc/self/status in bytes, when the system has them. */
function residentSplit(): { anon: number; file: number } | undefined {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (field: string): number | undefined => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return match === null ? undefined : Number(match[1]) * 1024;
    };
    const anon = kib('RssAnon');
    const file = kib('RssFile');
    return anon === undefined || file === undefined ? undefined : { anon, file };
  } catch {
    return undefined;
  }
}

/** Most collections a settle runs before it reports what it has. */
const MAX_COLLECTIONS = 8;
/** Time for the work a collection queues (freed ArrayBuffers, weak callbacks) to run. */
const SETTLE_MS = 20;

function gcFunction(): (() => void) | undefined {
  return (globalThis as { gc?: () => void }).gc;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Collects until two readings agree: an ArrayBuffer's memory is returned a little after the
 * collection that frees it, and a finalizer may free more, so one gc() is not enough.
 */
async function settle(gc: () => void): Promise<void> {
  let last = process.memoryUsage();
  for (let round = 0; round < MAX_COLLECTIONS; round++) {
    gc();
    await pause(SETTLE_MS);
    const now = process.memoryUsage();
    const steady = now.external === last.external && Math.abs(now.heapUsed - last.heapUsed) < last.heapUsed / 1000;
    last = now;
    if (steady && round > 0) return;
  }
}

export async function measureMemory(role: MemoryFigures['role'], generations?: number): Promise<MemoryFigures> {
  const gc = gcFunction();
  if (gc !== undefined) await settle(gc);
  const usage = process.memoryUsage();
  const code = getHeapCodeStatistics();
  const codeBytes = code.code_and_metadata_size + code.bytecode_and_metadata_size;
  const split = residentSplit();
  return {
    pid: process.pid,
    role,
    collected: gc !== undefined,
    generations,
    heap_used_bytes: usage.heapUsed,
    heap_code_bytes: codeBytes,
    heap_data_bytes: usage.heapUsed - codeBytes,
    heap_committed_bytes: usage.heapTotal,
    heap_space_committed_bytes: Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size])),
    external_bytes: usage.external,
    array_buffers_bytes: usage.arrayBuffers,
    rss_bytes: usage.rss,
    rss_anon_bytes: split?.anon,
    rss_file_bytes: split?.file,
  };
}
