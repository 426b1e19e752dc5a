import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import type { LogLevel } from './config/types.js';

export type Logger = PinoLogger;

/**
 * JSON lines on stdout. Asynchronous writes keep logging off the request's critical path;
 * `flushLogger` runs before exit so the last lines are not lost.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const dest = destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // A closed stdout must not turn shutdown into a crash.
  }
}
