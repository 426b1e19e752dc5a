import { describe, expect, it } from 'vitest';
import { createExistenceChecker } from '../../src/blobs/index.js';
import type { CheckNote } from '../../src/blobs/types.js';
import { get } from '../support/harness.js';
import { has, post, scrape, scratch, startServe, value, writeConfig } from '../support/serve.js';
import { startHangingBucket, startHttpBucket } from '../support/buckets.js';
import { KEY, blobPath, checkConfig, digest, manualClock, recordingLogger, closedAfterEach } from '../support/blobs.js';
import { until } from '../support/wait.js';

const track = closedAfterEach();

/** A gate that can be closed again, so each probe's timing is under the test's control. */
function reusableGate(): { wait: () => Promise<void>; open: () => void; close: () => void } {
  let release: () => void = () => {};
  let current: Promise<void> = Promise.resolve();
  return {
    wait: () => current,
    open: () => release(),
    close: () => {
      current = new Promise<void>((resolve) => (release = resolve));
    },
  };
}

/** Whether `promise` has settled after the event loop drained pending I/O callbacks once. */
async function settledNow(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('bucket health (circuit breaker)', () => {
  it('goes closed -> open -> half-open -> open -> half-open -> closed', async () => {
    const clock = manualClock();
    const gate = reusableGate();
    const logger = recordingLogger();
    const moves: string[] = [];
    const bucket = track(await startHttpBucket('flaky', { status: () => 500, gate: gate.wait }));
    const checker = track(
      createExistenceChecker({
        key: KEY,
        check: checkConfig({ failure_threshold: 3, cooldown_ms: 10_000 }),
        now: clock.now,
        logger,
        onTransition: (name, from, to) => void moves.push(`${name}: ${from} -> ${to}`),
      }),
    );
    const b = bucket.bucket;

    // Two failures: still in use.
    for (const n of [1, 2]) expect(await checker.check(b, digest(n))).toBe('unknown');
    expect(checker.available(b)).toBe(true);
    expect(checker.stats().buckets.flaky).toEqual({ state: 'closed', failures: 2 });

    // Third consecutive failure opens it: skipped at once, no HEAD.
    expect(await checker.check(b, digest(3))).toBe('unknown');
    expect(checker.available(b)).toBe(false);
    expect(checker.stats().buckets.flaky).toEqual({ state: 'open', failures: 3 });
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.fields.to)).toEqual(['open']);
    const skipped = checker.check(b, digest(4));
    expect(await settledNow(skipped)).toBe(true);
    expect(await skipped).toBe('unknown');
    expect(checker.peek(b, digest(4))).toBe('unknown');
    expect(bucket.requests).toHaveLength(3);
    // available() passing the bucket over counts too: it is how the request path skips one.
    expect(checker.stats().skipped).toBe(3);

    // Cool-down not over yet.
    clock.advance(9_999);
    expect(checker.available(b)).toBe(false);
    clock.advance(1);
    expect(checker.available(b)).toBe(true);
    expect(checker.peek(b, digest(5))).toBeUndefined();

    // Half-open: exactly one probe goes through; everything else is skipped meanwhile.
    gate.close();
    const probe = checker.check(b, digest(5));
    expect(checker.stats().buckets.flaky?.state).toBe('half-open');
    expect(checker.available(b)).toBe(false);
    expect(await checker.check(b, digest(6))).toBe('unknown');
    expect(await checker.check(b, digest(5))).toBe('unknown');
    await until('the bucket to see 4 request(s)', () => bucket.requests.length === 4, { timeoutMs: 2000, everyMs: 5 });
    gate.open();
    expect(await probe).toBe('unknown');
    expect(bucket.requests).toHaveLength(4);

    // The probe failed: open again, for a fresh cool-down.
    expect(checker.stats().buckets.flaky?.state).toBe('open');
    expect(checker.available(b)).toBe(false);
    clock.advance(9_999);
    expect(checker.available(b)).toBe(false);
    clock.advance(1);

    // The bucket recovered: the next probe closes the breaker.
    bucket.behaviour.status = () => 200;
    expect(await checker.check(b, digest(7))).toBe('present');
    expect(checker.stats().buckets.flaky).toEqual({ state: 'closed', failures: 0 });
    expect(checker.available(b)).toBe(true);
    expect(await checker.check(b, digest(8))).toBe('present');
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.fields.to)).toEqual([
      'open',
      'half-open',
      'open',
      'half-open',
      'closed',
    ]);
    // The hook the transitions metric counts from sees each move once, with where it came from.
    expect(moves).toEqual(['flaky: closed -> open', 'flaky: open -> half-open', 'flaky: half-open -> open', 'flaky: open -> half-open', 'flaky: half-open -> closed']);
  });

  it('counts only consecutive failures: an answer in between resets the count', async () => {
    const bucket = track(await startHttpBucket('b', { status: () => 500 }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ failure_threshold: 3 }) }));
    await checker.check(bucket.bucket, digest(1));
    await checker.check(bucket.bucket, digest(2));
    bucket.behaviour.status = () => 404;
    await checker.check(bucket.bucket, digest(3));
    bucket.behaviour.status = () => 500;
    await checker.check(bucket.bucket, digest(4));
    await checker.check(bucket.bucket, digest(5));
    expect(checker.available(bucket.bucket)).toBe(true);
    expect(checker.stats().buckets.b).toEqual({ state: 'closed', failures: 2 });
  });

  it('does not count 404 and 403 against the bucket', async () => {
    const bucket = track(await startHttpBucket('b', { status: (path) => (path.endsWith('1') ? 403 : 404) }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ failure_threshold: 1 }) }));
    for (let n = 0; n < 10; n++) expect(await checker.check(bucket.bucket, digest(n))).toBe('absent');
    expect(checker.available(bucket.bucket)).toBe(true);
  });

  it('opens after repeated redirects: a redirecting bucket is misconfigured', async () => {
    const bucket = track(await startHttpBucket('b', { status: () => 301, headers: () => ({ location: 'http://127.0.0.1:9/' }) }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ failure_threshold: 2 }) }));
    await checker.check(bucket.bucket, digest(1));
    await checker.check(bucket.bucket, digest(2));
    expect(checker.available(bucket.bucket)).toBe(false);
  });

  it('skips an open bucket even for blobs it answered before, and re-asks during the probe', async () => {
    const clock = manualClock();
    const known = digest(100);
    const bucket = track(await startHttpBucket('b', { present: new Set([blobPath(known)]) }));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig({ failure_threshold: 1, cooldown_ms: 1000 }), now: clock.now }),
    );
    expect(await checker.check(bucket.bucket, known)).toBe('present');
    bucket.behaviour.status = () => 503;
    await checker.check(bucket.bucket, digest(1));
    expect(checker.peek(bucket.bucket, known)).toBe('unknown');
    expect(await checker.check(bucket.bucket, known)).toBe('unknown');

    clock.advance(1000);
    // A cached answer must not keep a recovered bucket from ever being probed.
    expect(checker.peek(bucket.bucket, known)).toBeUndefined();
    bucket.behaviour.status = undefined;
    expect(await checker.check(bucket.bucket, known)).toBe('present');
    expect(bucket.requests.filter((r) => r.endsWith(known))).toHaveLength(2);
    expect(checker.peek(bucket.bucket, known)).toBe('present');
  });

  it('keeps other buckets in use while one is open', async () => {
    const bad = track(await startHttpBucket('bad', { status: () => 500 }));
    const good = track(await startHttpBucket('good', { status: () => 200 }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ failure_threshold: 1 }) }));
    await checker.check(bad.bucket, digest(1));
    expect(checker.available(bad.bucket)).toBe(false);
    expect(checker.available(good.bucket)).toBe(true);
    expect(checker.peek(good.bucket, digest(1))).toBeUndefined();
    expect(await checker.check(good.bucket, digest(1))).toBe('present');
    expect(checker.peek(good.bucket, digest(1))).toBe('present');
  });

  it('answers a silent bucket within timeout_ms, then in well under 50 ms (p99) once it is open', async () => {
    const bucket = track(await startHangingBucket('silent'));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig({ timeout_ms: 100, failure_threshold: 3 }) }),
    );
    const firstStarted = performance.now();
    const first = await Promise.all([1, 2, 3, 4, 5].map((n) => checker.check(bucket.bucket, digest(n))));
    expect(first).toEqual(['unknown', 'unknown', 'unknown', 'unknown', 'unknown']);
    expect(performance.now() - firstStarted).toBeLessThan(600);
    expect(checker.available(bucket.bucket)).toBe(false);
    // Late failures of HEADs already running do not stack up.
    expect(checker.stats().buckets.silent).toEqual({ state: 'open', failures: 3 });

    const latencies: number[] = [];
    for (let n = 100; n < 1100; n++) {
      const started = performance.now();
      expect(await checker.check(bucket.bucket, digest(n))).toBe('unknown');
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length * 0.99)]).toBeLessThan(50);
    // No HEAD left while open: only the first five were sent (a loaded server may not have
    // read all of them before they timed out).
    expect(checker.stats().heads.timeout).toBe(5);
    expect(bucket.requests.length).toBeLessThanOrEqual(5);
  });
});

describe('why a bucket was passed over', () => {
  it('tells a caller who asks: breaker open, then a probe running; nothing for answers', async () => {
    const clock = manualClock();
    const gate = reusableGate();
    const bucket = track(await startHttpBucket('b', { status: () => 500, gate: gate.wait }));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig({ failure_threshold: 1, cooldown_ms: 1000 }), now: clock.now }),
    );
    const note: CheckNote = { cause: undefined };
    expect(await checker.check(bucket.bucket, digest(1), note)).toBe('unknown');
    expect(note.cause).toBe('status 500');
    expect(checker.available(bucket.bucket, note)).toBe(false);
    expect(note.cause).toBe('breaker open');
    note.cause = undefined;
    expect(await checker.check(bucket.bucket, digest(2), note)).toBe('unknown');
    expect(note.cause).toBe('breaker open');

    clock.advance(1000);
    gate.close();
    const probe = checker.check(bucket.bucket, digest(3));
    expect(checker.available(bucket.bucket, note)).toBe(false);
    expect(note.cause).toBe('breaker half-open: a probe is running');
    expect(await checker.check(bucket.bucket, digest(4), note)).toBe('unknown');
    expect(note.cause).toBe('breaker half-open: a probe is running');
    bucket.behaviour.status = () => 200;
    gate.open();
    expect(await probe).toBe('present');
    expect(await checker.check(bucket.bucket, digest(3), note)).toBe('present');
    expect(note.cause).toBeUndefined();
  });

  it('gives the in-flight limit as the cause of an overflow, and the HEAD\'s cause to every waiter on it', async () => {
    const gate = reusableGate();
    gate.close();
    const bucket = track(await startHttpBucket('b', { status: () => 503, gate: gate.wait }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ max_inflight: 1, timeout_ms: 5000, failure_threshold: 1000 }) }));
    const notes = [0, 1, 2].map((): CheckNote => ({ cause: undefined }));
    const first = checker.check(bucket.bucket, digest(1), notes[0]);
    const joined = checker.check(bucket.bucket, digest(1), notes[1]);
    expect(await checker.check(bucket.bucket, digest(2), notes[2])).toBe('unknown');
    expect(notes[2]?.cause).toBe('in-flight limit: 1 HEADs running');
    await until('one HEAD in flight', () => bucket.requests.length === 1);
    gate.open();
    expect(await Promise.all([first, joined])).toEqual(['unknown', 'unknown']);
    expect(notes.slice(0, 2).map((n) => n.cause)).toEqual(['status 503', 'status 503']);
  });
});

describe('in-flight bound', () => {
  it('sends at most max_inflight HEADs and answers the rest unknown at once', async () => {
    const gate = reusableGate();
    gate.close();
    const bucket = track(await startHttpBucket('b', { status: () => 200, gate: gate.wait }));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig({ max_inflight: 5, timeout_ms: 5000 }) }),
    );
    const answers = Array.from({ length: 100 }, (_, n) => checker.check(bucket.bucket, digest(n)));
    const overflowed = answers.slice(5);
    expect(await settledNow(Promise.all(overflowed))).toBe(true);
    expect(new Set(await Promise.all(overflowed))).toEqual(new Set(['unknown']));
    expect(checker.stats()).toMatchObject({ overflow: 95, inflight: 5 });
    await until('the bucket to see 5 request(s)', () => bucket.requests.length === 5, { timeoutMs: 2000, everyMs: 5 });
    gate.open();
    expect(await Promise.all(answers.slice(0, 5))).toEqual(['present', 'present', 'present', 'present', 'present']);
    expect(bucket.requests).toHaveLength(5);
    // Capacity is back once they finished.
    expect(await checker.check(bucket.bucket, digest(1000))).toBe('present');
  });

  it('turns 10,000 requests for distinct random digests into at most max_inflight outbound HEADs', async () => {
    const gate = reusableGate();
    gate.close();
    const bucket = track(await startHttpBucket('b', { gate: gate.wait }));
    const checker = track(
      createExistenceChecker({ key: KEY, check: checkConfig({ max_inflight: 64, timeout_ms: 5000 }) }),
    );
    const answers = Array.from({ length: 10_000 }, (_, n) => checker.check(bucket.bucket, digest(n + 1)));
    await until('the bucket to see 64 request(s)', () => bucket.requests.length === 64, { timeoutMs: 2000, everyMs: 5 });
    gate.open();
    await Promise.all(answers);
    expect(bucket.requests).toHaveLength(64);
    expect(checker.stats().overflow).toBe(10_000 - 64);
  });

  it('lets waiters on a HEAD already in flight join it instead of overflowing', async () => {
    const gate = reusableGate();
    gate.close();
    const bucket = track(await startHttpBucket('b', { status: () => 200, gate: gate.wait }));
    const checker = track(createExistenceChecker({ key: KEY, check: checkConfig({ max_inflight: 1, timeout_ms: 5000 }) }));
    const answers = Array.from({ length: 100 }, () => checker.check(bucket.bucket, digest(1)));
    await until('the bucket to see 1 request(s)', () => bucket.requests.length === 1, { timeoutMs: 2000, everyMs: 5 });
    gate.open();
    expect(new Set(await Promise.all(answers))).toEqual(new Set(['present']));
    expect(checker.stats()).toMatchObject({ overflow: 0, coalesced: 99 });
  });

  it('keeps a due probe available when the bound stops it', async () => {
    const clock = manualClock();
    const gate = reusableGate();
    const failing = track(await startHttpBucket('failing', { status: () => 500 }));
    const busy = track(await startHttpBucket('busy', { status: () => 200, gate: gate.wait }));
    const checker = track(
      createExistenceChecker({
        key: KEY,
        check: checkConfig({ max_inflight: 1, failure_threshold: 1, cooldown_ms: 100, timeout_ms: 5000 }),
        now: clock.now,
      }),
    );
    await checker.check(failing.bucket, digest(1));
    clock.advance(100);
    gate.close();
    const holding = checker.check(busy.bucket, digest(2));
    expect(await checker.check(failing.bucket, digest(3))).toBe('unknown');
    expect(checker.stats().overflow).toBe(1);
    expect(checker.available(failing.bucket)).toBe(true);
    gate.open();
    await holding;
    failing.behaviour.status = () => 200;
    expect(await checker.check(failing.bucket, digest(3))).toBe('present');
    expect(checker.stats().buckets.failing?.state).toBe('closed');
  });
});

describe('existence_cache_skipped_total and bucket_state_transitions_total', () => {
  it('counts every request that passes over a bucket whose breaker is open', async () => {
    const dir = scratch();
    const bucket = track(await startHttpBucket('failing', { status: () => 503 }));
    const edge = await startServe(
      writeConfig(`${dir.path}/edge.yaml`, {
        origin: { url: 'https://origin.example' },
        buckets: [{ name: 'failing', url: bucket.url, networks: ['127.0.0.0/8'] }],
        blobs: { check: { failure_threshold: 1, cooldown_ms: 600_000 } },
      }),
    );
    try {
      await get(edge.url, `/v2/a/blobs/${digest(1)}`);
      const before = value(await scrape(edge.admin), 'registry_edge_existence_cache_skipped_total');
      for (const n of [2, 3, 4]) expect((await get(edge.url, `/v2/a/blobs/${digest(n)}`)).headers.location).toBe(`https://origin.example/v2/a/blobs/${digest(n)}`);
      expect(value(await scrape(edge.admin), 'registry_edge_existence_cache_skipped_total') - before).toBe(3);
      expect(bucket.requests).toHaveLength(1);
      // The one failed HEAD opened the breaker: one transition, the other moves exported from 0.
      const transitions = (samples: Awaited<ReturnType<typeof scrape>>, from: string, to: string) =>
        value(samples, 'registry_edge_bucket_state_transitions_total', { bucket: 'failing', from, to });
      const opened = await scrape(edge.admin);
      expect(transitions(opened, 'closed', 'open')).toBe(1);
      expect(has(opened, 'registry_edge_bucket_state_transitions_total', { bucket: 'failing', from: 'half-open', to: 'closed' })).toBe(true);
      expect(transitions(opened, 'half-open', 'closed')).toBe(0);
      // A reload starts a new generation (breakers closed again); the count does not go back.
      expect((await post(edge.admin, '/reload')).status).toBe(200);
      expect(transitions(await scrape(edge.admin), 'closed', 'open')).toBe(1);
    } finally {
      await edge.stop();
      dir.cleanup();
    }
  });
});
