import { afterEach } from 'vitest';
import type { Config } from '../../src/config/types.js';
import type { Logger } from '../../src/blobs/types.js';

export const KEY = '/containers/images/{digest}';

/** A distinct, valid sha256 digest per number. */
export function digest(n: number): string {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

export function blobPath(d: string): string {
  return `/containers/images/${d}`;
}

/** Short timeouts keep failure tests fast; everything else mirrors the defaults. */
export function checkConfig(overrides: Partial<Config['blobs']['check']> = {}): Config['blobs']['check'] {
  return {
    timeout_ms: 150,
    ttl_s: 3600,
    negative_ttl_s: 60,
    max_entries: 1000,
    max_inflight: 64,
    failure_threshold: 3,
    cooldown_ms: 10_000,
    ...overrides,
  };
}

/** A clock the test moves by hand, for TTLs and cool-downs without sleeping. */
export function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return { now: () => current, advance: (ms) => void (current += ms) };
}

export interface LogLine {
  level: 'debug' | 'warn';
  msg: string;
  fields: Record<string, unknown>;
}

export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    debug: (fields, msg) => void lines.push({ level: 'debug', msg, fields: fields as Record<string, unknown> }),
    warn: (fields, msg) => void lines.push({ level: 'warn', msg, fields: fields as Record<string, unknown> }),
  };
}

/** Registers an afterEach that closes everything handed to the returned `track`, newest first. */
export function closedAfterEach(): <T extends { close(): Promise<void> }>(thing: T) => T {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()?.();
  });
  return (thing) => {
    cleanups.push(() => thing.close());
    return thing;
  };
}
