import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, flushLogger, lifecycleLogger, lineTargetOf, type Logger } from '../../src/log.js';

// registry-edge's logger writes the lines pino wrote with the options it had (level labels,
// epoch-millisecond time, pid only), so log pipelines see no change: pino is the oracle here.

class Lines {
  readonly lines: string[] = [];
  flushed = 0;
  write(line: string): void {
    this.lines.push(line);
  }
  flush(callback?: () => void): void {
    this.flushed++;
    callback?.();
  }
}

/** The time is the one field two loggers cannot share. */
const sameTime = (line: string) => line.replace(/"time":\d+/, '"time":0');

function pair(level: 'debug' | 'info' | 'warn' = 'debug'): { ours: Logger; theirs: pino.Logger; ourLines: Lines; theirLines: Lines } {
  const ourLines = new Lines();
  const theirLines = new Lines();
  const theirs = pino({ level, base: { pid: process.pid }, formatters: { level: (label) => ({ level: label }) } }, theirLines);
  return { ours: createLogger(level, ourLines), theirs, ourLines, theirLines };
}

const caused = new Error('cannot reload', { cause: Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', path: '/etc/x.yaml' }) });
const aggregate = new AggregateError([new TypeError('first'), new RangeError('second')], 'both failed');
const withError = Object.assign(new Error('outer'), { inner: new Error('inner'), status: 503 });
// Made once: an error made inside a call would have a stack of its own per logger.
const typeError = new TypeError('bad thing');
const rangeError = new RangeError('out of range');
const uncaught = new Error('uncaught');
const headFailed = new Error('HEAD failed');

// pino's logger takes every call below; typed as ours so one table drives both.
type Call = (logger: Logger) => void;
const calls: Array<[string, Call]> = [
  ['a message alone', (l) => l.info('stopped')],
  ['fields and a message, undefined fields left out', (l) => l.info({ host: '0.0.0.0', port: 8080, admin_port: undefined, tls: false }, 'listening')],
  ['every kind of value', (l) => l.warn({ n: 1.5, big: -3, ok: true, none: null, list: ['a', { b: 2 }], nested: { deep: { er: 'x' } }, fn: () => 1, nan: NaN, inf: Infinity }, 'values')],
  ['strings that need escaping', (l) => l.warn({ path: 'C:\\dir\\"quoted"\n\ttab', unicode: 'é☃𝄞', control: '\u0001' }, 'say "hi"\nnext line é')],
  ['an err field with its causes and own fields', (l) => l.error({ err: caused, url: '/v2/x/manifests/latest' }, 'request failed')],
  ['an err field without a message takes the error message', (l) => l.error({ err: typeError })],
  ['an Error as the first argument', (l) => l.error(rangeError)],
  ['an Error first with a message', (l) => l.fatal(uncaught, 'uncaught exception')],
  ['an aggregate error', (l) => l.error({ err: aggregate }, 'several')],
  ['an error holding an error', (l) => l.error({ err: withError }, 'wrapped')],
  ['an err field that is not an error', (l) => l.warn({ err: 'text only' }, 'odd')],
  ['a level below the logger level writes nothing', (l) => l.trace({ a: 1 }, 'hidden')],
  ['debug at debug', (l) => l.debug({ code: 'HPE_INVALID_METHOD', status: 400 }, 'client error')],
  ['a child with bindings', (l) => l.child({ component: 'geo' }).info({ written: 3 }, 'geo refresh done')],
  ['a child of a child', (l) => l.child({ component: 'blobs' }).child({ bucket: 'us-east' }).warn({ err: headFailed }, 'check failed')],
  ['a child at its own level', (l) => l.child({}, { level: 'warn' }).info('hidden by the child level')],
  ['a child with a lower level than its parent', (l) => l.child({}, { level: 'trace' }).trace({ x: 1 }, 'trace through a child')],
];

describe('the logger (src/log.ts)', () => {
  it.each(calls)('%s: byte for byte the line pino writes', (_name, call) => {
    const { ours, theirs, ourLines, theirLines } = pair();
    call(ours);
    call(theirs as unknown as Logger);
    expect(ourLines.lines.map(sameTime)).toEqual(theirLines.lines.map(sameTime));
  });

  it('writes the time as epoch milliseconds of the moment of the call', () => {
    const { ours, ourLines } = pair();
    const before = Date.now();
    ours.info('now');
    const time = (JSON.parse(ourLines.lines[0] ?? '{}') as { time: number }).time;
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  it('answers isLevelEnabled and level as pino does, and a new level applies to that logger only', () => {
    const { ours, theirs } = pair('info');
    const child = ours.child({ component: 'x' });
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) expect(ours.isLevelEnabled(level)).toBe(theirs.isLevelEnabled(level));
    ours.level = 'error';
    theirs.level = 'error';
    expect(ours.level).toBe('error');
    expect(ours.isLevelEnabled('warn')).toBe(theirs.isLevelEnabled('warn'));
    expect(child.level).toBe('info');
    const silent = createLogger('silent', new Lines());
    expect(silent.isLevelEnabled('fatal')).toBe(false);
    expect(silent.isLevelEnabled('silent')).toBe(false);
  });

  it('writes a circular field instead of throwing', () => {
    const { ours, ourLines } = pair();
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    ours.warn({ loop }, 'circular');
    expect(JSON.parse(ourLines.lines[0] ?? '{}')).toMatchObject({ loop: { name: 'loop', self: '[Circular]' }, msg: 'circular' });
  });

  it('shares one target with its children, and flushes a target that can flush', () => {
    const lines = new Lines();
    const logger = createLogger('info', lines);
    expect(lineTargetOf(logger.child({ a: 1 }))).toBe(lines);
    flushLogger(logger);
    expect(lines.flushed).toBe(1);
  });

  it('keeps lifecycle lines at info under warn, and silent silent', () => {
    const lines = new Lines();
    lifecycleLogger(createLogger('warn', lines)).info('listening');
    lifecycleLogger(createLogger('silent', lines)).info('listening');
    expect(lines.lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['listening']);
  });
});
