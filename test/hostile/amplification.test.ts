import { afterEach, describe, expect, it } from 'vitest';
import { DIGEST_A, startEdge, type EdgeUnderTest } from '../support/harness.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { flood, floodSize, randomDigest, type FloodAnswer, type FloodRequest } from '../support/flood.js';
import { KEY, ORIGIN } from '../support/hostile.js';

// 20k requests take a few seconds here; HOSTILE_FLOOD=100000 runs the full size. The
// bounds asserted below do not depend on the count: in-flight HEADs are capped by max_inflight
// and cache entries by max_entries, so more requests only mean more overflow to the origin.
const REQUESTS = floodSize(20_000);
const CONNECTIONS = 64;
const MAX_INFLIGHT = 8;
// Long enough that HEADs pile up against the bound, short enough that autocannon (which
// gives each connection a fixed share of the requests) is not left waiting on the slow ones.
const BUCKET_DELAY_MS = 50;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A bucket that holds every blob but answers each HEAD only after a delay, and records the peak concurrency. */
async function startSlowBucket(delayMs: number): Promise<BucketServer & { peak: () => number }> {
  let running = 0;
  let peak = 0;
  const bucket = await startBucket([], (req, res) => {
    running++;
    peak = Math.max(peak, running);
    setTimeout(() => {
      running--;
      res.writeHead(req.method === 'HEAD' ? 200 : 404, { 'Content-Length': '0' });
      res.end();
    }, delayMs);
    return true;
  });
  cleanups.push(() => bucket.close());
  return { ...bucket, peak: () => peak };
}

async function edgeFor(doc: Record<string, unknown>, options: Parameters<typeof startEdge>[1] = {}): Promise<EdgeUnderTest> {
  const edge = await startEdge({ origin: { url: ORIGIN }, log: { level: 'error' }, ...doc }, options);
  cleanups.push(() => edge.close());
  return edge;
}

/** Collects every answer that breaks a promise instead of throwing inside autocannon's callbacks. */
function answerChecker(bucketUrl: string): { check: (request: FloodRequest, answer: FloodAnswer) => void; problems: string[]; targets: Map<string, number> } {
  const problems: string[] = [];
  const targets = new Map<string, number>();
  const check = (request: FloodRequest, answer: FloodAnswer): void => {
    const digest = request.path.slice(request.path.lastIndexOf('/') + 1);
    const toBucket = `${bucketUrl}${KEY}${digest}`;
    const toOrigin = `${ORIGIN}/v2/flood/blobs/${digest}`;
    const target = answer.location === toBucket ? 'bucket' : answer.location === toOrigin ? 'origin' : undefined;
    if (answer.status !== 307 || target === undefined) {
      if (problems.length < 5) problems.push(`${request.path} -> ${answer.status} ${answer.location ?? ''}`);
      return;
    }
    targets.set(target, (targets.get(target) ?? 0) + 1);
  };
  return { check, problems, targets };
}

describe('amplification: outbound HEADs stay bounded whatever clients send', () => {
  it(`${REQUESTS} requests for distinct random digests run at most max_inflight (${MAX_INFLIGHT}) HEADs at once, and every one still gets a 307`, async () => {
    const bucket = await startSlowBucket(BUCKET_DELAY_MS);
    const edge = await edgeFor({
      buckets: [{ name: 'slow', url: bucket.url, networks: ['127.0.0.0/8'] }],
      blobs: { check: { max_inflight: MAX_INFLIGHT, timeout_ms: 5000 } },
    });
    const answers = answerChecker(bucket.url);
    const report = await flood(edge.url, {
      amount: REQUESTS,
      connections: CONNECTIONS,
      next: () => ({ path: `/v2/flood/blobs/${randomDigest()}` }),
      check: answers.check,
    });

    expect(report.errors).toBe(0);
    expect(answers.problems).toEqual([]);
    expect(report.statuses.get(307)).toBe(REQUESTS);
    const stats = edge.holder.current.checker.stats();
    // The bound itself, seen from the bucket's side.
    expect(bucket.peak()).toBeLessThanOrEqual(MAX_INFLIGHT);
    expect(stats.overflow).toBeGreaterThan(0);
    expect(stats.inflight).toBe(0);
    // Outbound work scales with time, not with requests: at most MAX_INFLIGHT HEADs per bucket delay.
    const headBudget = Math.ceil((report.seconds * 1000) / BUCKET_DELAY_MS + 1) * MAX_INFLIGHT;
    expect(bucket.heads()).toBeLessThanOrEqual(headBudget);
    expect(bucket.heads()).toBeLessThan(REQUESTS / 4);
    // Every HEAD that ran found the blob; everything past the bound went to the origin.
    expect(answers.targets.get('bucket')).toBe(bucket.heads());
    expect(answers.targets.get('origin')).toBe(REQUESTS - bucket.heads());
  }, Math.max(60_000, REQUESTS * 3));

  it('keeps the existence cache within blobs.check.max_entries under a flood of distinct digests', async () => {
    const maxEntries = 500;
    const bucket = await startBucket([]);
    cleanups.push(() => bucket.close());
    const edge = await edgeFor({
      buckets: [{ name: 'lab', url: bucket.url, networks: ['127.0.0.0/8'] }],
      blobs: { check: { max_entries: maxEntries, max_inflight: 256 } },
    });
    const answers = answerChecker(bucket.url);
    const amount = Math.min(REQUESTS, 3000);
    const report = await flood(edge.url, { amount, connections: 32, next: () => ({ path: `/v2/flood/blobs/${randomDigest()}` }), check: answers.check });

    expect(report.errors).toBe(0);
    expect(answers.problems).toEqual([]);
    // The bucket has none of them: all answered absent, cached, and sent to the origin.
    expect(answers.targets.get('origin')).toBe(amount);
    const stats = edge.holder.current.checker.stats();
    expect(stats.heads.absent).toBe(amount);
    expect(stats.size).toBeLessThanOrEqual(maxEntries);
    expect(stats.size).toBeGreaterThan(maxEntries / 2);
  }, 60_000);

  it('coalesces a flood for one digest into a single HEAD', async () => {
    const bucket = await startSlowBucket(200);
    const edge = await edgeFor({ buckets: [{ name: 'slow', url: bucket.url, networks: ['127.0.0.0/8'] }] });
    const answers = answerChecker(bucket.url);
    const report = await flood(edge.url, { amount: 2000, connections: CONNECTIONS, next: () => ({ path: `/v2/flood/blobs/${DIGEST_A}` }), check: answers.check });
    expect(report.errors).toBe(0);
    expect(answers.targets.get('bucket')).toBe(2000);
    expect(bucket.heads()).toBe(1);
  });
});

describe('per-client rate limit (limits.per_ip_rps)', () => {
  it('answers 429 with Retry-After past the burst, sends no HEADs for refused requests, and limits one client only', async () => {
    const bucket = await startBucket([]);
    cleanups.push(() => bucket.close());
    const limits = { per_ip_rps: 20, burst: 40, max_clients: 1000 };
    const edge = await edgeFor(
      {
        client_ip: { trusted_hops: 1 },
        limits,
        buckets: [{ name: 'lab', url: bucket.url, networks: ['192.0.2.0/24'] }],
      },
    );
    const retryAfter = new Set<string>();
    const started = performance.now();
    const report = await flood(edge.url, {
      amount: 3000,
      connections: 16,
      next: () => ({ path: `/v2/flood/blobs/${randomDigest()}`, headers: { 'X-Forwarded-For': '192.0.2.7' } }),
      check: (_request, answer) => {
        if (answer.status === 429) retryAfter.add(answer.retryAfter ?? 'missing');
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const allowed = report.statuses.get(307) ?? 0;
    expect(report.errors).toBe(0);
    expect([...report.statuses.keys()].sort()).toEqual([307, 429]);
    expect(allowed).toBeGreaterThanOrEqual(limits.burst);
    expect(allowed).toBeLessThanOrEqual(limits.burst + Math.ceil(limits.per_ip_rps * (seconds + 1)));
    expect([...retryAfter].every((value) => /^[1-9]\d*$/.test(value))).toBe(true);
    // Refused requests cost nothing outbound.
    expect(bucket.heads()).toBeLessThanOrEqual(allowed);

    // Another client is not affected by the first one's flood.
    const other = await flood(edge.url, {
      amount: 10,
      connections: 1,
      next: () => ({ path: `/v2/flood/blobs/${randomDigest()}`, headers: { 'X-Forwarded-For': '198.51.100.9' } }),
    });
    expect(other.statuses.get(307)).toBe(10);
  });

  it('tracks at most limits.max_clients clients however many addresses a flood claims', async () => {
    const limits = { per_ip_rps: 5, burst: 5, max_clients: 100 };
    const edge = await edgeFor({ client_ip: { trusted_hops: 1 }, limits });
    let n = 0;
    const report = await flood(edge.url, {
      amount: 3000,
      connections: 16,
      next: () => {
        n++;
        return { path: '/v2/flood/manifests/latest', headers: { 'X-Forwarded-For': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` } };
      },
    });
    expect(report.errors).toBe(0);
    // Every address is new, so every one starts with a full bucket: nobody is refused.
    expect(report.statuses.get(307)).toBe(3000);
    const tracked = edge.holder.current.limiter?.size;
    expect(tracked).toBeGreaterThan(0);
    expect(tracked).toBeLessThanOrEqual(limits.max_clients);
  });
});
