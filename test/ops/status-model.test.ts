import { describe, expect, it } from 'vitest';
import { parsePrometheusText, parseSampleLine, type Sample } from '../../src/ops/prometheus-text.js';
import { buildStatusSnapshot, PLANNED_METRICS, SnapshotBaseline, type SampleSet } from '../../src/ops/status-model.js';

const s = (name: string, labels: Record<string, string>, value: number): Sample => ({ name, labels, value });
const at = (atMs: number, ...samples: Sample[]): SampleSet => ({ samples, atMs });
const P = 'registry_edge_';

describe('parsePrometheusText', () => {
  const lines: Array<[string, Sample]> = [
    ['up 1', s('up', {}, 1)],
    ['a_total{kind="blob",status="307"} 12', s('a_total', { kind: 'blob', status: '307' }, 12)],
    ['h_bucket{le="+Inf"} 3', s('h_bucket', { le: '+Inf' }, 3)],
    ['g{x="a\\"b\\\\c\\nd"} -2.5e3', s('g', { x: 'a"b\\c\nd' }, -2500)],
    ['g{x="a",} 1 1700000000000', s('g', { x: 'a' }, 1)],
    ['g{} NaN', s('g', {}, Number.NaN)],
    // prom-client's spelling of an empty histogram's mean; Prometheus reads any case.
    ['nodejs_eventloop_lag_mean_seconds Nan', s('nodejs_eventloop_lag_mean_seconds', {}, Number.NaN)],
    ['g +inf', s('g', {}, Number.POSITIVE_INFINITY)],
    ['g +Inf', s('g', {}, Number.POSITIVE_INFINITY)],
    ['g -Inf', s('g', {}, Number.NEGATIVE_INFINITY)],
    ['g{x="a,b}"} 4', s('g', { x: 'a,b}' }, 4)],
    ['ns:rule:rate5m{job="e"} 0.5', s('ns:rule:rate5m', { job: 'e' }, 0.5)],
  ];
  it.each(lines)('%s', (line, expected) => {
    expect(parseSampleLine(line)).toEqual(expected);
  });

  const bad: Array<[string, string]> = [
    ['{x="a"} 1', 'no metric name'],
    ['g{x=a} 1', 'bad label'],
    ['g{x="a} 1', 'unterminated'],
    ['g{1x="a"} 1', 'bad label'],
    ['g', 'not a sample value'],
    ['g one', 'not a sample value'],
  ];
  it.each(bad)('refuses %s', (line, message) => {
    expect(() => parseSampleLine(line)).toThrow(message);
  });

  it('skips comments and blank lines', () => {
    expect(parsePrometheusText('# HELP g help\n# TYPE g gauge\n\ng 1\n  g{a="b"} 2  \n')).toEqual([s('g', {}, 1), s('g', { a: 'b' }, 2)]);
  });
});

describe('buildStatusSnapshot', () => {
  it('an empty scrape gives empty sections and no rates', () => {
    const snapshot = buildStatusSnapshot(at(0));
    expect(snapshot).toMatchObject({
      schema: 1,
      generated_at: '1970-01-01T00:00:00.000Z',
      window_s: null,
      version: null,
      config_loaded_at: null,
      requests: { total: { total: 0, per_s: null }, by_route_status: [] },
      buckets: [],
      blob_redirects: [],
      existence_cache: { hit_ratio: null, hit_ratio_over: 'since_start', entries: 0 },
      origin_fallbacks: { total: { total: 0, per_s: null }, reasons_source: 'derived' },
      geo: { ranges_loaded: null, ranges_age_s: null },
      caches: [],
      rate_limit: { clients: null, refused: { total: 0, per_s: null } },
    });
  });

  const before = at(
    1_000_000,
    s(`${P}requests_total`, { kind: 'blob', method: 'GET', status: '307', target: 'eu' }, 100),
    s(`${P}requests_total`, { kind: 'blob', method: 'HEAD', status: '307', target: 'eu' }, 0),
    s(`${P}requests_total`, { kind: 'manifest', method: 'GET', status: '307', target: 'origin' }, 50),
    s(`${P}existence_cache_hits_total`, {}, 80),
    s(`${P}existence_cache_misses_total`, {}, 20),
    s(`${P}blob_redirects_total`, { provider: 'aws', region: 'eu-west-1', target: 'eu' }, 90),
    s(`${P}blob_redirects_total`, { provider: 'none', region: 'none', target: 'origin' }, 10),
  );
  const now = at(
    1_010_000,
    s(`${P}requests_total`, { kind: 'blob', method: 'GET', status: '307', target: 'eu' }, 150),
    s(`${P}requests_total`, { kind: 'blob', method: 'HEAD', status: '307', target: 'eu' }, 10),
    // A worker restarted: its counter starts again from zero, as Prometheus' rate() assumes.
    s(`${P}requests_total`, { kind: 'manifest', method: 'GET', status: '307', target: 'origin' }, 5),
    s(`${P}requests_total`, { kind: 'rate_limited', method: 'GET', status: '429', target: 'none' }, 20),
    s(`${P}existence_cache_hits_total`, {}, 89),
    s(`${P}existence_cache_misses_total`, {}, 21),
    s(`${P}blob_redirects_total`, { provider: 'aws', region: 'eu-west-1', target: 'eu' }, 150),
    s(`${P}blob_redirects_total`, { provider: 'none', region: 'none', target: 'origin' }, 20),
    s(`${P}build_info`, { version: '0.1.0' }, 1),
    s(`${P}config_loaded_timestamp_seconds`, {}, 1_700_000_000),
  );

  it('totals without a baseline, rates per second with one', () => {
    const first = buildStatusSnapshot(now);
    expect(first.window_s).toBeNull();
    expect(first.requests.total).toEqual({ total: 185, per_s: null });
    expect(first.existence_cache).toMatchObject({ hit_ratio: 89 / 110, hit_ratio_over: 'since_start' });

    const snapshot = buildStatusSnapshot(now, before);
    expect(snapshot.window_s).toBe(10);
    expect(snapshot.version).toBe('0.1.0');
    expect(snapshot.config_loaded_at).toBe('2023-11-14T22:13:20.000Z');
    // (150-100) + (10-0) + 5 (reset) + 20 (new series) over 10 s.
    expect(snapshot.requests.total).toEqual({ total: 185, per_s: 8.5 });
    expect(snapshot.requests.by_route_status).toEqual([
      { route: 'blob', status: '307', total: 160, per_s: 6 },
      { route: 'rate_limited', status: '429', total: 20, per_s: 2 },
      { route: 'manifest', status: '307', total: 5, per_s: 0.5 },
    ]);
    expect(snapshot.rate_limit.refused).toEqual({ total: 20, per_s: 2 });
    expect(snapshot.existence_cache).toMatchObject({ hit_ratio: 0.9, hit_ratio_over: 'window', hits: { total: 89, per_s: 0.9 } });
    expect(snapshot.blob_redirects).toEqual([
      { provider: 'aws', region: 'eu-west-1', target: 'eu', total: 150, per_s: 6 },
      { provider: 'none', region: 'none', target: 'origin', total: 20, per_s: 1 },
    ]);
    expect(snapshot.origin_fallbacks.total).toEqual({ total: 20, per_s: 1 });
    expect(snapshot.origin_fallbacks.by_client).toEqual([{ provider: 'none', region: 'none', total: 20, per_s: 1 }]);
  });

  it('a baseline that is not older gives no rates', () => {
    expect(buildStatusSnapshot(now, now).window_s).toBeNull();
    expect(buildStatusSnapshot(before, now).requests.total.per_s).toBeNull();
  });

  const state = (bucket: string, values: [number, number, number]): Sample[] =>
    (['closed', 'half-open', 'open'] as const).map((name, i) => s(`${P}bucket_state`, { bucket, state: name }, values[i] as number));
  const bucketCases: Array<[string, Sample[], Record<string, unknown>]> = [
    ['closed', state('eu', [1, 0, 0]), { name: 'eu', state: 'closed', workers_by_state: { closed: 1 } }],
    ['open', state('eu', [0, 0, 1]), { name: 'eu', state: 'open', workers_by_state: { open: 1 } }],
    ['half-open', state('eu', [0, 1, 0]), { name: 'eu', state: 'half-open' }],
    ['two workers disagree: the worst wins', state('eu', [1, 0, 1]), { state: 'open', workers_by_state: { closed: 1, open: 1 } }],
    ['no state at all', state('eu', [0, 0, 0]), { state: 'unknown', workers_by_state: {} }],
  ];
  it.each(bucketCases)('bucket state: %s', (_name, samples, expected) => {
    const [bucket] = buildStatusSnapshot(at(0, ...samples)).buckets;
    expect(bucket).toMatchObject({ ...expected, transitions: null });
  });

  it('buckets carry their existence checks and, once exported, their breaker transitions', () => {
    const checks = (absent: number, transitions: number): Sample[] => [
      ...state('eu', [1, 0, 0]),
      ...state('us', [0, 0, 1]),
      s(`${P}existence_checks_total`, { bucket: 'eu', result: 'present' }, 10),
      s(`${P}existence_checks_total`, { bucket: 'eu', result: 'absent' }, absent),
      s(`${P}existence_checks_total`, { bucket: 'us', result: 'timeout' }, 4),
      s(PLANNED_METRICS.transitions, { bucket: 'us', from: 'closed', to: 'open' }, transitions),
      s(PLANNED_METRICS.transitions, { bucket: 'us', from: 'open', to: 'half-open' }, transitions),
    ];
    const snapshot = buildStatusSnapshot(at(4000, ...checks(6, 3)), at(0, ...checks(2, 1)));
    expect(snapshot.buckets.map((b) => [b.name, b.state])).toEqual([
      ['eu', 'closed'],
      ['us', 'open'],
    ]);
    expect(snapshot.buckets[0]?.checks).toEqual([
      { result: 'absent', total: 6, per_s: 1 },
      { result: 'present', total: 10, per_s: 0 },
    ]);
    expect(snapshot.buckets[0]?.transitions).toEqual({ total: 0, per_s: 0 });
    expect(snapshot.buckets[1]?.transitions).toEqual({ total: 6, per_s: 1 });
  });

  it('origin fallbacks: reasons derived from existence lookups until the server counts them', () => {
    const derived = buildStatusSnapshot(
      at(
        0,
        s(`${P}existence_checks_total`, { bucket: 'eu', result: 'absent' }, 5),
        s(`${P}existence_checks_total`, { bucket: 'eu', result: 'present' }, 50),
        s(`${P}existence_checks_total`, { bucket: 'eu', result: 'timeout' }, 2),
        s(`${P}existence_checks_total`, { bucket: 'us', result: 'status_5xx' }, 1),
        s(`${P}existence_cache_skipped_total`, {}, 7),
        s(`${P}existence_cache_overflow_total`, {}, 0),
      ),
    ).origin_fallbacks;
    expect(derived.reasons_source).toBe('derived');
    expect(derived.by_reason.map((r) => [r.reason, r.total])).toEqual([
      ['absent', 5],
      ['check_failed', 3],
      ['bucket_cooling_down', 7],
      ['too_many_heads', 0],
    ]);
    const counted = buildStatusSnapshot(at(0, s(PLANNED_METRICS.fallbacks, { reason: 'absent' }, 4), s(PLANNED_METRICS.fallbacks, { reason: 'no_candidates' }, 9))).origin_fallbacks;
    expect(counted.reasons_source).toBe('metric');
    expect(counted.by_reason).toEqual([
      { reason: 'no_candidates', total: 9, per_s: null },
      { reason: 'absent', total: 4, per_s: null },
    ]);
  });

  it('reloads, geo data (lowest loaded, oldest age) and geo refreshes', () => {
    const snapshot = buildStatusSnapshot(
      at(
        0,
        s(`${P}reloads_total`, { result: 'success' }, 3),
        s(`${P}reloads_total`, { result: 'failure' }, 1),
        s(`${P}geo_ranges_loaded`, {}, 1),
        s(`${P}geo_ranges_loaded`, {}, 0),
        s(`${P}geo_ranges_age_seconds`, {}, 100),
        s(`${P}geo_ranges_age_seconds`, {}, 300),
        s(`${P}geo_refreshes_total`, { result: 'success' }, 2),
      ),
    );
    expect(snapshot.reloads).toEqual({ success: { total: 3, per_s: null }, failure: { total: 1, per_s: null } });
    expect(snapshot.geo).toEqual({ ranges_loaded: false, ranges_age_s: 300, refreshes: { success: 2, failure: 0 } });
  });

  const cacheCases: Array<[string, Sample[], unknown]> = [
    [
      'the sizes exported today',
      [s(`${P}existence_cache_entries`, {}, 12), s(`${P}rate_limit_clients`, {}, 3)],
      [
        { name: 'existence', entries: 12, bytes: null, max_entries: null, max_bytes: null },
        { name: 'rate_limit', entries: 3, bytes: null, max_entries: null, max_bytes: null },
      ],
    ],
    [
      'per-cache bytes and bounds once exported, which replace the older figure of the same cache',
      [
        s(`${P}existence_cache_entries`, {}, 12),
        s(PLANNED_METRICS.cacheEntries, { cache: 'existence' }, 12),
        s(PLANNED_METRICS.cacheBytes, { cache: 'existence' }, 4096),
        s(PLANNED_METRICS.cacheMaxBytes, { cache: 'existence' }, 65536),
        s(PLANNED_METRICS.cacheBytes, { cache: 'forwarded_for' }, 100),
      ],
      [
        { name: 'existence', entries: 12, bytes: 4096, max_entries: null, max_bytes: 65536 },
        { name: 'forwarded_for', entries: null, bytes: 100, max_entries: null, max_bytes: null },
      ],
    ],
  ];
  it.each(cacheCases)('caches: %s', (_name, samples, expected) => {
    expect(buildStatusSnapshot(at(0, ...samples)).caches).toEqual(expected);
  });
});

describe('SnapshotBaseline', () => {
  const cases: Array<[string, number[], Array<number | undefined>]> = [
    ['the first scrape has none', [0], [undefined]],
    ['a scrape old enough becomes the baseline', [0, 3000], [undefined, 0]],
    ['too soon after the first: none yet', [0, 1000], [undefined, undefined]],
    ['two tabs polling together measure over the same window', [0, 3000, 3100], [undefined, 0, 0]],
    ['the baseline moves forward', [0, 3000, 6000, 6500], [undefined, 0, 3000, 3000]],
  ];
  it.each(cases)('%s', (_name, times, expected) => {
    const baseline = new SnapshotBaseline(2000);
    expect(times.map((time) => baseline.next(at(time))?.atMs)).toEqual(expected);
  });
});
