import type { LogLevel } from './config/types.js';
import { serializeError } from './log-error.js';
import { LineSink } from './log-sink.js';

/** Where whole log lines go: the stdout sink, or the stream a caller (a test, `explain`) gave. */
export interface LineTarget {
  write(line: string): unknown;
  flush?(callback?: (error?: Error) => void): void;
}

/** One logging method: fields then a message, or a message alone. */
export interface LogMethod {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/**
 * The JSON-lines logger every part of registry-edge writes to. Lines are the ones pino wrote
 * with our options (`{"level":"info","time":<epoch ms>,"pid":N,<bindings>,<fields>,"msg":...}`)
 * so log pipelines see no change; it is our own because pino's modules were ~9 ms of every
 * start-up (spawn to first answer, issue 20) for the few lines a process writes besides the
 * request lines, which are formatted without it (server/request-line.ts).
 */
export interface Logger {
  /** Setting it changes this logger's level only; children made before keep theirs, as in pino. */
  level: LogLevel;
  /** Where this logger's lines go (its children share it). */
  readonly target: LineTarget;
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  isLevelEnabled(level: LogLevel): boolean;
  /** A logger whose lines also carry BINDINGS (after the parent's), at its own level when given. */
  child(bindings: Record<string, unknown>, options?: { level?: LogLevel }): Logger;
  flush(): void;
}

/** How long a buffered log line may wait before it is written. */
const FLUSH_INTERVAL_MS = 100;
/** One system call per this many bytes of lines (about 200 request lines). */
const SINGLE_PROCESS_CHUNK = 64 * 1024;
/** Under PIPE_BUF, so the lines of workers sharing one stdout pipe never interleave mid-line. */
const WORKER_CHUNK = 4000;
/** What may wait for a stalled log reader before lines are dropped: a bounded 16 MB or so. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** pino's level numbers, which order the levels; `silent` is above all of them. */
const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const ERROR_KEY = 'err';

/** A value as JSON text, never throwing: a circular reference or a BigInt is written as pino's fallback writes it. */
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    const seen = new WeakSet<object>();
    return JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item === 'bigint') return item.toString();
      if (typeof item !== 'object' || item === null) return item;
      if (seen.has(item)) return '[Circular]';
      seen.add(item);
      return item;
    });
  }
}

/** `,"key":value` for each own field that has a JSON value, in the order given (pino's rules). */
function fieldsText(fields: object): string {
  let text = '';
  for (const key of Object.keys(fields)) {
    let value = (fields as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (key === ERROR_KEY) value = serializeError(value);
    if (typeof value === 'number' && !Number.isFinite(value)) value = null;
    const json = typeof value === 'function' ? undefined : jsonText(value);
    if (json !== undefined) text += `,${JSON.stringify(key)}:${json}`;
  }
  return text;
}

const NOOP: LogMethod = () => {};

class JsonLogger implements Logger {
  private current: LogLevel = 'silent';
  private threshold = Infinity;
  trace = NOOP;
  debug = NOOP;
  info = NOOP;
  warn = NOOP;
  error = NOOP;
  fatal = NOOP;

  /** BOUND is the text of this logger's fixed fields (pid, then every ancestor's bindings). */
  constructor(
    level: LogLevel,
    readonly target: LineTarget,
    private readonly bound: string,
  ) {
    this.level = level;
  }

  get level(): LogLevel {
    return this.current;
  }

  /** A level below the threshold gets a method that does nothing, so a disabled line costs a call. */
  set level(level: LogLevel) {
    this.current = level;
    this.threshold = LEVEL_VALUES[level];
    this.trace = this.method('trace');
    this.debug = this.method('debug');
    this.info = this.method('info');
    this.warn = this.method('warn');
    this.error = this.method('error');
    this.fatal = this.method('fatal');
  }

  private method(level: Exclude<LogLevel, 'silent'>): LogMethod {
    if (LEVEL_VALUES[level] < this.threshold) return NOOP;
    const head = `{"level":"${level}","time":`;
    return (first: object | string, msg?: string) => {
      let fields: object | undefined;
      let message = msg;
      if (typeof first === 'string') message = first;
      else if (first instanceof Error) {
        fields = { [ERROR_KEY]: first };
        message ??= first.message;
      } else {
        fields = first;
        const error = (first as Record<string, unknown>)[ERROR_KEY] as { message?: unknown } | undefined;
        if (message === undefined && error && (first as Record<string, unknown>).msg === undefined) message = error.message as string;
      }
      const rest = fields === undefined ? '' : fieldsText(fields);
      const tail = message === undefined ? '' : `,"msg":${jsonText(message) ?? 'null'}`;
      this.target.write(`${head}${Date.now()}${this.bound}${rest}${tail}}\n`);
    };
  }

  isLevelEnabled(level: LogLevel): boolean {
    return LEVEL_VALUES[level] >= this.threshold && level !== 'silent';
  }

  child(bindings: Record<string, unknown>, options: { level?: LogLevel } = {}): Logger {
    return new JsonLogger(options.level ?? this.level, this.target, this.bound + fieldsText(bindings));
  }

  flush(): void {
    this.target.flush?.(() => {});
  }
}

/**
 * JSON lines on stdout, batched and written asynchronously by a LineSink, so logging stays off
 * the request's critical path; `flushLogger` runs before exit so the last lines are not lost.
 * `time` is epoch milliseconds: formatting ISO dates on every line cost 3%. SHAREDSTDOUT: a
 * --workers worker, whose writes must stay atomic on the pipe it shares (the caller says so,
 * since asking node:cluster would load it, with child_process and dgram, in every process).
 */
export function createLogger(level: LogLevel, destination?: LineTarget, sharedStdout = false): Logger {
  const target = destination ?? new LineSink({
    fd: 1,
    chunkBytes: sharedStdout ? WORKER_CHUNK : SINGLE_PROCESS_CHUNK,
    maxPendingBytes: MAX_PENDING_BYTES,
    flushIntervalMs: FLUSH_INTERVAL_MS,
  });
  return new JsonLogger(level, target, `,"pid":${process.pid}`);
}

/** The destination a logger (or any of its children) writes to, for lines formatted apart from it. */
export function lineTargetOf(logger: Logger): LineTarget {
  return logger.target;
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
