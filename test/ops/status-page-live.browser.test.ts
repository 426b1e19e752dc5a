import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumTool, collectErrors, openBrowser, type BrowserSession } from '../support/browser.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { CLI, spawnServe, type Spawned } from '../support/cli.js';
import { flood, type FloodReport } from '../support/flood.js';
import { DIGEST_A, DIGEST_B, get } from '../support/harness.js';
import { parseMetrics, parisConfig, scratch, value, type MetricSample } from '../support/serve.js';
import { runsWith } from '../support/tools.js';

// The status page of the built binary (`registry-edge serve`, one process, ephemeral ports) in
// Debian's headless Chromium, while real traffic runs: a bucket that has one blob, a second that
// answers every HEAD with 503 (its breaker opens), a local origin, clients in AWS eu-west-3 and
// elsewhere, one client over its rate limit. What the page shows is compared with the server's
// own /metrics, and the route explorer with `registry-edge explain` on the same config. Leaves
// test-results/status-page-live.png and test-results/status-page-live.json (the load time).
// The stub test beside this one drives the page's clock, visibility and token prompt.

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const RESULTS = join(ROOT, 'test-results');
const KEY = '/containers/images/';
const TRAFFIC = 3000;
/** Served and rendered: issue 16's bound on the CI machine. */
const RENDER_BUDGET_MS = 1000;

/** A registry stand-in that answers anything, so a followed redirect lands somewhere local. */
async function startOrigin(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Request `i` of the mix: a pull's manifest and blobs from many addresses, a 404, and one client hammering. */
function mixed(i: number): { path: string; headers: Record<string, string> } {
  const spread = `${(i >> 8) & 255}.${i & 255}`;
  switch (i % 8) {
    case 0:
      return { path: '/v2/app/manifests/1.0', headers: { 'X-Forwarded-For': `15.188.${spread}` } };
    case 1:
    case 2:
      return { path: `/v2/app/blobs/${DIGEST_A}`, headers: { 'X-Forwarded-For': `15.188.${spread}` } };
    case 3:
      return { path: `/v2/app/blobs/${DIGEST_B}`, headers: { 'X-Forwarded-For': `198.51.${spread}` } };
    case 4:
      return { path: `/v2/app/blobs/${DIGEST_A}`, headers: { 'X-Forwarded-For': `192.0.2.${i & 255}` } };
    case 5:
      return { path: '/v2/_catalog', headers: { 'X-Forwarded-For': `198.51.${spread}` } };
    default:
      return { path: '/v2/', headers: { 'X-Forwarded-For': '203.0.113.9' } };
  }
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.runIf(runsWith(chromiumTool))('status page of a live server under traffic, in headless Chromium (the built binary; run "npm run build" first)', () => {
  const dir = scratch('registry-edge-status-live-');
  let paris: BucketServer;
  let flaky: BucketServer;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let edge: Spawned;
  let config: string;
  let base: string;
  let admin: string;
  let browser: BrowserSession;
  const errors: string[] = [];
  const loadsMs: number[] = [];
  let traffic: FloodReport;

  beforeAll(async () => {
    paris = await startBucket([`${KEY}${DIGEST_A}`]);
    flaky = await startBucket([], (_req, res) => {
      res.writeHead(503, { 'Content-Length': '0' });
      res.end();
      return true;
    });
    origin = await startOrigin();
    config = await parisConfig(dir, paris.url, {
      origin: { url: origin.url },
      buckets: [
        { name: 'paris', url: paris.url, provider: 'aws', regions: ['eu-west-3'] },
        { name: 'flaky', url: flaky.url, networks: ['192.0.2.0/24'] },
      ],
      blobs: { candidates: 1, check: { timeout_ms: 1000, failure_threshold: 2, cooldown_ms: 600_000 } },
      limits: { per_ip_rps: 5, burst: 10 },
      log: { level: 'error' },
    });
    edge = await spawnServe(['--config', config]);
    const listening = edge.lines.find((line) => line.msg === 'listening') as Record<string, unknown>;
    admin = `http://127.0.0.1:${listening.admin_port as number}`;
    base = `http://127.0.0.1:${edge.port}`;
    browser = await openBrowser();
    collectErrors(browser.page, errors);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (edge?.child.exitCode === null) await edge.stop();
    await Promise.all([paris?.close(), flaky?.close(), origin?.close()]);
    dir.cleanup();
  });

  const text = (selector: string) => browser.page.locator(selector).innerText();
  const metrics = async (): Promise<MetricSample[]> => parseMetrics((await get(admin, '/metrics')).body);

  it(`is served and rendered in under ${RENDER_BUDGET_MS} ms while ${TRAFFIC} requests run`, async () => {
    const running = flood(base, { amount: TRAFFIC, connections: 8, next: mixed });
    // Three loads during the traffic: the first includes the renderer's own start-up.
    for (let load = 0; load < 3; load++) {
      const started = performance.now();
      await browser.page.goto(`${admin}/?refresh=1`);
      await browser.page.waitForSelector('body[data-rendered]');
      loadsMs.push(Math.round(performance.now() - started));
    }
    traffic = await running;
    console.log(`status page served and rendered in ${loadsMs.join(', ')} ms (under ${TRAFFIC} requests of traffic)`);
    await mkdir(RESULTS, { recursive: true });
    await writeFile(join(RESULTS, 'status-page-live.json'), `${JSON.stringify({ loads_ms: loadsMs, budget_ms: RENDER_BUDGET_MS, traffic: TRAFFIC }, null, 2)}\n`);
    expect(traffic.errors).toBe(0);
    expect(traffic.statuses.get(307)).toBeGreaterThan(TRAFFIC / 2);
    expect(Math.min(...loadsMs)).toBeLessThan(RENDER_BUDGET_MS);
    expect(errors).toEqual([]);
  }, 60_000);

  it('shows the numbers /metrics has once the traffic is over: requests, buckets and breaker transitions, fallbacks, caches', async () => {
    const samples = await metrics();
    // The page polls every second: wait for a snapshot taken after the traffic ended. A poll in
    // flight now may have fetched before the end, so wait past two renders, not one.
    for (let render = 0; render < 2; render++) {
      const generated = await browser.page.getAttribute('body', 'data-rendered');
      await expect.poll(async () => (await browser.page.getAttribute('body', 'data-rendered')) !== generated, { timeout: 10_000 }).toBe(true);
    }

    const requests = await text('#request-table');
    const routes: Array<[string, string]> = [['blob', '307'], ['manifest', '307'], ['rate_limited', '429'], ['catalog', '404'], ['ping', '200']];
    for (const [kind, status] of routes) {
      const total = value(samples, 'registry_edge_requests_total', { kind, status });
      expect(total, `${kind} ${status} in /metrics`).toBeGreaterThan(0);
      expect(requests).toMatch(new RegExp(`${kind}\\s+${status}\\s+\\S+\\s+${escape(count(total))}`));
    }
    const all = samples.filter((s) => s.name === 'registry_edge_requests_total').reduce((sum, s) => sum + s.value, 0);
    expect(all).toBe(TRAFFIC);

    const buckets = await text('#bucket-table');
    const transitions = (bucket: string) => value(samples, 'registry_edge_bucket_state_transitions_total', { bucket });
    expect(transitions('flaky')).toBe(1);
    expect(transitions('paris')).toBe(0);
    expect(buckets).toMatch(/flaky\s+open\s+1\s+status_5xx/);
    expect(buckets).toMatch(/paris\s+closed\s+0\s+[^\n]*present/);
    expect(buckets).toMatch(/paris\s+closed\s+0\s+[^\n]*absent/);

    const reasons = await text('#fallback-reasons');
    for (const reason of ['absent', 'check_failed', 'bucket_unhealthy']) {
      const total = value(samples, 'registry_edge_origin_fallbacks_total', { reason });
      expect(total, reason).toBeGreaterThan(0);
      expect(reasons).toMatch(new RegExp(`${reason}\\s+\\S+\\s+${escape(count(total))}`));
    }
    const toOrigin = value(samples, 'registry_edge_blob_redirects_total', { target: 'origin' });
    expect(await text('#fallback-total')).toContain(`(${count(toOrigin)} since start)`);

    const caches = await text('#cache-table');
    for (const cache of ['existence', 'rate_limit', 'recent_clients', 'forwarded_for', 'candidates']) {
      const entries = value(samples, 'registry_edge_cache_entries', { cache });
      const max = value(samples, 'registry_edge_cache_max_entries', { cache });
      expect(caches).toMatch(new RegExp(`${cache}\\s+${escape(`${count(entries)} of ${count(max)}`)}`));
    }
    expect(await text('[data-field="reload-failures"] .value')).toBe('0');
    expect(await text('#version')).toMatch(/^version \d+\.\d+\.\d+/);
    expect(errors).toEqual([]);
  }, 30_000);

  it('the route explorer gives the decision `registry-edge explain` prints for a cloud address, and the screenshot is saved', async () => {
    const ip = '15.188.7.7';
    const path = `/v2/app/blobs/${DIGEST_A}`;
    // Asynchronously: the bucket it asks lives in this process, which must keep answering.
    const printed = await run(process.execPath, [CLI, 'explain', '--config', config, '--ip', ip, '--path', path], { timeout: 15_000 });
    const explained = JSON.parse(printed.stdout) as { status: number; route: string; target: string; location: string; client: Record<string, string>; candidates: Array<{ bucket: string; reason: string }> };
    expect(explained).toMatchObject({ status: 307, route: 'blob', target: 'paris', client: { provider: 'aws', region: 'eu-west-3' } });

    const { page } = browser;
    await page.fill('#explore-ip', ip);
    await page.fill('#explore-path', path);
    await page.click('#explore-form button');
    await page.waitForSelector('[data-field="decision"]');
    expect(await text('[data-field="decision"]')).toBe(`${explained.status} ${explained.route} → ${explained.target} ${explained.location}`);
    const result = await text('#explore-result');
    expect(result).toMatch(new RegExp(`provider\\s+${explained.client.provider}`));
    expect(result).toMatch(new RegExp(`region\\s+${explained.client.region}`));
    for (const candidate of explained.candidates) expect(result).toMatch(new RegExp(`${candidate.bucket}\\s+${escape(candidate.reason)}`));

    // The redirect is real: following it reaches the local bucket, which has the blob.
    expect((await fetch(explained.location, { method: 'HEAD' })).status).toBe(200);
    await page.screenshot({ path: join(RESULTS, 'status-page-live.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 30_000);
});
