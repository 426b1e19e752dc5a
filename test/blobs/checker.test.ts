import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { createExistenceChecker, inventoryKey } from '../../src/blobs/index.js';
import { startHttpBucket } from '../support/buckets.js';
import { KEY, blobPath, checkConfig, digest, manualClock, recordingLogger, closedAfterEach } from '../support/blobs.js';

const track = closedAfterEach();

/** A gate the test opens by hand, so concurrent checks provably overlap. */
function manualGate(): { wait: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open };
}

describe('existence checks against a counting bucket', () => {
  it('sends HEAD to bucket url + key with the digest colon kept literal, and reports present and absent', async () => {
    const d1 = digest(1);
    const bucket = track(await startHttpBucket('b', { present: new Set([blobPath(d1)]) }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig() }));

    expect(await checker.check(bucket.bucket, d1)).toBe('present');
    expect(await checker.check(bucket.bucket, digest(2))).toBe('absent');
    expect(bucket.requests).toEqual([`HEAD /containers/images/${d1}`, `HEAD /containers/images/${digest(2)}`]);
    expect(checker.stats().heads).toMatchObject({ present: 1, absent: 1 });
  });

  it('answers from the cache afterwards, synchronously through peek and without another HEAD', async () => {
    const d = digest(1);
    const bucket = track(await startHttpBucket('b', { present: new Set([blobPath(d)]) }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig() }));

    expect(checker.peek(bucket.bucket, d)).toBeUndefined();
    await checker.check(bucket.bucket, d);
    await checker.check(bucket.bucket, digest(2));
    expect(checker.peek(bucket.bucket, d)).toBe('present');
    expect(checker.peek(bucket.bucket, digest(2))).toBe('absent');
    expect(await checker.check(bucket.bucket, d)).toBe('present');
    expect(bucket.requests).toHaveLength(2);
    expect(checker.stats()).toMatchObject({ hits: 3, misses: 2, size: 2 });
  });

  it('knows a digest once any bucket answered for it, present or absent, and only then', async () => {
    const bucket = track(await startHttpBucket('b', { present: new Set([blobPath(digest(1))]) }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig() }));
    const { knownDigest } = checker;

    expect(knownDigest(digest(1))).toBe(false);
    await checker.check(bucket.bucket, digest(1));
    await checker.check(bucket.bucket, digest(2));
    expect([knownDigest(digest(1)), knownDigest(digest(2)), knownDigest(digest(3))]).toEqual([true, true, false]);
  });

  it('keeps answers per bucket: a blob present in one bucket is not assumed in another', async () => {
    const d = digest(1);
    const has = track(await startHttpBucket('has', { present: new Set([blobPath(d)]) }));
    const lacks = track(await startHttpBucket('lacks'));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig() }));

    expect(await checker.check(has.bucket, d)).toBe('present');
    expect(checker.peek(lacks.bucket, d)).toBeUndefined();
    expect(await checker.check(lacks.bucket, d)).toBe('absent');
  });

  it('coalesces 50 concurrent checks of one new blob into exactly 1 HEAD', async () => {
    const d = digest(7);
    const gate = manualGate();
    const bucket = track(await startHttpBucket('b', { present: new Set([blobPath(d)]), gate: gate.wait }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ timeout_ms: 2000 }) }));

    const answers = Array.from({ length: 50 }, () => checker.check(bucket.bucket, d));
    await new Promise((resolve) => setTimeout(resolve, 30));
    gate.open();
    expect(new Set(await Promise.all(answers))).toEqual(new Set(['present']));
    expect(bucket.requests).toHaveLength(1);
    expect(checker.stats()).toMatchObject({ misses: 50, coalesced: 49, inflight: 0 });
  });

  it('reuses one keep-alive connection for sequential HEADs to the same bucket', async () => {
    const bucket = track(await startHttpBucket('b'));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig() }));
    for (let n = 0; n < 20; n++) await checker.check(bucket.bucket, digest(n));
    expect(bucket.requests).toHaveLength(20);
    expect(bucket.connections).toBe(1);
  });

  it('sends the configured extra headers with each HEAD', async () => {
    const bucket = track(await startHttpBucket('b', { status: () => 200 }));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig(), headers: { 'user-agent': 'registry-edge-test' } }),
    );
    expect(await checker.check(bucket.bucket, digest(1))).toBe('present');
    expect(bucket.requestHeaders[0]?.['user-agent']).toBe('registry-edge-test');
  });
});

describe('cache lifetimes (injectable clock)', () => {
  it('keeps a present blob for exactly ttl_s, then asks the bucket again', async () => {
    const d = digest(1);
    const clock = manualClock();
    const bucket = track(await startHttpBucket('b', { present: new Set([blobPath(d)]) }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ ttl_s: 600 }), now: clock.now }));

    await checker.check(bucket.bucket, d);
    clock.advance(600_000 - 1);
    expect(checker.peek(bucket.bucket, d)).toBe('present');
    clock.advance(1);
    expect(checker.peek(bucket.bucket, d)).toBeUndefined();
    expect(checker.stats().size).toBe(0);
    expect(await checker.check(bucket.bucket, d)).toBe('present');
    expect(bucket.requests).toHaveLength(2);
  });

  it.each([404, 403])('keeps a %i answer as absent for exactly negative_ttl_s', async (status) => {
    const d = digest(1);
    const clock = manualClock();
    const bucket = track(await startHttpBucket('b', { status: () => status }));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig({ ttl_s: 600, negative_ttl_s: 30 }), now: clock.now }),
    );

    expect(await checker.check(bucket.bucket, d)).toBe('absent');
    clock.advance(29_999);
    expect(checker.peek(bucket.bucket, d)).toBe('absent');
    clock.advance(1);
    expect(checker.peek(bucket.bucket, d)).toBeUndefined();
    // The blob was uploaded meanwhile: the next check sees it.
    bucket.behaviour.status = () => 200;
    expect(await checker.check(bucket.bucket, d)).toBe('present');
    expect(bucket.requests).toHaveLength(2);
  });

  it('expires the answer of each bucket for one digest on its own', async () => {
    const d = digest(9);
    const clock = manualClock();
    const has = track(await startHttpBucket('has', { present: new Set([blobPath(d)]) }));
    const lacksA = track(await startHttpBucket('lacks-a'));
    const lacksB = track(await startHttpBucket('lacks-b'));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig({ ttl_s: 600, negative_ttl_s: 30 }), now: clock.now }),
    );
    await checker.check(has.bucket, d);
    await checker.check(lacksA.bucket, d);
    await checker.check(lacksB.bucket, d);
    expect(checker.stats().size).toBe(1);
    clock.advance(30_000);
    expect(checker.peek(lacksA.bucket, d)).toBeUndefined();
    expect(checker.peek(lacksB.bucket, d)).toBeUndefined();
    expect(checker.peek(has.bucket, d)).toBe('present');
    await checker.check(lacksA.bucket, d);
    expect(checker.peek(lacksA.bucket, d)).toBe('absent');
    clock.advance(600_000);
    expect(checker.peek(has.bucket, d)).toBeUndefined();
    expect(checker.peek(lacksA.bucket, d)).toBeUndefined();
    expect(checker.stats().size).toBe(0);
    expect(lacksA.requests).toHaveLength(2);
  });

  it('caches nothing when a TTL is 0', async () => {
    const bucket = track(await startHttpBucket('b', { present: new Set([blobPath(digest(1))]) }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ ttl_s: 0, negative_ttl_s: 0 }) }));
    await checker.check(bucket.bucket, digest(1));
    await checker.check(bucket.bucket, digest(2));
    expect(checker.peek(bucket.bucket, digest(1))).toBeUndefined();
    expect(checker.peek(bucket.bucket, digest(2))).toBeUndefined();
    expect(checker.stats().size).toBe(0);
  });

  it('never holds more than max_entries answers, evicting the least recently used', async () => {
    const bucket = track(await startHttpBucket('b'));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ max_entries: 3 }) }));
    for (const n of [1, 2, 3]) await checker.check(bucket.bucket, digest(n));
    // Touch 1 so that 2 is now the least recently used.
    expect(checker.peek(bucket.bucket, digest(1))).toBe('absent');
    await checker.check(bucket.bucket, digest(4));
    expect(checker.stats().size).toBe(3);
    expect(checker.peek(bucket.bucket, digest(2))).toBeUndefined();
    for (const n of [1, 3, 4]) expect(checker.peek(bucket.bucket, digest(n))).toBe('absent');
    for (let n = 10; n < 100; n++) await checker.check(bucket.bucket, digest(n));
    expect(checker.stats().size).toBe(3);
  });
});

describe('inventory preload', () => {
  it('answers inventory digests as present in every bucket with no HEAD, forever, whatever the cache evicts', async () => {
    const known = digest(42);
    const clock = manualClock();
    const bucket = track(await startHttpBucket('b'));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig({ max_entries: 1 }), inventory: [known], now: clock.now }),
    );

    expect(checker.peek(bucket.bucket, known)).toBe('present');
    expect(await checker.check(bucket.bucket, known)).toBe('present');
    for (let n = 0; n < 5; n++) await checker.check(bucket.bucket, digest(n));
    clock.advance(365 * 86_400_000);
    expect(checker.peek(bucket.bucket, known)).toBe('present');
    expect(bucket.requests.filter((r) => r.includes(known))).toEqual([]);
    expect(checker.stats()).toMatchObject({ inventory: 1, size: 1 });
  });

  it('limits a per-bucket inventory entry to that bucket', async () => {
    const d = digest(5);
    const listed = track(await startHttpBucket('listed'));
    const other = track(await startHttpBucket('other'));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig(), inventory: new Set([inventoryKey('listed', d)]) }),
    );
    expect(checker.peek(listed.bucket, d)).toBe('present');
    expect(checker.peek(other.bucket, d)).toBeUndefined();
    expect(await checker.check(other.bucket, d)).toBe('absent');
    expect(listed.requests).toEqual([]);
  });
});

describe('observability', () => {
  it('logs one debug line per HEAD with bucket, digest, outcome and status, and calls onCheck with the duration', async () => {
    const d = digest(1);
    const bucket = track(await startHttpBucket('eu', { present: new Set([blobPath(d)]) }));
    const logger = recordingLogger();
    const seen: [string, string, number][] = [];
    const checker = track(
      createExistenceChecker({
        key: KEY,
        check: checkConfig(),
        logger,
        onCheck: (name, outcome, ms) => void seen.push([name, outcome, ms]),
      }),
    );
    await checker.check(bucket.bucket, d);
    await checker.check(bucket.bucket, d);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({
      level: 'debug',
      msg: 'blob existence check',
      fields: { bucket: 'eu', digest: d, outcome: 'present', status: 200, probe: false },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.slice(0, 2)).toEqual(['eu', 'present']);
    expect(seen[0]?.[2]).toBeGreaterThanOrEqual(0);
    expect(checker.stats().buckets).toEqual({ eu: { state: 'closed', failures: 0 } });
  });

  it('still answers when the onCheck hook throws, and logs the failure', async () => {
    const bucket = track(await startHttpBucket('b', { status: () => 200 }));
    const logger = recordingLogger();
    const checker = track(
      createExistenceChecker({
        key: KEY,
        check: checkConfig(),
        logger,
        onCheck: () => {
          throw new Error('histogram exploded');
        },
      }),
    );
    expect(await checker.check(bucket.bucket, digest(1))).toBe('present');
    expect(logger.lines.some((l) => l.level === 'warn' && l.msg === 'onCheck hook threw')).toBe(true);
  });

  it('accepts a pino logger as is', async () => {
    const output: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output.push(chunk.toString());
        done();
      },
    });
    const bucket = track(await startHttpBucket('b', { status: () => 200 }));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig(), logger: pino({ level: 'debug' }, sink) }),
    );
    await checker.check(bucket.bucket, digest(3));
    const line = JSON.parse(output.join('').trim().split('\n')[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'blob existence check', bucket: 'b', outcome: 'present', digest: digest(3) });
  });

  it('starts every HEAD outcome counter at zero', () => {
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig() }));
    expect(checker.stats().heads).toEqual({
      present: 0,
      absent: 0,
      redirect: 0,
      status_4xx: 0,
      status_5xx: 0,
      status_other: 0,
      timeout: 0,
      error: 0,
      signature_refused: 0,
    });
  });
});

describe('construction and shutdown', () => {
  it('rejects a key template without {digest}', () => {
    expect(() => createExistenceChecker({ key: '/blobs/', check: checkConfig() })).toThrow(/\{digest\}/);
  });

  it('answers unknown after close without contacting the bucket', async () => {
    const bucket = track(await startHttpBucket('b', { status: () => 200 }));
    const checker = createExistenceChecker({ key: KEY, check: checkConfig() });
    await checker.close();
    expect(await checker.check(bucket.bucket, digest(1))).toBe('unknown');
    expect(bucket.requests).toEqual([]);
  });
});
