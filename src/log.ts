import cluster from 'node:cluster';
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import type { LogLevel } from './config/types.js';
import { LineSink } from './log-sink.js';

export type Logger = PinoLogger;

/** Where whole log lines go: the stdout sink, or the stream a caller (a test, `explain`) gave. */
export interface LineTarget {
  write(line: string): unknown;
}

/** How long a buffered log line may wait before it is written. */
const FLUSH_INTERVAL_MS = 100;
/** One system call per this many bytes of lines (about 200 request lines). */
const SINGLE_PROCESS_CHUNK = 64 * 1024;
/** Under PIPE_BUF, so the lines of workers sharing one stdout pipe never interleave mid-line. */
const WORKER_CHUNK = 4000;
/** What may wait for a stalled log reader before lines are dropped: a bounded 16 MB or so. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/**
 * JSON lines on stdout, batched and written asynchronously by a LineSink, so logging stays off
 * the request's critical path; `flushLogger` runs before exit so the last lines are not lost.
 * `time` is epoch milliseconds (pino's default): formatting ISO dates on every line cost 3%.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const dest = destination ?? new LineSink({
    fd: 1,
    chunkBytes: cluster.isWorker ? WORKER_CHUNK : SINGLE_PROCESS_CHUNK,
    maxPendingBytes: MAX_PENDING_BYTES,
    flushIntervalMs: FLUSH_INTERVAL_MS,
  });
  return pino({ level, base: { pid: process.pid }, formatters: { level: (label) => ({ level: label }) } }, dest);
}

/** The destination a logger (or any of its children) writes to, for lines formatted without pino. */
export function lineTargetOf(logger: Logger): LineTarget {
  return (logger as unknown as Record<symbol, LineTarget>)[pino.symbols.streamSym] as LineTarget;
}

/** Lines the stdout sink dropped because its reader did not keep up (0 for other destinations). */
export function droppedLogLines(logger: Logger): number {
  const target = lineTargetOf(logger);
  return target instanceof LineSink ? target.droppedLines : 0;
}

export function flushLogger(logger: Logger): void {
  try {
    const target = lineTargetOf(logger);
    if (target instanceof LineSink) target.flushSync();
    else logger.flush();
  } catch {
    // A closed stdout must not turn shutdown into a crash.
  }
}

/**
 * Lifecycle lines (listening, stopped) are written at info even when `log.level` is warn or
 * error: operators and scripts wait for them. `silent` still silences everything.
 */
export function lifecycleLogger(logger: Logger): Logger {
  return logger.level === 'silent' || logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' });
}
