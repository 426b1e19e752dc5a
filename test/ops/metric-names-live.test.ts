import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServe, type Spawned } from '../support/cli.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { DIGEST_A, DIGEST_B, get } from '../support/harness.js';
import { dashboardExpressions, docsText, metricNames, readDashboard, readRules, RULES } from '../support/monitoring-artefacts.js';
import { parsePrometheusText } from '../../src/ops/prometheus-text.js';
import { buildStatusSnapshot } from '../../src/ops/status-model.js';
import { parisConfig, post, scratch } from '../support/serve.js';

// Every metric name an operator is told about, in the Grafana dashboard, the alert rules and
// the docs, must be one the running server exports: a renamed metric would otherwise leave an
// empty panel or an alert that can never fire. The built binary runs with --workers 1, so that
// the primary's /metrics carries the worker metrics as well as every worker's own, after real
// traffic from a cloud address and elsewhere.

/**
 * Names used ahead of the code that exports them, each with the issue that adds it. The lead
 * empties this list as those issues land; the test fails for a name listed here once the server
 * exports it, so the list cannot go stale.
 */
const PLANNED: Record<string, string> = {};

/** TLS metrics exist only on a server with `listen.tls`; test/server/tls-serve.test.ts scrapes them there. */
const TLS_ONLY = /^registry_edge_tls_/;

/** Declared by the server but only given samples by an event this test does not cause. */
const DECLARED_ONLY: Record<string, string> = {
  registry_edge_geo_refreshes_total: 'counts background feed refreshes (geo.refresh), which would download the feeds',
  registry_edge_origin_up: 'one sample per origin replica; this server has none (test/server/origin-replicas.test.ts scrapes it with three)',
  registry_edge_origin_probe_duration_seconds: 'observed per replica probe; this server has no replicas (test/server/origin-replicas.test.ts scrapes it)',
};

const KEY = '/containers/images/';
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

interface Exported {
  declared: Set<string>;
  sampled: Set<string>;
}

function exported(text: string): Exported {
  const declared = new Set<string>();
  const sampled = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      declared.add(type[1] as string);
      if (type[2] === 'histogram') for (const suffix of HISTOGRAM_SUFFIXES) declared.add(`${type[1]}${suffix}`);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample !== null) sampled.add(sample[1] as string);
  }
  // A histogram counts as sampled when its series are.
  for (const name of [...sampled]) {
    const suffix = HISTOGRAM_SUFFIXES.find((candidate) => name.endsWith(candidate));
    if (suffix !== undefined) sampled.add(name.slice(0, -suffix.length));
  }
  return { declared, sampled };
}

function usedNames(): Map<string, string[]> {
  const sources: Array<[string, string]> = [
    ['deploy/grafana/registry-edge.json', dashboardExpressions(readDashboard()).map(({ expr }) => expr).join('\n')],
    ['deploy/prometheus/rules.yaml', readRules().flatMap((group) => group.rules.map((rule) => rule.expr)).join('\n')],
    ['deploy/prometheus/rules.yaml (annotations)', readFileSync(RULES, 'utf8')],
    ['docs/operations.md, docs/deploy.md', docsText()],
  ];
  const used = new Map<string, string[]>();
  for (const [where, text] of sources) {
    for (const name of metricNames(text)) used.set(name, [...(used.get(name) ?? []), where]);
  }
  return used;
}

describe('metric names in the dashboard, rules and docs exist on a live server (the built binary; run "npm run build" first)', () => {
  const dir = scratch('registry-edge-metric-names-');
  let bucket: BucketServer;
  let edge: Spawned;
  let admin: string;
  let metrics: Exported;
  let body: string;

  beforeAll(async () => {
    bucket = await startBucket([`${KEY}${DIGEST_A}`]);
    const config = await parisConfig(dir, bucket.url, {
      blobs: { candidates: 1, check: { timeout_ms: 1000 } },
      metrics: { repos: true },
      limits: { per_ip_rps: 1, burst: 2 },
    });
    edge = await spawnServe(['--config', config, '--workers', '1']);
    const listening = edge.lines.find((line) => line.msg === 'listening') as Record<string, unknown>;
    admin = `http://127.0.0.1:${listening.admin_port as number}`;
    const base = `http://127.0.0.1:${edge.port}`;

    // A pull's worth of requests from several clients: ping, manifest by tag, blobs the bucket
    // has and has not, an unknown path, then one client over its rate limit.
    const requests: Array<[string, string]> = [
      ['15.188.1.2', '/v2/'],
      ['15.188.1.3', '/v2/app/manifests/1.0'],
      ['15.188.1.4', `/v2/app/blobs/${DIGEST_A}`],
      ['15.188.1.5', `/v2/app/blobs/${DIGEST_A}`],
      ['192.0.2.7', `/v2/app/blobs/${DIGEST_B}`],
      ['192.0.2.8', '/v2/_catalog'],
      ['198.51.100.1', '/v2/'],
      ['198.51.100.1', '/v2/'],
      ['198.51.100.1', '/v2/'],
    ];
    for (const [client, path] of requests) await get(base, path, { headers: { 'X-Forwarded-For': client } });
    expect((await post(admin, '/reload')).status).toBe(200);
    body = (await get(admin, '/metrics')).body;
    metrics = exported(body);
  });
  afterAll(async () => {
    if (edge?.child.exitCode === null) await edge.stop();
    await bucket?.close();
    dir.cleanup();
  });

  it('the traffic reached the counters this test relies on', () => {
    for (const name of ['registry_edge_requests_total', 'registry_edge_blob_redirects_total', 'registry_edge_existence_checks_total', 'registry_edge_repo_requests_total', 'registry_edge_workers']) {
      expect(metrics.sampled, name).toContain(name);
    }
  });

  it('every name used is exported, with samples, unless it is planned or only declared for a stated reason', () => {
    const used = usedNames();
    expect(used.size).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const [name, where] of used) {
      if (Object.hasOwn(PLANNED, name) || TLS_ONLY.test(name)) continue;
      const present = Object.hasOwn(DECLARED_ONLY, name) ? metrics.declared.has(name) : metrics.sampled.has(name);
      if (!present) missing.push(`${name} (used in ${where.join(', ')})`);
    }
    expect(missing).toEqual([]);
  });

  it('the allow-lists hold only names still used and not yet exported', () => {
    const used = usedNames();
    for (const name of Object.keys(PLANNED)) {
      expect(used.has(name), `${name} is planned but no longer used: drop it from PLANNED`).toBe(true);
      expect(metrics.declared.has(name), `${name} is exported now (${PLANNED[name]}): drop it from PLANNED`).toBe(false);
    }
    for (const name of Object.keys(DECLARED_ONLY)) {
      expect(metrics.declared.has(name), name).toBe(true);
      expect(metrics.sampled.has(name), `${name} has samples now: drop it from DECLARED_ONLY`).toBe(false);
    }
  });

  it('the status snapshot reads the same scrape: the traffic shows in its sections', () => {
    const snapshot = buildStatusSnapshot({ samples: parsePrometheusText(body), atMs: Date.now() });
    expect(snapshot.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(snapshot.buckets).toEqual([expect.objectContaining({ name: 'paris', state: 'closed' })]);
    expect(snapshot.blob_redirects).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ provider: 'aws', region: 'eu-west-3', target: 'paris', total: 2 }),
        expect.objectContaining({ provider: 'none', region: 'none', target: 'origin', total: 1 }),
      ]),
    );
    expect(snapshot.requests.by_route_status).toEqual(expect.arrayContaining([expect.objectContaining({ route: 'rate_limited', status: '429', total: 1 })]));
    expect(snapshot.reloads.success.total).toBe(1);
    expect(snapshot.geo.ranges_loaded).toBe(true);
    expect(snapshot.existence_cache.hit_ratio).toBeGreaterThan(0);
  });
});
